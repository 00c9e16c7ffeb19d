#include "io.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "secret.h"

namespace sotto::cli {
namespace {

thread_local Caller* current_caller = nullptr;

}  // namespace

Caller* CurrentCaller() { return current_caller; }

ScopedCaller::ScopedCaller(Caller* caller) : previous_(current_caller) { current_caller = caller; }

ScopedCaller::~ScopedCaller() { current_caller = previous_; }

std::ostream& Out() { return current_caller ? *current_caller->out : std::cout; }
std::ostream& Err() { return current_caller ? *current_caller->err : std::cerr; }
std::istream& In() { return current_caller ? *current_caller->in : std::cin; }

bool StdinIsTerminal() {
  return current_caller ? current_caller->stdin_is_terminal : isatty(STDIN_FILENO) == 1;
}

bool StdoutIsTerminal() {
  return current_caller ? current_caller->stdout_is_terminal : isatty(STDOUT_FILENO) == 1;
}

absl::TimeZone LocalZone() { return current_caller ? current_caller->zone : absl::LocalTimeZone(); }

std::optional<std::string> CallerEnv(const char* name) {
  if (current_caller == nullptr) {
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  }
  auto it = current_caller->env.find(name);
  if (it == current_caller->env.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> TakeCallerSecret(const char* name) {
  if (current_caller == nullptr) return TakeFromEnvironment(name);
  auto it = current_caller->env.find(name);
  if (it == current_caller->env.end()) return std::nullopt;
  std::string value = std::move(it->second);
  Wipe(it->second);
  current_caller->env.erase(it);
  return value;
}

std::string ResolvePath(const std::string& path) {
  if (current_caller == nullptr || path.empty() || path.front() == '/') return path;
  return current_caller->cwd + "/" + path;
}

bool CallerGone() {
  return current_caller != nullptr && current_caller->caller_gone != nullptr &&
         current_caller->caller_gone(*current_caller);
}

}  // namespace sotto::cli

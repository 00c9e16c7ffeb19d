#include "agent/forward.h"

#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "commands/commands.h"
#include "io.h"
#include "output.h"
#include "secret.h"
#include "terminal.h"

namespace sotto::cli::agent {
namespace {

void WriteOut(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) return;  // our own stdout is gone; the agent finishes anyway
    done += static_cast<size_t>(n);
  }
}

std::string Cwd() {
  char buffer[4096];
  return getcwd(buffer, sizeof buffer) != nullptr ? std::string(buffer) : std::string("/");
}

// What the thin client sends, and what it needs to send again after an
// unlock.
struct Forwarded {
  Pairs request;
  std::string unlock_passphrase;  // passwd's current one, reused to unlock
  ~Forwarded() {
    for (auto& pair : request) Wipe(pair.second);
    Wipe(unlock_passphrase);
  }
};

// The interactive parts, here; then the request. An error status means the
// command failed here (nothing was forwarded).
absl::Status Prepare(const std::string& profile_dir, const Pairs& info, const CLI::App& app,
                     std::vector<std::string> args, Forwarded& f) {
  const CLI::App* command = app.get_subcommands().front();
  const std::string name = command->get_name();
  bool stdin_tty = StdinIsTerminal();
  std::string stdin_bytes;
  if (auto body = ReadBodyBeforeForwarding(*command)) {
    if (!body->ok()) return body->status();
    stdin_bytes = **std::move(body);
    stdin_tty = false;
  }
  if (name == "passwd") {
    absl::StatusOr<std::string> old = Passphrase(/*confirm=*/false);
    if (!old.ok()) return old.status();
    f.unlock_passphrase = *old;
    f.request.emplace_back("env", absl::StrCat("SOTTO_PASSPHRASE=", *old));
    Wipe(*old);
    absl::StatusOr<std::string> fresh = NewPassphrase();
    if (!fresh.ok()) return fresh.status();
    f.request.emplace_back("env", absl::StrCat("SOTTO_NEW_PASSPHRASE=", *fresh));
    Wipe(*fresh);
  }
  if (name == "delete-account" && command->get_option("--confirm")->count() == 0) {
    std::string handle, server;
    for (const auto& [key, value] : info) {
      if (key == "handle") handle = value;
      if (key == "server") server = value;
    }
    absl::StatusOr<std::string> typed = AskForHandle(handle, server, profile_dir);
    if (!typed.ok()) return typed.status();
    args.push_back("--confirm");
    args.push_back(*typed);
  }
  f.request.emplace_back("cwd", Cwd());
  f.request.emplace_back("stdin_tty", stdin_tty ? "1" : "0");
  f.request.emplace_back("stdout_tty", StdoutIsTerminal() ? "1" : "0");
  for (const char* name : {"TZ", "SOTTO_ALLOW_WEAK_PASSPHRASE", "SOTTO_PROFILE", "HOME"}) {
    if (const char* value = std::getenv(name))
      f.request.emplace_back("env", absl::StrCat(name, "=", value));
  }
  for (std::string& arg : args) f.request.emplace_back("arg", std::move(arg));
  f.request.emplace_back("stdin", std::move(stdin_bytes));
  return absl::OkStatus();
}

// Asks for the passphrase here and unlocks the agent's session.
absl::Status Unlock(const std::string& socket_path, const std::string& handle, Forwarded& f) {
  std::string passphrase;
  if (!f.unlock_passphrase.empty()) {
    passphrase = f.unlock_passphrase;
  } else {
    if (std::getenv("SOTTO_PASSPHRASE") == nullptr) {
      Err() << "The sotto agent's session of " << handle << " is locked.\n";
    }
    absl::StatusOr<std::string> asked = Passphrase(/*confirm=*/false);
    if (!asked.ok()) return asked.status();
    passphrase = *std::move(asked);
  }
  WipeOnExit wipe(passphrase);
  absl::StatusOr<Frame> answer = Ask(socket_path, kUnlock, passphrase);
  if (!answer.ok()) return answer.status();
  if (answer->type != kFailed) return absl::OkStatus();
  const absl::Status refused = DecodeStatus(answer->payload);
  return absl::Status(refused.code(),
                      absl::StrCat(refused.message(), "; the sotto agent's session of ", handle,
                                   " stays locked and nothing was run"));
}

// One RUN: output printed as it comes. The exit status, or nullopt when the
// agent answered "locked".
absl::StatusOr<std::optional<int>> RunOnce(const std::string& socket_path, const Pairs& request) {
  absl::StatusOr<int> fd = ConnectToOwnAgent(socket_path);
  if (!fd.ok()) return fd.status();
  const std::string payload = EncodePairs(request);
  absl::Status sent = WriteFrame(*fd, kRun, payload);
  for (;;) {
    absl::StatusOr<Frame> frame = sent.ok() ? ReadFrame(*fd) : absl::StatusOr<Frame>(sent);
    if (!frame.ok()) {
      close(*fd);
      return absl::UnavailableError(
          "the sotto agent hung up before the command finished; it may have run in part "
          "(`sotto read` shows what was sent)");
    }
    switch (frame->type) {
      case kStdout:
        WriteOut(STDOUT_FILENO, frame->payload);
        continue;
      case kStderr:
        WriteOut(STDERR_FILENO, frame->payload);
        continue;
      case kExit: {
        close(*fd);
        int code = kExitError;
        (void)absl::SimpleAtoi(frame->payload, &code);
        return std::optional<int>(code);
      }
      case kLocked:
        close(*fd);
        return std::optional<int>();
      default:
        close(*fd);
        return DecodeStatus(frame->payload);
    }
  }
}

}  // namespace

std::string AbsoluteDir(const std::string& profile_dir) {
  if (!profile_dir.empty() && profile_dir.front() == '/') return profile_dir;
  return absl::StrCat(Cwd(), "/", profile_dir);
}

absl::StatusOr<Frame> Ask(const std::string& socket_path, char type, const std::string& payload) {
  absl::StatusOr<int> fd = ConnectToOwnAgent(socket_path);
  if (!fd.ok()) return fd.status();
  absl::Status sent = WriteFrame(*fd, type, payload);
  absl::StatusOr<Frame> answer = sent.ok() ? ReadFrame(*fd) : absl::StatusOr<Frame>(sent);
  close(*fd);
  return answer;
}

std::optional<int> ForwardToAgent(const std::string& profile_dir, const CLI::App& app,
                                  std::vector<std::string> args) {
  const std::string dir = AbsoluteDir(profile_dir);
  const std::string socket_path = SocketPath(dir);
  absl::StatusOr<Frame> status = Ask(socket_path, kStatus);
  if (absl::IsPermissionDenied(status.status())) return Fail(status.status());
  if (!status.ok() || status->type != kInfo) return std::nullopt;  // no agent: run here
  absl::StatusOr<Pairs> info = DecodePairs(status->payload);
  if (!info.ok()) return Fail(info.status());
  std::string handle;
  for (const auto& [key, value] : *info) {
    if (key == "handle") handle = value;
  }
  Forwarded f;
  if (absl::Status s = Prepare(profile_dir, *info, app, std::move(args), f); !s.ok()) {
    return Fail(s);
  }
  // Locked: unlock and send again; a second "locked" means the session
  // locked again at once (Lock from elsewhere), which is reported.
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<std::optional<int>> code = RunOnce(socket_path, f.request);
    if (!code.ok()) return Fail(code.status());
    if (code->has_value()) return **code;
    if (absl::Status s = Unlock(socket_path, handle, f); !s.ok()) return Fail(s);
  }
  return Fail(absl::FailedPreconditionError(
      "the sotto agent's session locked again right after it was unlocked; try again"));
}

}  // namespace sotto::cli::agent

#ifndef SOTTO_CLI_IO_H_
#define SOTTO_CLI_IO_H_

// Where a `sotto` command reads and writes: the process's own stdin, stdout
// and stderr, or — when the command runs inside the agent (cli/agent/) for
// a thin `sotto` process — the caller's, carried over the agent socket.
// Command code never names std::cout/std::cerr/std::cin, the environment,
// the working directory or the local time zone directly: it asks here, so
// the same code serves the terminal and the agent's many callers at once.
//
// The caller is per thread: a ScopedCaller installs one for the agent's
// connection thread; every other thread sees the process's own streams.

#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace sotto {
class Client;
}

namespace sotto::cli {

// One forwarded command's view of its caller (a thin `sotto` process).
struct Caller {
  std::ostream* out = nullptr;  // the caller's stdout (streamed back)
  std::ostream* err = nullptr;  // the caller's stderr
  std::istream* in = nullptr;   // what the caller forwarded of its stdin
  bool stdin_is_terminal = false;
  bool stdout_is_terminal = false;
  std::string cwd;  // the caller's working directory, absolute
  // The few environment variables the caller forwards (TZ, and for
  // `passwd` its passphrases); secrets are taken out as TakeFromEnvironment
  // does.
  std::map<std::string, std::string> env;
  absl::TimeZone zone = absl::UTCTimeZone();  // the caller's local time zone
  // The agent's open Client: Context::Open returns it instead of opening.
  Client* client = nullptr;
  // What `sotto lock` calls instead of client->Lock() (the desk's own
  // Lock, so its page hears of it); unset: client->Lock().
  std::function<absl::Status()> lock;
  // Set by Context::Open when `client` is locked, so the agent asks the
  // caller to unlock instead of reporting an error.
  bool locked = false;
  // True once the caller hung up (polled by long-running commands).
  bool (*caller_gone)(const Caller&) = nullptr;
  const void* connection = nullptr;  // for caller_gone
};

// The caller of the command running on this thread; null outside the agent.
Caller* CurrentCaller();

// Installs `caller` for this thread until the scope ends.
class ScopedCaller {
 public:
  explicit ScopedCaller(Caller* caller);
  ScopedCaller(const ScopedCaller&) = delete;
  ScopedCaller& operator=(const ScopedCaller&) = delete;
  ~ScopedCaller();

 private:
  Caller* previous_;
};

// The command's stdout, stderr and stdin.
std::ostream& Out();
std::ostream& Err();
std::istream& In();

// Whether the command's stdin / stdout is a terminal (the caller's in the
// agent).
bool StdinIsTerminal();
bool StdoutIsTerminal();

// The caller's local time zone (TZ, else /etc/localtime).
absl::TimeZone LocalZone();

// The environment variable `name` of the caller (nullopt if unset): the
// process's own outside the agent, the forwarded one inside.
std::optional<std::string> CallerEnv(const char* name);
// As secret.h's TakeFromEnvironment, for the caller's environment.
std::optional<std::string> TakeCallerSecret(const char* name);

// `path` made absolute against the caller's working directory (unchanged
// when already absolute, or outside the agent).
std::string ResolvePath(const std::string& path);

// True when the caller of a long-running command hung up (never outside
// the agent).
bool CallerGone();

}  // namespace sotto::cli

#endif  // SOTTO_CLI_IO_H_

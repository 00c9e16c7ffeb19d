#ifndef SOTTO_CLI_SECRET_H_
#define SOTTO_CLI_SECRET_H_

// Passphrases in the `sotto` process: wiped once used, and taken out of the
// environment when they came from there. A passphrase left in freed heap
// memory or in the environment block is in every core file and in
// /proc/PID/environ (readable by the same user for as long as the process
// runs), and the environment is inherited by every child (the $EDITOR of
// `sotto letter`).

#include <optional>
#include <string>

namespace sotto::cli {

// Overwrites every byte `s` holds, up to its capacity (a string that grew or
// shrank keeps old bytes there), in a way the compiler may not drop, and
// leaves it empty.
void Wipe(std::string& s);

// Wipes the string it guards when the scope ends, however it ends.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& s) : s_(s) {}
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;
  ~WipeOnExit() { Wipe(s_); }

 private:
  std::string& s_;
};

// The value of the environment variable `name` (nullopt if unset). The
// environment's own copy is overwritten with zeros and the variable removed,
// so the value is in this process once (the returned string) and no child
// inherits it. Not thread-safe (the environment is not): call it before
// starting threads, as main's commands do.
std::optional<std::string> TakeFromEnvironment(const char* name);

}  // namespace sotto::cli

#endif  // SOTTO_CLI_SECRET_H_

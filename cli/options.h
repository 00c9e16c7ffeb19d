#ifndef SOTTO_CLI_OPTIONS_H_
#define SOTTO_CLI_OPTIONS_H_

// What every `sotto` command shares: the global flags (profile, TLS,
// --verbose, --version), opening the profile, and the WHEN flags. Each
// command file registers its subcommands with a callback that validates its
// own arguments first and only then calls Context::Open, so a missing
// argument is reported before anyone is asked for a passphrase.
//
// Not thread-safe: one Context per run of the command.

#include <functional>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "io.h"
#include "sotto/client.h"

namespace sotto::cli {

// What WHEN accepts (time_parse.h's ParseWhen), for --help.
inline constexpr char kWhenHelp[] =
    "WHEN is local time unless it says otherwise:\n"
    "  +2h, +30m, +1d, +1h30m        from now\n"
    "  09:00                         the next time the clock shows 09:00\n"
    "  \"today 18:00\", \"tomorrow 09:00\"\n"
    "  \"2026-12-01 09:00\", 2026-12-01 (midnight)\n"
    "  2026-12-01T09:00:00Z          RFC 3339, with Z or an offset such as -05:00\n"
    "e.g. sotto send dr-rivera \"see you Thursday\" --at \"tomorrow 09:00\"\n";

// The TLS flags as given (files, not yet read).
struct TlsFlags {
  std::string ca_file;
  bool system_roots = false;
  std::string crl_file;
};

// The PEM text of --ca and --crl (empty when not given).
struct TlsPems {
  std::string ca_pem;
  std::string crl_pem;
};

class Context {
 public:
  // Registers the global flags on `app`, which must outlive the Context.
  explicit Context(CLI::App& app);
  Context(const Context&) = delete;
  ~Context();
  Context& operator=(const Context&) = delete;

  const std::string& profile_dir() const { return profile_dir_; }
  const TlsFlags& tls() const { return tls_; }
  bool verbose() const { return verbose_; }

  // Reads --ca and --crl; INVALID_ARGUMENT or NOT_FOUND naming the flag and
  // file when one cannot be read or holds no PEM block of its kind.
  absl::StatusOr<TlsPems> ReadTls() const;

  // Asks for the passphrase (SOTTO_PASSPHRASE or the terminal) and opens the
  // profile with the TLS flags. Call it once, after the command's own
  // arguments are checked. The Client belongs to the Context. Inside the
  // agent (io.h's CurrentCaller) it returns the agent's open Client instead
  // (--ca/--crl are still read, relative to the caller's directory, but the
  // agent's session keeps the TLS settings it was opened with).
  absl::StatusOr<Client*> Open();
  // How long the Client Open makes stays unlocked without use
  // (OpenOptions::auto_lock_after); `sotto agent --auto-lock`.
  void set_auto_lock_after(absl::Duration after) { auto_lock_after_ = after; }
  // The passphrase Open used (for `passwd`); empty before Open.
  const std::string& passphrase() const { return passphrase_; }

  // The command's work, set by a subcommand's callback while parsing and run
  // by main once parsing succeeded (so a parse error never half-runs one).
  void Then(std::function<absl::Status()> action) { action_ = std::move(action); }
  absl::Status RunAction() { return action_ ? action_() : absl::OkStatus(); }

 private:
  // Open inside the agent (io.h's Caller): the agent's Client, or
  // FAILED_PRECONDITION with caller.locked set when it is locked.
  absl::StatusOr<Client*> OpenInAgent(Caller& caller);

  std::string profile_dir_;
  TlsFlags tls_;
  bool verbose_ = false;
  absl::Duration auto_lock_after_ = OpenOptions().auto_lock_after;
  std::string passphrase_;  // wiped by ~Context
  std::unique_ptr<Client> client_;
  std::function<absl::Status()> action_;
};

// `--at "+2x" is not a time; ...`: the flag first, so the user knows which
// value to fix.
absl::Status ForFlag(absl::string_view flag, const absl::Status& status);

// Adds `--at WHEN` ("Send later") to a sending command, with kWhenHelp in its
// help footer.
void AddSendAtOption(CLI::App* command, std::string* at);

// A WHEN flag that must lie ahead (send later, snooze): INVALID_ARGUMENT
// naming `flag` when `text` is not a time or is not in the future.
absl::StatusOr<absl::Time> FutureWhen(absl::string_view flag, const std::string& text);

// The SendOptions for `--at` (`at` empty: send now).
absl::StatusOr<SendOptions> SendOptionsFor(const std::string& at);

// Adds `--json` to a listing command (shapes in json_output.h, docs/CLI.md).
void AddJsonFlag(CLI::App* command, bool* json);

// PERMISSION_DENIED naming `command` unless `client` is a therapist's.
absl::Status RequireTherapist(const Client& client, absl::string_view command);

}  // namespace sotto::cli

#endif  // SOTTO_CLI_OPTIONS_H_

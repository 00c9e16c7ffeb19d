#include "options.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "io.h"
#include "secret.h"
#include "terminal.h"
#include "time_parse.h"

namespace sotto::cli {
namespace {

// The caller's (io.h): inside the agent, the thin client's SOTTO_PROFILE and
// HOME, so messages name the directory it means.
std::string DefaultProfileDir() {
  if (std::optional<std::string> env = CallerEnv("SOTTO_PROFILE"); env && !env->empty()) {
    return *env;
  }
  if (std::optional<std::string> home = CallerEnv("HOME"); home && !home->empty()) {
    return absl::StrCat(*home, "/.sotto");
  }
  return ".sotto";
}

// The text of the PEM file given to `flag` (empty when not given), which
// must hold a "-----BEGIN <block>-----" block; `what` names it and `hint`
// says what to do instead.
absl::StatusOr<std::string> ReadPemFile(absl::string_view flag, const std::string& path,
                                        absl::string_view block, absl::string_view what,
                                        absl::string_view hint = "") {
  if (path.empty()) return std::string();
  std::ifstream in(ResolvePath(path));  // the caller's cwd in the agent
  if (!in) return absl::NotFoundError(absl::StrCat(flag, " ", path, ": cannot be read"));
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (pem.find(absl::StrCat("-----BEGIN ", block, "-----")) == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": no PEM ", what, " in it", hint.empty() ? "" : " ", hint));
  }
  return pem;
}

}  // namespace

Context::Context(CLI::App& app) : profile_dir_(DefaultProfileDir()) {
  app.add_option("--profile", profile_dir_,
                 "Profile directory (default: $SOTTO_PROFILE or ~/.sotto)")
      ->type_name("DIR");
  app.add_option("--ca", tls_.ca_file,
                 "TLS: trust the server certificate signed by this CA (PEM). With init it is "
                 "stored in the profile; on any other command it overrides the stored one")
      ->type_name("FILE");
  app.add_flag("--system-roots", tls_.system_roots,
               "TLS: trust the system's root certificates (stored by init, like --ca)");
  app.add_option("--crl", tls_.crl_file,
                 "TLS: refuse server certificates this certificate revocation list (PEM, from "
                 "your provider's CA) revokes. Stored in the profile by init and by any other "
                 "command; per CA the newest list is kept")
      ->type_name("FILE");
  app.add_flag("--verbose", verbose_,
               "On an error, also print its technical detail (the call and the transport's "
               "own words), for a bug report");
}

Context::~Context() { Wipe(passphrase_); }

absl::StatusOr<TlsPems> Context::ReadTls() const {
  TlsPems pems;
  absl::StatusOr<std::string> ca = ReadPemFile("--ca", tls_.ca_file, "CERTIFICATE", "certificate");
  if (!ca.ok()) return ca.status();
  pems.ca_pem = *std::move(ca);
  absl::StatusOr<std::string> crl =
      ReadPemFile("--crl", tls_.crl_file, "X509 CRL", "certificate revocation list",
                  "(convert a DER one with `openssl crl -inform DER -in FILE -out FILE.pem`)");
  if (!crl.ok()) return crl.status();
  pems.crl_pem = *std::move(crl);
  return pems;
}

absl::StatusOr<Client*> Context::Open() {
  absl::StatusOr<TlsPems> pems = ReadTls();
  if (!pems.ok()) return pems.status();
  if (Caller* caller = CurrentCaller(); caller != nullptr && caller->client != nullptr) {
    return OpenInAgent(*caller);
  }
  absl::StatusOr<std::string> passphrase = Passphrase(/*confirm=*/false);
  if (!passphrase.ok()) return passphrase.status();
  WipeOnExit wipe_passphrase(*passphrase);
  OpenOptions options;
  options.profile_dir = profile_dir_;
  options.passphrase = *passphrase;
  WipeOnExit wipe_copy(options.passphrase);
  options.tls_ca_pem = std::move(pems->ca_pem);
  options.tls_system_roots = tls_.system_roots;
  options.tls_crl_pem = std::move(pems->crl_pem);
  options.auto_lock_after = auto_lock_after_;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Open(options);
  if (!client.ok()) return client.status();
  passphrase_ = *std::move(passphrase);
  client_ = *std::move(client);
  return client_.get();
}

absl::StatusOr<Client*> Context::OpenInAgent(Caller& caller) {
  Client* client = caller.client;
  // IsLocked misses an auto-lock that is due but has not fired yet; the
  // cheapest call that enters the session fires it, so a locked profile is
  // noticed here, before the command has done anything it could not redo
  // after the unlock.
  if (!client->IsLocked()) {
    absl::StatusOr<bool> probe = client->ReadReceipts();
    if (probe.ok() || !absl::StartsWith(probe.status().message(), "locked:")) {
      // `passwd` forwards the passphrase the caller typed; no other
      // command needs it.
      if (std::optional<std::string> p = TakeCallerSecret("SOTTO_PASSPHRASE")) {
        passphrase_ = *std::move(p);
      }
      return client;
    }
  }
  caller.locked = true;
  return absl::FailedPreconditionError("locked: the sotto agent's profile is locked");
}

absl::Status ForFlag(absl::string_view flag, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(flag, " ", status.message()));
}

void AddSendAtOption(CLI::App* command, std::string* at) {
  command->add_option("--at", *at, "Send later: the server holds it until WHEN (see below)")
      ->type_name("WHEN");
  command->footer(kWhenHelp);
}

absl::StatusOr<absl::Time> FutureWhen(absl::string_view flag, const std::string& text) {
  const absl::Time now = absl::Now();
  absl::StatusOr<absl::Time> t = ParseWhen(text, now, LocalZone());
  if (!t.ok()) return ForFlag(flag, t.status());
  if (*t <= now) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " \"", text, "\" is in the past (",
                                                   FormatWhen(*t, LocalZone(), now), ")"));
  }
  return t;
}

absl::StatusOr<SendOptions> SendOptionsFor(const std::string& at) {
  SendOptions options;
  if (at.empty()) return options;
  absl::StatusOr<absl::Time> when = FutureWhen("--at", at);
  if (!when.ok()) return when.status();
  options.deliver_at = *when;
  return options;
}

void AddJsonFlag(CLI::App* command, bool* json) {
  command->add_flag("--json", *json,
                    "Print one JSON document instead of text, for scripts (shape: docs/CLI.md)");
}

absl::Status RequireTherapist(const Client& client, absl::string_view command) {
  if (client.role() == Role::kTherapist) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("`sotto ", command, "` is for therapists"));
}

}  // namespace sotto::cli

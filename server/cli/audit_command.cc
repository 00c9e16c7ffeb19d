// sotto-server audit --data-dir DIR [--since T] [--user U] [--verify]
//
// prints the audit trail, one entry a line (audit_log.h FormatAuditEntry),
// oldest first; --since takes YYYY-MM-DD or RFC 3339, --user keeps entries
// whose actor or subject is that handle. --verify checks the whole hash chain
// instead and prints "audit trail intact: N entries, head HASH" (exit 0) or
// "audit trail broken: audit entry N: ..." (exit 1). It reads through the
// running server's operator socket, or with no server the database opened
// read-only.

#include <iostream>
#include <limits>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/cli/commands.h"
#include "server/cli/options.h"
#include "server/domain/audit_log.h"
#include "server/operator/operator_backend.h"

namespace sotto::server::cli {
namespace {

struct AuditOptions {
  std::string data_dir;
  std::string since;
  std::string user;
  bool verify = false;
};

int Verify(OperatorBackend& backend) {
  AuditChainVerifier verifier;
  absl::Status s = backend.ForEachAuditEntry(
      [&](const KeyValue& row) { return verifier.Add(row.key, row.value); });
  if (s.code() == absl::StatusCode::kDataLoss) {
    std::cout << "audit trail broken: " << s.message() << std::endl;
    return 1;
  }
  if (!s.ok()) return Fail("audit", s);
  std::cout << "audit trail intact: " << verifier.entries() << " entries, head "
            << verifier.HeadHex() << std::endl;
  return 0;
}

// True if `e` is at or after `since_ms` and, with a `user`, has that handle
// as its actor (any device of it) or subject.
bool Selected(const AuditEntry& e, int64_t since_ms, const std::string& user) {
  if (e.time_ms < since_ms) return false;
  if (user.empty()) return true;
  const std::string actor_handle = e.event.actor.substr(0, e.event.actor.rfind('.'));
  return actor_handle == user || e.event.subject == user;
}

int Print(OperatorBackend& backend, int64_t since_ms, const std::string& user) {
  absl::Status s = backend.ForEachAuditEntry([&](const KeyValue& row) -> absl::Status {
    absl::StatusOr<AuditEntry> e = DecodeAuditEntry(row.key, row.value);
    if (!e.ok()) return e.status();
    if (Selected(*e, since_ms, user)) std::cout << FormatAuditEntry(*e) << "\n";
    return absl::OkStatus();
  });
  if (!s.ok()) return Fail("audit", s);
  std::cout.flush();
  return 0;
}

int RunAudit(const AuditOptions& o) {
  int64_t since_ms = std::numeric_limits<int64_t>::min();
  if (!o.since.empty()) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, o.since, &t, &err) &&
        !absl::ParseTime("%Y-%m-%d", o.since, absl::UTCTimeZone(), &t, &err)) {
      std::cerr << "sotto-server audit: --since must be YYYY-MM-DD or RFC 3339, got \"" << o.since
                << "\"\n";
      return 2;
    }
    since_ms = absl::ToUnixMillis(t);
  }
  std::unique_ptr<OperatorBackend> backend = OpenOperatorBackend(o.data_dir);
  return o.verify ? Verify(*backend) : Print(*backend, since_ms, o.user);
}

}  // namespace

Subcommand AddAuditCommand(CLI::App& app) {
  auto o = std::make_shared<AuditOptions>();
  CLI::App* cmd =
      app.add_subcommand("audit", "print or verify the audit trail (works while the server runs)");
  AddDataDirOption(cmd, &o->data_dir);
  cmd->add_option("--since", o->since, "only entries at or after YYYY-MM-DD or RFC 3339");
  cmd->add_option("--user", o->user, "only entries whose actor or subject is HANDLE");
  cmd->add_flag("--verify", o->verify,
                "check the hash chain; name the first broken entry (exit 1)");
  return {cmd, [o] { return RunAudit(*o); }};
}

}  // namespace sotto::server::cli

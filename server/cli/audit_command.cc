// sotto-server audit --data-dir DIR [--since T] [--user U]
//                    [--verify [--expect-head SEQ:HEX] | --head] [--audit-key-file F]
//
// prints the audit trail, one entry a line (audit_log.h FormatAuditEntry),
// oldest first; --since takes YYYY-MM-DD or RFC 3339, --user keeps entries
// whose actor or subject is that handle. --verify checks the whole chain's
// MACs with the audit key file instead and prints
// "audit trail intact: N entries, head SEQ:HEX" (exit 0) or
// "audit trail broken: ..." (exit 1); with --expect-head, a head exported
// earlier (the server's "audit head" log line), it must also reach that
// head unchanged, which detects truncation and rollback. --head verifies
// likewise and prints only the head, SEQ:HEX, for anchoring elsewhere.
// Without the key file only legacy (unkeyed) entries can be checked. It
// reads through the running server's operator socket, or with no server the
// database opened read-only.

#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "server/app/key_files.h"
#include "server/cli/commands.h"
#include "server/cli/options.h"
#include "server/domain/audit_log.h"
#include "server/operator/operator_backend.h"

namespace sotto::server::cli {
namespace {

struct AuditOptions {
  std::string data_dir;
  KeyFilePaths keys;
  std::string since;
  std::string user;
  bool verify = false;
  bool head = false;
  std::string expect_head;
};

// --verify and --head. Without a key file, only a chain with no MAC'd
// entry (written before keys) can be checked, and the output says so.
int Verify(OperatorBackend& backend, const AuditOptions& o) {
  std::optional<AuditHead> expected;
  if (!o.expect_head.empty()) {
    absl::StatusOr<AuditHead> parsed = ParseAuditHead(o.expect_head);
    if (!parsed.ok()) return Fail("audit --expect-head", parsed.status());
    expected = *std::move(parsed);
  }
  const std::string key_path = ResolveKeyFilePaths(o.data_dir, o.keys).audit_key;
  absl::StatusOr<SecretKey> key = LoadKeyFile(key_path, /*create=*/false);
  if (!key.ok() && key.status().code() != absl::StatusCode::kNotFound) {
    return Fail("audit", key.status());
  }
  AuditChainVerifier verifier(key.ok() ? &*key : nullptr, std::move(expected));
  absl::Status s = backend.ForEachAuditEntry(
      [&](const KeyValue& row) { return verifier.Add(row.key, row.value); });
  if (s.ok()) s = verifier.Finish();
  if (s.code() == absl::StatusCode::kDataLoss) {
    std::cout << "audit trail broken: " << s.message() << std::endl;
    return 1;
  }
  if (!s.ok()) return Fail("audit", s);
  if (o.head) {
    std::cout << FormatAuditHead(verifier.head()) << std::endl;
    return 0;
  }
  std::cout << "audit trail intact: " << verifier.entries() << " entries, head "
            << FormatAuditHead(verifier.head());
  if (verifier.legacy_entries() > 0) {
    std::cout << " (entries 1-" << verifier.legacy_entries() << " predate the MAC key: "
              << (key.ok() ? "protected by the MACs after them"
                           : "hashes only, no key file at " + key_path + ": forgeable")
              << ")";
  }
  std::cout << std::endl;
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
  return o.verify || o.head ? Verify(*backend, o) : Print(*backend, since_ms, o.user);
}

}  // namespace

Subcommand AddAuditCommand(CLI::App& app) {
  auto o = std::make_shared<AuditOptions>();
  CLI::App* cmd =
      app.add_subcommand("audit", "print or verify the audit trail (works while the server runs)");
  AddDataDirOption(cmd, &o->data_dir);
  cmd->add_option("--audit-key-file", o->keys.audit_key,
                  "the audit chain's MAC key (default DATA_DIR.audit-key)");
  cmd->add_option("--since", o->since, "only entries at or after YYYY-MM-DD or RFC 3339");
  cmd->add_option("--user", o->user, "only entries whose actor or subject is HANDLE");
  CLI::Option* verify = cmd->add_flag("--verify", o->verify,
                                      "check the MAC chain; name the first broken entry (exit 1)");
  cmd->add_option("--expect-head", o->expect_head,
                  "with --verify: a head exported earlier (SEQ:HEX); detects truncation")
      ->needs(verify);
  cmd->add_flag("--head", o->head, "verify, then print only the head SEQ:HEX (to anchor elsewhere)")
      ->excludes(verify);
  return {cmd, [o] { return RunAudit(*o); }};
}

}  // namespace sotto::server::cli

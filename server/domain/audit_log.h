#ifndef SOTTO_SERVER_DOMAIN_AUDIT_LOG_H_
#define SOTTO_SERVER_DOMAIN_AUDIT_LOG_H_

// The security audit trail (HIPAA audit controls): an append-only,
// MAC-chained log in its own column family (Table::kAudit).
//
// Entry n (n = 1, 2, ...) is stored under its 8-byte big-endian seq as
//   canonical(n) || 0x01 || mac(n)
// where canonical(n) = seq (8 bytes BE) || time_ms (8 bytes BE, signed) ||
// then five length-prefixed (4 bytes BE) strings: source, type, actor,
// subject, details; and mac(n) = HMAC-SHA256(key, mac(n-1) || canonical(n)),
// with mac(0) = 32 zero bytes. The key (a SecretKey) lives in a file
// outside the database (server/app/key_files.h), so whoever holds only the
// database cannot make a chain that verifies: changing, inserting or
// removing an entry breaks the chain at that entry (AuditChainVerifier names
// it), even with every later MAC recomputed without the key.
//
// Entries written before the key existed are legacy: canonical(n) ||
// hash(n), hash(n) = SHA-256(hash(n-1) || canonical(n)), which anyone can
// recompute. The first start with a key on such a chain appends
// audit.mac.started, whose MAC covers the legacy head, so the legacy entries
// are protected from then on as well; a legacy entry after a MAC'd one, or a
// chain with no MAC at all verified with a key, is a rewrite.
//
// Removing entries from the end (or rolling the database back) leaves a
// chain that verifies: it is detected only against a head (seq and MAC)
// exported earlier to somewhere the server cannot write. The server prints
// its head on start, periodically and on shutdown, and `sotto-server audit
// --head` prints it on demand. Whoever also holds the key can rewrite
// everything after the last head exported, and nothing before it.
//
// Entries hold no message content, no secrets and no codes: handles, device
// ids, source addresses, event types and a few counts.
//
// Domain code asks for an entry by adding an event to the WriteBatch of the
// change it records (AddAudit, with the CallContext the RPC layer passed
// down, whose source the entry records); the AuditLog store wrapper chains the
// event into the same atomic write. Events without a change (authentication
// failures, rate limiting) use AuditLog::Record.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/call_context.h"
#include "server/domain/clock.h"
#include "server/domain/secret_key.h"
#include "server/domain/types.h"
#include "server/storage/store.h"

namespace sotto::server {

// Event types: stable strings, printed by `sotto-server audit`.
namespace audit {
inline constexpr char kEnrolmentIssued[] = "enrolment.issued";
inline constexpr char kEnrolmentUsed[] = "enrolment.used";
inline constexpr char kRegistered[] = "account.registered";
inline constexpr char kDeviceAdded[] = "device.added";
inline constexpr char kDeviceLinked[] = "device.linked";
inline constexpr char kDeviceRemoved[] = "device.removed";
inline constexpr char kLinkSlotCreated[] = "device.link_slot";
inline constexpr char kKeysUploaded[] = "keys.uploaded";
inline constexpr char kInviteCreated[] = "invite.created";
inline constexpr char kInviteRedeemed[] = "invite.redeemed";
inline constexpr char kLinkMade[] = "link.made";
inline constexpr char kLinkEnded[] = "link.ended";
inline constexpr char kAuthFailed[] = "auth.failed";
inline constexpr char kRateLimited[] = "rate.limited";
inline constexpr char kAccountDeleted[] = "account.deleted";
inline constexpr char kAccountDeactivated[] = "account.deactivated";
inline constexpr char kAccountReactivated[] = "account.reactivated";
// The first entry with a MAC after legacy (unkeyed) ones; details
// "legacy_entries=N".
inline constexpr char kMacStarted[] = "audit.mac.started";
// The actor of operator-socket actions.
inline constexpr char kOperator[] = "operator";
}  // namespace audit

struct AuditEvent {
  std::string type;     // one of audit::k*
  std::string actor;    // "handle.device", audit::kOperator, or "" (anonymous)
  std::string subject;  // the handle the event is about; may be empty
  std::string details;  // "key=value key=value", never secret
};

// What was stored: the event plus what the log added.
struct AuditEntry {
  uint64_t seq = 0;
  int64_t time_ms = 0;
  std::string source;  // the caller's address ("ipv4:1.2.3.4"), or empty
  AuditEvent event;
  std::string hash;    // 32 bytes: the MAC, or a legacy entry's SHA-256
  bool keyed = false;  // false: a legacy entry (no MAC)
};

// Where the chain ends: what the operator anchors in a second system.
struct AuditHead {
  uint64_t seq = 0;
  std::string mac = std::string(32, '\0');  // of entry seq (zeros for none)
};
// "SEQ:HEX", as printed by the server and `sotto-server audit --head`.
std::string FormatAuditHead(const AuditHead& head);
// Parses FormatAuditHead's form. INVALID_ARGUMENT naming what is wrong.
absl::StatusOr<AuditHead> ParseAuditHead(absl::string_view text);

// "handle.device", the actor string of an authenticated caller.
std::string AuditActor(const AuthenticatedDevice& caller);

// The opaque form WriteBatch::AddAuditEvent carries: the call's source and
// the event, as the entry's canonical form has them after its seq and time.
std::string EncodeAuditEvent(const AuditEvent& event, const CallContext& call);
// Asks for `event`, made by `call`, to be logged atomically with `batch`.
void AddAudit(WriteBatch& batch, const AuditEvent& event, const CallContext& call);

// One line: "#SEQ TIME TYPE actor=.. subject=.. source=.. DETAILS".
std::string FormatAuditEntry(const AuditEntry& entry);

// Decodes a stored entry (key and value of Table::kAudit). Errors: DATA_LOSS.
absl::StatusOr<AuditEntry> DecodeAuditEntry(absl::string_view key, absl::string_view value);

// Checks the chain entry by entry. Feed every stored entry in key order,
// then call Finish. Not thread-safe.
class AuditChainVerifier {
 public:
  // With `key` (not owned; must outlive this), MACs are checked; without
  // one, only legacy hashes can be, and a MAC'd entry is an error. With
  // `expected`, an exported head: the chain must reach it and have its MAC.
  explicit AuditChainVerifier(const SecretKey* key = nullptr,
                              std::optional<AuditHead> expected = std::nullopt)
      : key_(key), expected_(std::move(expected)) {}

  // OK if the entry continues the chain; else DATA_LOSS naming the entry
  // ("audit entry 7: ..."), or FAILED_PRECONDITION if it has a MAC and
  // there is no key. After an error, stop feeding.
  absl::Status Add(absl::string_view key, absl::string_view value);
  // After the last entry: DATA_LOSS if the chain stops short of the
  // expected head, or if a key was given and no entry has a MAC (a server
  // with a key writes one on its first start).
  absl::Status Finish() const;

  uint64_t entries() const { return head_.seq; }
  // Entries without a MAC, all before the first MAC'd one.
  uint64_t legacy_entries() const { return legacy_; }
  // The last entry checked (seq 0 and zeros before the first).
  const AuditHead& head() const { return head_; }
  // The head's MAC as hex.
  std::string HeadHex() const;

 private:
  const SecretKey* const key_;
  const std::optional<AuditHead> expected_;
  AuditHead head_;
  uint64_t legacy_ = 0;
  bool seen_mac_ = false;
};

// A Store that keeps the audit chain: every Write carrying audit events gets
// one chained entry per event, in the same atomic write, so an entry exists
// if and only if the change it records was made. Writes with audit events
// are serialised (so the chain follows commit order); others pass through.
// Several servers may share one database (issue 17), each with an AuditLog
// and the same key: each append expects the next seq to be free and, when
// another server took it, continues the chain after that server's entries,
// so there is one chain. Thread-safe. Does not own `inner` or `clock`.
class AuditLog final : public ForwardingStore {
 public:
  // What Open found, for its KeySource.
  enum class Chain {
    kEmpty,   // no entries
    kLegacy,  // entries, the last without a MAC: the key is about to be
              // introduced (audit.mac.started), so none should exist yet
    kMacd,    // the last entry has a MAC: the key must be the one it was
              // made with, never a new one
  };
  // Where the MAC key comes from: called once by Open.
  using KeySource = std::function<absl::StatusOr<SecretKey>(Chain chain)>;

  // Reads the chain's last entry and gets the key. A legacy chain (entries,
  // none with a MAC) gets audit.mac.started appended at once. Errors: those
  // of the store and of `key_source`; DATA_LOSS if the last entry cannot be
  // decoded; FAILED_PRECONDITION if the last entry's MAC does not verify
  // under the key (the wrong key file, or that entry was altered).
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(Store* inner, Clock* clock,
                                                        const KeySource& key_source);
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Logs `event`, made by `call`, on its own, written with `durability`.
  // Errors: storage failures.
  absl::Status Record(const AuditEvent& event, Durability durability, const CallContext& call = {});

  // Up to `limit` entries with seq > after_seq, ascending, as stored (key,
  // value): for verification and printing.
  absl::StatusOr<std::vector<KeyValue>> ReadRaw(uint64_t after_seq, size_t limit);

  // The chain's current head. Thread-safe.
  AuditHead Head();

  absl::Status Write(const WriteBatch& batch, Durability durability) override;

 private:
  AuditLog(Store* inner, Clock* clock, SecretKey key)
      : ForwardingStore(inner), clock_(clock), key_(std::move(key)) {}

  // One attempt of Write: chains the events after the head held here,
  // expecting the next seq to be free (ABORTED if another node took it).
  absl::Status WriteChained(const WriteBatch& batch, Durability durability)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the head held here to the last stored entry (appended by another
  // node); true if it moved.
  absl::StatusOr<bool> CatchUp() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* const clock_;
  const SecretKey key_;
  absl::Mutex mu_;
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_hash_ ABSL_GUARDED_BY(mu_) = std::string(32, '\0');
};

// The audit table key of `seq`.
std::string AuditKey(uint64_t seq);

// Reads entries from any Store (e.g. a read-only one): up to `limit` with
// seq > after_seq, as stored.
absl::StatusOr<std::vector<KeyValue>> ReadAuditRaw(Store& store, uint64_t after_seq, size_t limit);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_AUDIT_LOG_H_

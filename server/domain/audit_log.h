#ifndef SOTTO_SERVER_DOMAIN_AUDIT_LOG_H_
#define SOTTO_SERVER_DOMAIN_AUDIT_LOG_H_

// The security audit trail (HIPAA audit controls): an append-only,
// hash-chained log in its own column family (Table::kAudit).
//
// Entry n (n = 1, 2, ...) is stored under its 8-byte big-endian seq as
//   canonical(n) || hash(n)
// where canonical(n) = seq (8 bytes BE) || time_ms (8 bytes BE, signed) ||
// then five length-prefixed (4 bytes BE) strings: source, type, actor,
// subject, details; and hash(n) = SHA-256(hash(n-1) || canonical(n)), with
// hash(0) = 32 zero bytes. Changing, inserting or removing an entry breaks
// the chain at that entry (VerifyAuditChain names it); removing entries from
// the end is detected only against a head hash kept elsewhere (verify prints
// it).
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
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/call_context.h"
#include "server/domain/clock.h"
#include "server/domain/types.h"
#include "server/storage/store.h"

namespace sotto::server {

// Event types: stable strings, printed by `sotto-server audit`.
namespace audit {
inline constexpr char kEnrolmentIssued[] = "enrolment.issued";
inline constexpr char kEnrolmentUsed[] = "enrolment.used";
inline constexpr char kRegistered[] = "account.registered";
inline constexpr char kDeviceAdded[] = "device.added";
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
  std::string hash;  // 32 bytes
};

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

// Checks the chain entry by entry. Feed every stored entry in key order.
class AuditChainVerifier {
 public:
  // OK if the entry continues the chain; else DATA_LOSS naming the entry
  // ("audit entry 7: ..."). After an error, stop feeding.
  absl::Status Add(absl::string_view key, absl::string_view value);
  uint64_t entries() const { return last_seq_; }
  // hash of the last entry checked, as hex (all zeros before the first).
  std::string HeadHex() const;

 private:
  uint64_t last_seq_ = 0;
  std::string last_hash_ = std::string(32, '\0');
};

// A Store that keeps the audit chain: every Write carrying audit events gets
// one chained entry per event, in the same atomic write, so an entry exists
// if and only if the change it records was made. Writes with audit events
// are serialised (so the chain follows commit order); others pass through.
// Thread-safe. Does not own `inner` or `clock`.
class AuditLog final : public ForwardingStore {
 public:
  // Reads the chain's last entry. Errors: those of the store; DATA_LOSS if
  // the last entry cannot be decoded.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(Store* inner, Clock* clock);
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Logs `event`, made by `call`, on its own, written with `durability`.
  // Errors: storage failures.
  absl::Status Record(const AuditEvent& event, Durability durability, const CallContext& call = {});

  // Up to `limit` entries with seq > after_seq, ascending, as stored (key,
  // value): for verification and printing.
  absl::StatusOr<std::vector<KeyValue>> ReadRaw(uint64_t after_seq, size_t limit);

  absl::Status Write(const WriteBatch& batch, Durability durability) override;

 private:
  AuditLog(Store* inner, Clock* clock) : ForwardingStore(inner), clock_(clock) {}

  Clock* const clock_;
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

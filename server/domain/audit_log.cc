#include "server/domain/audit_log.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/domain/sha256.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

constexpr size_t kHashBytes = 32;

void AppendString(std::string& out, absl::string_view s) {
  keys::AppendBigEndian32(out, static_cast<uint32_t>(s.size()));
  out.append(s.data(), s.size());
}

uint64_t ReadBigEndian64(absl::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

// Reads one length-prefixed string from the front of `in`.
bool ReadString(absl::string_view& in, std::string& out) {
  if (in.size() < 4) return false;
  uint64_t len = 0;
  for (size_t i = 0; i < 4; ++i) len = (len << 8) | static_cast<uint8_t>(in[i]);
  in.remove_prefix(4);
  if (in.size() < len) return false;
  out.assign(in.data(), len);
  in.remove_prefix(len);
  return true;
}

std::string ChainHash(absl::string_view prev, absl::string_view canonical) {
  // An empty hash never verifies, so a failure here shows up as a break.
  return Sha256({prev, canonical});
}

// Parses canonical || hash. Errors: DATA_LOSS.
absl::StatusOr<AuditEntry> Parse(absl::string_view value, std::string* canonical) {
  auto corrupt = [] { return absl::DataLossError("malformed audit entry"); };
  if (value.size() < 16 + kHashBytes) return corrupt();
  AuditEntry e;
  std::string_view whole(value.data(), value.size() - kHashBytes);
  e.hash = std::string(value.substr(value.size() - kHashBytes));
  absl::string_view in(whole.data(), whole.size());
  e.seq = ReadBigEndian64(in);
  e.time_ms = static_cast<int64_t>(ReadBigEndian64(in.substr(8)));
  in.remove_prefix(16);
  if (!ReadString(in, e.source) || !ReadString(in, e.event.type) ||
      !ReadString(in, e.event.actor) || !ReadString(in, e.event.subject) ||
      !ReadString(in, e.event.details) || !in.empty()) {
    return corrupt();
  }
  if (canonical != nullptr) canonical->assign(whole.data(), whole.size());
  return e;
}

}  // namespace

std::string AuditKey(uint64_t seq) {
  std::string key;
  keys::AppendBigEndian64(key, seq);
  return key;
}

std::string AuditActor(const AuthenticatedDevice& caller) {
  return absl::StrCat(caller.handle, ".", caller.device_id);
}

std::string EncodeAuditEvent(const AuditEvent& event, const CallContext& call) {
  std::string out;
  AppendString(out, call.source);
  AppendString(out, event.type);
  AppendString(out, event.actor);
  AppendString(out, event.subject);
  AppendString(out, event.details);
  return out;
}

void AddAudit(WriteBatch& batch, const AuditEvent& event, const CallContext& call) {
  batch.AddAuditEvent(EncodeAuditEvent(event, call));
}

std::string FormatAuditEntry(const AuditEntry& e) {
  std::string line =
      absl::StrCat("#", e.seq, " ",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(e.time_ms),
                                    absl::UTCTimeZone()),
                   " ", e.event.type, " actor=", e.event.actor.empty() ? "-" : e.event.actor);
  if (!e.event.subject.empty()) absl::StrAppend(&line, " subject=", e.event.subject);
  if (!e.source.empty()) absl::StrAppend(&line, " source=", e.source);
  if (!e.event.details.empty()) absl::StrAppend(&line, " ", e.event.details);
  // Fields come from handles and addresses, but never let a stored byte
  // control the operator's terminal.
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return line;
}

absl::StatusOr<AuditEntry> DecodeAuditEntry(absl::string_view key, absl::string_view value) {
  SOTTO_ASSIGN_OR_RETURN(AuditEntry e, Parse(value, nullptr));
  if (key.size() != 8 || ReadBigEndian64(key) != e.seq) {
    return absl::DataLossError("audit entry key does not match its seq");
  }
  return e;
}

absl::Status AuditChainVerifier::Add(absl::string_view key, absl::string_view value) {
  const uint64_t expected = last_seq_ + 1;
  uint64_t key_seq = key.size() == 8 ? ReadBigEndian64(key) : 0;
  if (key_seq != expected) {
    return absl::DataLossError(
        key_seq > expected
            ? absl::StrCat("audit entry ", expected, ": missing (the next entry is ", key_seq, ")")
            : absl::StrCat("audit entry ", expected, ": malformed key"));
  }
  std::string canonical;
  absl::StatusOr<AuditEntry> e = Parse(value, &canonical);
  if (!e.ok()) return absl::DataLossError(absl::StrCat("audit entry ", expected, ": malformed"));
  if (e->seq != key_seq) {
    return absl::DataLossError(absl::StrCat("audit entry ", expected, ": records seq ", e->seq));
  }
  if (ChainHash(last_hash_, canonical) != e->hash) {
    return absl::DataLossError(absl::StrCat(
        "audit entry ", expected,
        ": hash does not match its contents and the previous entry (altered, or an entry "
        "before it was replaced)"));
  }
  last_seq_ = key_seq;
  last_hash_ = e->hash;
  return absl::OkStatus();
}

std::string AuditChainVerifier::HeadHex() const { return absl::BytesToHexString(last_hash_); }

absl::StatusOr<std::vector<KeyValue>> ReadAuditRaw(Store& store, uint64_t after_seq, size_t limit) {
  return store.Scan(Table::kAudit, "", after_seq == 0 ? "" : AuditKey(after_seq), limit);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(Store* inner, Clock* clock) {
  std::unique_ptr<AuditLog> log(new AuditLog(inner, clock));
  // The chain's head is its last entry; Store has no reverse scan, so walk
  // forward once at start-up (entries are small; this reads the table once).
  std::string after;
  uint64_t last_seq = 0;
  std::string last_hash(kHashBytes, '\0');
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows, inner->Scan(Table::kAudit, "", after, 4096));
    if (rows.empty()) break;
    const KeyValue& tail = rows.back();
    SOTTO_ASSIGN_OR_RETURN(AuditEntry e, DecodeAuditEntry(tail.key, tail.value));
    last_seq = e.seq;
    last_hash = e.hash;
    after = tail.key;
  }
  absl::MutexLock lock(&log->mu_);
  log->last_seq_ = last_seq;
  log->last_hash_ = last_hash;
  return log;
}

absl::Status AuditLog::Write(const WriteBatch& batch, Durability durability) {
  if (batch.audit_events().empty()) return inner()->Write(batch, durability);
  absl::MutexLock lock(&mu_);
  WriteBatch out;
  for (const WriteBatch::Op& op : batch.ops()) {
    if (op.value) {
      out.Put(op.table, op.key, *op.value);
    } else {
      out.Delete(op.table, op.key);
    }
  }
  const int64_t now = clock_->NowMillis();
  uint64_t seq = last_seq_;
  std::string hash = last_hash_;
  for (const std::string& event : batch.audit_events()) {
    ++seq;
    std::string canonical;
    keys::AppendBigEndian64(canonical, seq);
    keys::AppendBigEndian64(canonical, static_cast<uint64_t>(now));
    canonical += event;  // source, type, actor, subject, details
    hash = ChainHash(hash, canonical);
    out.Put(Table::kAudit, AuditKey(seq), canonical + hash);
  }
  SOTTO_RETURN_IF_ERROR(inner()->Write(out, durability));
  last_seq_ = seq;
  last_hash_ = std::move(hash);
  return absl::OkStatus();
}

absl::Status AuditLog::Record(const AuditEvent& event, Durability durability,
                              const CallContext& call) {
  WriteBatch batch;
  AddAudit(batch, event, call);
  return Write(batch, durability);
}

absl::StatusOr<std::vector<KeyValue>> AuditLog::ReadRaw(uint64_t after_seq, size_t limit) {
  return ReadAuditRaw(*inner(), after_seq, limit);
}

}  // namespace sotto::server

#include "server/domain/audit_log.h"

#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
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

constexpr char kMacMarker = '\x01';

// A legacy entry's hash. An empty hash never verifies, so a failure here
// shows up as a break.
std::string LegacyHash(absl::string_view prev, absl::string_view canonical) {
  return Sha256({prev, canonical});
}

// Parses the five strings after seq and time; true if they end exactly at
// the end of `canonical`.
bool ParseCanonical(absl::string_view canonical, AuditEntry& e) {
  if (canonical.size() < 16) return false;
  e.seq = ReadBigEndian64(canonical);
  e.time_ms = static_cast<int64_t>(ReadBigEndian64(canonical.substr(8)));
  absl::string_view in = canonical.substr(16);
  return ReadString(in, e.source) && ReadString(in, e.event.type) &&
         ReadString(in, e.event.actor) && ReadString(in, e.event.subject) &&
         ReadString(in, e.event.details) && in.empty();
}

// Parses canonical || 0x01 || mac, or a legacy canonical || hash. The two
// cannot be confused: the strings' lengths fix where canonical ends, so
// only one of the two splits parses. Errors: DATA_LOSS.
absl::StatusOr<AuditEntry> Parse(absl::string_view value, std::string* canonical) {
  AuditEntry e;
  if (value.size() >= 16 + 1 + kHashBytes && value[value.size() - kHashBytes - 1] == kMacMarker) {
    absl::string_view whole = value.substr(0, value.size() - kHashBytes - 1);
    if (ParseCanonical(whole, e)) {
      e.hash = std::string(value.substr(value.size() - kHashBytes));
      e.keyed = true;
      if (canonical != nullptr) canonical->assign(whole.data(), whole.size());
      return e;
    }
    e = AuditEntry();
  }
  if (value.size() >= 16 + kHashBytes) {
    absl::string_view whole = value.substr(0, value.size() - kHashBytes);
    if (ParseCanonical(whole, e)) {
      e.hash = std::string(value.substr(value.size() - kHashBytes));
      if (canonical != nullptr) canonical->assign(whole.data(), whole.size());
      return e;
    }
  }
  return absl::DataLossError("malformed audit entry");
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

std::string FormatAuditHead(const AuditHead& head) {
  return absl::StrCat(head.seq, ":", absl::BytesToHexString(head.mac));
}

absl::StatusOr<AuditHead> ParseAuditHead(absl::string_view text) {
  const size_t colon = text.find(':');
  AuditHead head;
  absl::string_view hex = colon == absl::string_view::npos ? "" : text.substr(colon + 1);
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(text.substr(0, colon), &head.seq) ||
      hex.size() != 2 * kHashBytes ||
      hex.find_first_not_of("0123456789abcdefABCDEF") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an audit head is SEQ:HEX (64 hex digits), as the server prints it; got \"", text, "\""));
  }
  head.mac = absl::HexStringToBytes(hex);
  return head;
}

absl::Status AuditChainVerifier::Add(absl::string_view key, absl::string_view value) {
  const uint64_t expected = head_.seq + 1;
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
  if (!e->keyed) {
    if (seen_mac_) {
      return absl::DataLossError(absl::StrCat(
          "audit entry ", expected,
          ": has no MAC, but entries before it have one (rewritten by someone without the key)"));
    }
    if (LegacyHash(head_.mac, canonical) != e->hash) {
      return absl::DataLossError(absl::StrCat(
          "audit entry ", expected,
          ": hash does not match its contents and the previous entry (altered, or an entry "
          "before it was replaced)"));
    }
    ++legacy_;
  } else if (key_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit entry ", expected, " has a MAC: verifying it needs the audit key file"));
  } else if (key_->Mac({head_.mac, canonical}) != e->hash) {
    return absl::DataLossError(absl::StrCat(
        "audit entry ", expected,
        ": MAC does not match its contents and the previous entry (altered, an entry before it "
        "replaced, or the key file is not this database's)"));
  } else {
    seen_mac_ = true;
  }
  if (expected_ && key_seq == expected_->seq && e->hash != expected_->mac) {
    return absl::DataLossError(
        absl::StrCat("audit entry ", expected, ": differs from the exported head ",
                     FormatAuditHead(*expected_), " (the chain up to it was rewritten)"));
  }
  head_.seq = key_seq;
  head_.mac = e->hash;
  return absl::OkStatus();
}

absl::Status AuditChainVerifier::Finish() const {
  if (expected_ && head_.seq < expected_->seq) {
    return absl::DataLossError(absl::StrCat(
        "the chain ends at entry ", head_.seq, " but the exported head is entry ", expected_->seq,
        ": entries were removed from the end (or the database was rolled back)"));
  }
  if (key_ != nullptr && head_.seq > 0 && !seen_mac_) {
    return absl::DataLossError(absl::StrCat(
        "none of the ", head_.seq,
        " entries has a MAC, yet a server with a key file MACs every entry it writes and "
        "appends audit.mac.started on its first start: the chain was rewritten without the key, "
        "or the key file is not this database's"));
  }
  return absl::OkStatus();
}

std::string AuditChainVerifier::HeadHex() const { return absl::BytesToHexString(head_.mac); }

absl::StatusOr<std::vector<KeyValue>> ReadAuditRaw(Store& store, uint64_t after_seq, size_t limit) {
  return store.Scan(Table::kAudit, "", after_seq == 0 ? "" : AuditKey(after_seq), limit);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(Store* inner, Clock* clock,
                                                         const KeySource& key_source) {
  // The chain's head is its last entry; Store has no reverse scan, so walk
  // forward once at start-up (entries are small; this reads the table once).
  // The entry before it is kept too, to check the head's MAC.
  std::string after;
  std::optional<KeyValue> prev;
  std::optional<KeyValue> last;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows, inner->Scan(Table::kAudit, "", after, 4096));
    if (rows.empty()) break;
    prev = rows.size() >= 2 ? std::optional<KeyValue>(rows[rows.size() - 2]) : std::move(last);
    last = rows.back();
    after = rows.back().key;
  }
  std::string prev_mac(kHashBytes, '\0');
  if (prev) {
    SOTTO_ASSIGN_OR_RETURN(AuditEntry e, DecodeAuditEntry(prev->key, prev->value));
    prev_mac = e.hash;
  }
  AuditEntry head;
  std::string canonical;
  if (last) {
    SOTTO_ASSIGN_OR_RETURN(head, Parse(last->value, &canonical));
    if (last->key != AuditKey(head.seq)) {
      return absl::DataLossError("audit entry key does not match its seq");
    }
  }
  SOTTO_ASSIGN_OR_RETURN(SecretKey key, key_source(!last        ? Chain::kEmpty
                                                   : head.keyed ? Chain::kMacd
                                                                : Chain::kLegacy));
  if (head.keyed && key.Mac({prev_mac, canonical}) != head.hash) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the audit key file does not match the audit chain (the MAC of its last entry, ", head.seq,
        ", does not verify): restore the key file this database was written with, or, if it is "
        "the right one, the entry was altered (run sotto-server audit --verify)"));
  }
  std::unique_ptr<AuditLog> log(new AuditLog(inner, clock, std::move(key)));
  {
    absl::MutexLock lock(&log->mu_);
    log->last_seq_ = head.seq;
    if (last) log->last_hash_ = head.hash;
  }
  if (last && !head.keyed) {
    // Chains the legacy head under the key: from here on, rewriting any
    // legacy entry breaks this entry's MAC.
    SOTTO_RETURN_IF_ERROR(
        log->Record({audit::kMacStarted, "", "", absl::StrCat("legacy_entries=", head.seq)},
                    Durability::kSynced));
  }
  return log;
}

namespace {
// Appends that lost to another node before the write gives up.
constexpr int kAuditAppendAttempts = 64;
}  // namespace

absl::Status AuditLog::Write(const WriteBatch& batch, Durability durability) {
  if (batch.audit_events().empty()) return inner()->Write(batch, durability);
  absl::MutexLock lock(&mu_);
  // The chain continues from this node's head; another node sharing the
  // database may have appended since. The write expects the next seq to be
  // free, so it is ABORTED then: read the entries that node appended,
  // chain after them, and try again at once. The chain never forks. No
  // backoff: every node appends to this one chain, and a loser that slept
  // would lose again to the winner's next append. Each loss means another
  // node appended, so the bound only stops a pathological run.
  for (int attempt = 1;; ++attempt) {
    absl::Status written = WriteChained(batch, durability);
    if (written.code() != absl::StatusCode::kAborted) return written;
    SOTTO_ASSIGN_OR_RETURN(const bool moved, CatchUp());
    // Not the chain: one of the batch's own expectations failed, which its
    // caller handles.
    if (!moved) return written;
    if (attempt == kAuditAppendAttempts) {
      return absl::UnavailableError(absl::StrCat(
          "the audit log met entries appended by other servers ", attempt,
          " times in a row, so the change was not stored; try again"));
    }
  }
}

absl::Status AuditLog::WriteChained(const WriteBatch& batch, Durability durability) {
  WriteBatch out;
  for (const WriteBatch::Op& op : batch.ops()) {
    if (op.value) {
      out.Put(op.table, op.key, *op.value);
    } else {
      out.Delete(op.table, op.key);
    }
  }
  for (const WriteBatch::Expectation& e : batch.expectations()) {
    out.Expect(e.table, e.key, e.value);
  }
  if (batch.frees_space()) out.MarkFreesSpace();
  const int64_t now = clock_->NowMillis();
  uint64_t seq = last_seq_;
  std::string hash = last_hash_;
  out.Expect(Table::kAudit, AuditKey(seq + 1), std::nullopt);
  for (const std::string& event : batch.audit_events()) {
    ++seq;
    std::string canonical;
    keys::AppendBigEndian64(canonical, seq);
    keys::AppendBigEndian64(canonical, static_cast<uint64_t>(now));
    canonical += event;  // source, type, actor, subject, details
    hash = key_.Mac({hash, canonical});
    // An empty MAC (OpenSSL failed) would make an entry that never
    // verifies: fail the write, and the change with it, instead.
    if (hash.empty()) return absl::InternalError("HMAC-SHA256 failed chaining an audit entry");
    out.Put(Table::kAudit, AuditKey(seq),
            absl::StrCat(canonical, absl::string_view(&kMacMarker, 1), hash));
  }
  SOTTO_RETURN_IF_ERROR(inner()->Write(out, durability));
  last_seq_ = seq;
  last_hash_ = std::move(hash);
  return absl::OkStatus();
}

absl::StatusOr<bool> AuditLog::CatchUp() {
  bool moved = false;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           inner()->Scan(Table::kAudit, "", AuditKey(last_seq_), 4096));
    if (rows.empty()) return moved;
    SOTTO_ASSIGN_OR_RETURN(AuditEntry last, DecodeAuditEntry(rows.back().key, rows.back().value));
    if (last.seq <= last_seq_) return absl::DataLossError("audit entries out of order");
    last_seq_ = last.seq;
    last_hash_ = std::move(last.hash);
    moved = true;
  }
}

absl::Status AuditLog::Record(const AuditEvent& event, Durability durability,
                              const CallContext& call) {
  WriteBatch batch;
  AddAudit(batch, event, call);
  return Write(batch, durability);
}

AuditHead AuditLog::Head() {
  absl::MutexLock lock(&mu_);
  return AuditHead{last_seq_, last_hash_};
}

absl::StatusOr<std::vector<KeyValue>> AuditLog::ReadRaw(uint64_t after_seq, size_t limit) {
  return ReadAuditRaw(*inner(), after_seq, limit);
}

}  // namespace sotto::server

#ifndef SOTTO_SERVER_DOMAIN_RECORDS_H_
#define SOTTO_SERVER_DOMAIN_RECORDS_H_

// Stored value formats shared by the domain services (internal to
// server/domain). Each Decode returns DATA_LOSS naming the record on a
// malformed value.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/domain/record_codec.h"
#include "server/domain/types.h"

namespace sotto::server::records {

inline absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("stored ", what, " record is malformed"));
}

// accounts: the account's role.
struct Account {
  Role role = Role::kUnspecified;
};
inline std::string Encode(const Account& a) {
  return RecordWriter().U32(static_cast<uint32_t>(a.role)).Finish();
}
inline absl::StatusOr<Account> DecodeAccount(absl::string_view v) {
  RecordReader r(v);
  Account a{static_cast<Role>(r.U32())};
  if (!r.ok()) return Corrupt("account");
  return a;
}

// devices: registration id and the secret's salted hash.
struct Device {
  uint32_t registration_id = 0;
  std::string salt;         // 16 random bytes
  std::string secret_hash;  // SHA-256(salt || secret)
};
inline std::string Encode(const Device& d) {
  return RecordWriter().U32(d.registration_id).Bytes(d.salt).Bytes(d.secret_hash).Finish();
}
inline absl::StatusOr<Device> DecodeDevice(absl::string_view v) {
  RecordReader r(v);
  Device d;
  d.registration_id = r.U32();
  d.salt = r.Bytes();
  d.secret_hash = r.Bytes();
  if (!r.ok()) return Corrupt("device");
  return d;
}

// prekeys, kind 0x02: the signed prekey. (The identity key and one-time
// prekeys are stored as the raw 33-byte public key.)
inline std::string Encode(const SignedPreKey& k) {
  return RecordWriter().U32(k.id).Bytes(k.public_key).Bytes(k.signature).Finish();
}
inline absl::StatusOr<SignedPreKey> DecodeSignedPreKey(absl::string_view v) {
  RecordReader r(v);
  SignedPreKey k;
  k.id = r.U32();
  k.public_key = r.Bytes();
  k.signature = r.Bytes();
  if (!r.ok()) return Corrupt("signed prekey");
  return k;
}

// queue_meta: the next sequence number to assign (never reused, so seqs rise
// across restarts and acks) and the number of queued envelopes.
struct QueueMeta {
  uint64_t next_seq = 1;
  uint64_t depth = 0;
};
inline std::string Encode(const QueueMeta& m) {
  return RecordWriter().U64(m.next_seq).U64(m.depth).Finish();
}
inline absl::StatusOr<QueueMeta> DecodeQueueMeta(absl::string_view v) {
  RecordReader r(v);
  QueueMeta m;
  m.next_seq = r.U64();
  m.depth = r.U64();
  if (!r.ok()) return Corrupt("queue meta");
  return m;
}

// queues: one envelope (its seq is in the key).
inline std::string Encode(const StoredEnvelope& e) {
  return RecordWriter()
      .Bytes(e.sender)
      .U32(e.sender_device)
      .U32(static_cast<uint32_t>(e.type))
      .Bytes(e.ciphertext)
      .I64(e.server_time_ms)
      .Bytes(e.message_id)
      .Finish();
}
inline absl::StatusOr<StoredEnvelope> DecodeEnvelope(uint64_t seq,
                                                     absl::string_view v) {
  RecordReader r(v);
  StoredEnvelope e;
  e.seq = seq;
  e.sender = r.Bytes();
  e.sender_device = r.U32();
  e.type = static_cast<int>(r.U32());
  e.ciphertext = r.Bytes();
  e.server_time_ms = r.I64();
  e.message_id = r.Bytes();
  if (!r.ok()) return Corrupt("envelope");
  return e;
}

// idempotency: the first result of a Send.
struct Idempotency {
  int64_t server_time_ms = 0;
  std::string recipient;
};
inline std::string Encode(const Idempotency& i) {
  return RecordWriter().I64(i.server_time_ms).Bytes(i.recipient).Finish();
}
inline absl::StatusOr<Idempotency> DecodeIdempotency(absl::string_view v) {
  RecordReader r(v);
  Idempotency i;
  i.server_time_ms = r.I64();
  i.recipient = r.Bytes();
  if (!r.ok()) return Corrupt("idempotency");
  return i;
}

}  // namespace sotto::server::records

#endif  // SOTTO_SERVER_DOMAIN_RECORDS_H_

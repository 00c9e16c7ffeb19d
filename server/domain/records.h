#ifndef SOTTO_SERVER_DOMAIN_RECORDS_H_
#define SOTTO_SERVER_DOMAIN_RECORDS_H_

// Stored value formats shared by the domain services (internal to
// server/domain). Each Decode returns DATA_LOSS naming the record on a
// malformed value.

#include <cstdint>
#include <string>
#include <vector>

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
  // Set by the operator (issue 4; absent, so false, in older records).
  bool deactivated = false;
  // The highest device id the account ever used (0 in older records: then
  // its highest present device), so a removed device's id is never reused.
  uint32_t highest_device_id = 0;
};
inline std::string Encode(const Account& a) {
  return RecordWriter()
      .U32(static_cast<uint32_t>(a.role))
      .U32(a.deactivated ? 1 : 0)
      .U32(a.highest_device_id)
      .Finish();
}
inline absl::StatusOr<Account> DecodeAccount(absl::string_view v) {
  RecordReader r(v);
  Account a{static_cast<Role>(r.U32())};
  if (!r.AtEnd()) a.deactivated = r.U32() != 0;
  if (!r.AtEnd()) a.highest_device_id = r.U32();
  if (!r.ok()) return Corrupt("account");
  return a;
}

// devices: registration id and the secret's salted hash.
struct Device {
  uint32_t registration_id = 0;
  std::string salt;         // 16 random bytes
  std::string secret_hash;  // SHA-256(salt || secret)
  // Appended for issue 16 (linked devices; absent, so empty and 0, in older
  // records): the name given at linking and when the device joined.
  std::string name;
  int64_t linked_at_ms = 0;
};
inline std::string Encode(const Device& d) {
  return RecordWriter()
      .U32(d.registration_id)
      .Bytes(d.salt)
      .Bytes(d.secret_hash)
      .Bytes(d.name)
      .I64(d.linked_at_ms)
      .Finish();
}
inline absl::StatusOr<Device> DecodeDevice(absl::string_view v) {
  RecordReader r(v);
  Device d;
  d.registration_id = r.U32();
  d.salt = r.Bytes();
  d.secret_hash = r.Bytes();
  if (!r.AtEnd()) {
    d.name = r.Bytes();
    d.linked_at_ms = r.I64();
  }
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
  // Stored bytes of the undelivered envelopes (issue 4; 0 in older records,
  // which then under-count until their queue drains).
  uint64_t bytes = 0;
  // Set (to when) once the device was removed: the row is a tombstone that
  // a Send through another node, which read the device list before the
  // removal, finds instead of an absent row (Mailbox::QueueInto), so that
  // it cannot queue for the removed device. Absent in older records; only
  // tombstones carry it. The sweeper deletes them (Mailbox::SweepRemovedQueues).
  int64_t removed_at_ms = 0;
};
inline std::string Encode(const QueueMeta& m) {
  RecordWriter w;
  w.U64(m.next_seq).U64(m.depth).U64(m.bytes);
  if (m.removed_at_ms != 0) w.I64(m.removed_at_ms);
  return w.Finish();
}
inline absl::StatusOr<QueueMeta> DecodeQueueMeta(absl::string_view v) {
  RecordReader r(v);
  QueueMeta m;
  m.next_seq = r.U64();
  m.depth = r.U64();
  if (!r.AtEnd()) m.bytes = r.U64();
  if (!r.AtEnd()) m.removed_at_ms = r.I64();
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
inline absl::StatusOr<StoredEnvelope> DecodeEnvelope(uint64_t seq, absl::string_view v) {
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

// idempotency: the first result of a Send and a digest of what was sent
// (SendDigest in mailbox.cc), so that a retry can be told from a different
// message under the same id. Version 3 stores the digest instead of the
// recipient (the table must not be a readable who-wrote-to-whom log);
// versions 1 and 2 held the recipient handle in clear (`legacy_recipient`),
// version 1 without deliver_at_ms. Records are deleted by the sweeper
// (Mailbox::SweepIdempotency) once expired.
struct Idempotency {
  int64_t server_time_ms = 0;
  std::string digest;  // SHA-256, 32 bytes; empty in version 1 and 2 records
  int64_t deliver_at_ms = 0;
  std::string legacy_recipient;  // version 1 and 2 records only
};
inline std::string Encode(const Idempotency& i) {
  return RecordWriter(3).I64(i.server_time_ms).Bytes(i.digest).I64(i.deliver_at_ms).Finish();
}
inline absl::StatusOr<Idempotency> DecodeIdempotency(absl::string_view v) {
  RecordReader r(v);
  Idempotency i;
  i.server_time_ms = r.I64();
  if (r.version() >= 3) {
    i.digest = r.Bytes();
    i.deliver_at_ms = r.I64();
  } else {
    i.legacy_recipient = r.Bytes();
    if (r.version() >= 2) i.deliver_at_ms = r.I64();
  }
  if (!r.ok()) return Corrupt("idempotency");
  return i;
}

// enrolments and invites: whose code it is and until when it works. For an
// enrolment, `handle` is the therapist who may register; for an invite, the
// therapist who invites.
struct Code {
  std::string handle;
  int64_t expires_at_ms = 0;
};
inline std::string Encode(const Code& c) {
  return RecordWriter().Bytes(c.handle).I64(c.expires_at_ms).Finish();
}
inline absl::StatusOr<Code> DecodeCode(absl::string_view v) {
  RecordReader r(v);
  Code c;
  c.handle = r.Bytes();
  c.expires_at_ms = r.I64();
  if (!r.ok()) return Corrupt("code");
  return c;
}

// invite_log: what a therapist may see of an invite they made (ListInvites);
// kept after the invite itself is used or expires (kInvites forgets it
// then), until the sweeper drops it 30 days later.
struct InviteLog {
  int64_t created_ms = 0;
  int64_t expires_at_ms = 0;
  std::string used_by;  // empty while unused
  int64_t used_ms = 0;
};
inline std::string Encode(const InviteLog& l) {
  return RecordWriter(1)
      .I64(l.created_ms)
      .I64(l.expires_at_ms)
      .Bytes(l.used_by)
      .I64(l.used_ms)
      .Finish();
}
inline absl::StatusOr<InviteLog> DecodeInviteLog(absl::string_view v) {
  RecordReader r(v);
  InviteLog l;
  l.created_ms = r.I64();
  l.expires_at_ms = r.I64();
  l.used_by = r.Bytes();
  l.used_ms = r.I64();
  if (!r.ok()) return Corrupt("invite log");
  return l;
}

// links and links_by_client: one care link, stored under both key orders.
struct Link {
  uint32_t state = 1;  // 1 active, 2 ended (sotto.v1.LinkState numbers)
  int64_t since_ms = 0;
  int64_t ended_ms = 0;
  std::string ended_by;
};
inline std::string Encode(const Link& l) {
  return RecordWriter().U32(l.state).I64(l.since_ms).I64(l.ended_ms).Bytes(l.ended_by).Finish();
}
inline absl::StatusOr<Link> DecodeLink(absl::string_view v) {
  RecordReader r(v);
  Link l;
  l.state = r.U32();
  l.since_ms = r.I64();
  l.ended_ms = r.I64();
  l.ended_by = r.Bytes();
  if (!r.ok()) return Corrupt("link");
  return l;
}

// conversations: the therapist's queue index entry for one client.
struct Conversation {
  uint32_t state = 0;  // sotto.v1.ConversationState numbers
  int64_t oldest_waiting_ms = 0;
  uint32_t waiting_count = 0;
  int64_t last_reply_ms = 0;
  int64_t snoozed_until_ms = 0;
  std::string claimed_by;
};
inline std::string Encode(const Conversation& c) {
  return RecordWriter()
      .U32(c.state)
      .I64(c.oldest_waiting_ms)
      .U32(c.waiting_count)
      .I64(c.last_reply_ms)
      .I64(c.snoozed_until_ms)
      .Bytes(c.claimed_by)
      .Finish();
}
inline absl::StatusOr<Conversation> DecodeConversation(absl::string_view v) {
  RecordReader r(v);
  Conversation c;
  c.state = r.U32();
  c.oldest_waiting_ms = r.I64();
  c.waiting_count = r.U32();
  c.last_reply_ms = r.I64();
  c.snoozed_until_ms = r.I64();
  c.claimed_by = r.Bytes();
  if (!r.ok()) return Corrupt("conversation");
  return c;
}

// scheduled: a held send-later message, everything needed to queue it at
// release time. Version 2 appends link_since_ms: the since_ms of the care link
// the message was written under (0: none, or a version 1 record), so that a
// link ended and made again before the release is told apart.
struct Scheduled {
  std::string sender;
  uint32_t sender_device = 0;
  std::string recipient;
  std::string message_id;
  uint32_t kind = 0;
  int64_t accepted_ms = 0;
  int64_t deliver_at_ms = 0;
  std::vector<OutgoingEnvelope> envelopes;  // registration ids not kept
  int64_t link_since_ms = 0;
};
inline std::string Encode(const Scheduled& s) {
  RecordWriter w(2);
  w.Bytes(s.sender).U32(s.sender_device).Bytes(s.recipient).Bytes(s.message_id);
  w.U32(s.kind).I64(s.accepted_ms).I64(s.deliver_at_ms);
  w.U32(static_cast<uint32_t>(s.envelopes.size()));
  for (const OutgoingEnvelope& e : s.envelopes) {
    w.U32(e.device_id).U32(static_cast<uint32_t>(e.type)).Bytes(e.ciphertext);
  }
  w.I64(s.link_since_ms);
  return w.Finish();
}
inline absl::StatusOr<Scheduled> DecodeScheduled(absl::string_view v) {
  RecordReader r(v);
  Scheduled s;
  s.sender = r.Bytes();
  s.sender_device = r.U32();
  s.recipient = r.Bytes();
  s.message_id = r.Bytes();
  s.kind = r.U32();
  s.accepted_ms = r.I64();
  s.deliver_at_ms = r.I64();
  uint32_t n = r.U32();
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    OutgoingEnvelope e;
    e.device_id = r.U32();
    e.type = static_cast<int>(r.U32());
    e.ciphertext = r.Bytes();
    s.envelopes.push_back(std::move(e));
  }
  if (r.version() >= 2) s.link_since_ms = r.I64();
  if (!r.ok()) return Corrupt("scheduled message");
  return s;
}

}  // namespace sotto::server::records

#endif  // SOTTO_SERVER_DOMAIN_RECORDS_H_

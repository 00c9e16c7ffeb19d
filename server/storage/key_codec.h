#ifndef SOTTO_SERVER_STORAGE_KEY_CODEC_H_
#define SOTTO_SERVER_STORAGE_KEY_CODEC_H_

// Order-preserving key encodings for every table.
//
// Users are addressed by their handle, not by an internal id: handles are
// immutable, short (<= 32 bytes of [a-z0-9_-]) and never contain 0x00, so
// `handle 0x00` is an unambiguous prefix. (Renaming accounts would need an
// internal id; nothing does that today.) Integers are fixed-width big-endian
// so that byte order equals numeric order: a prefix scan over
// `handle 0x00 device` walks one device's queue oldest first.
//
//   accounts     handle
//   devices      handle 0x00 device(be32)
//   prekeys      handle 0x00 device(be32) 0x01                  identity key
//                handle 0x00 device(be32) 0x02                  signed prekey
//                handle 0x00 device(be32) 0x03 prekey-id(be32)  one-time prekey
//                handle 0x00 device(be32) 0x04                  upload stamp (be64)
//   queues       handle 0x00 device(be32) seq(be64)
//   queue_meta   handle 0x00 device(be32)
//   idempotency  sender 0x00 sender-device(be32) message-id(16 bytes)
//   enrolments   SHA-256(code) (32 bytes)
//   invites      SHA-256(code) (32 bytes)
//   links        therapist 0x00 client
//   links_by_client  client 0x00 therapist
//   conversations    therapist 0x00 client
//   policies     therapist
//   scheduled    deliver-at(be64) sender 0x00 sender-device(be32) message-id
//                (a scan from the start finds the due ones in time order)
//   scheduled_index  sender 0x00 sender-device(be32) message-id
//   notifications    handle
//   invite_log   therapist 0x00 invite id (8 bytes: the start of the code's
//                peppered hash, its kInvites key)
//   link_slots   slot id (16 random bytes)
//   link_tokens  SHA-256(link token)
//   history_transfers  transfer id (16 random bytes)
//   history_chunks     transfer id, end offset(be64)
//   open_by_account    handle 0x00 kind ('L' link slots, 'H' history
//                      transfers, 'C' care-link stamp (be64))
//   limits       'B' len(be32) limiter len(be32) key    a token bucket (rate_limiter.h)
//                'A' len(be32) key time(be64) random(8)  one failed attempt
//                'O' time(be64) random(8)                 one over-budget failure
//                (attempt_limiter.h; written on PostgreSQL only)

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace sotto::server::keys {

void AppendBigEndian32(std::string& out, uint32_t v);
void AppendBigEndian64(std::string& out, uint64_t v);
// Decode exactly 4 / 8 bytes; nullopt on a wrong length.
std::optional<uint32_t> ReadBigEndian32(absl::string_view in);
std::optional<uint64_t> ReadBigEndian64(absl::string_view in);

std::string Account(absl::string_view handle);
// Prefix of every per-device key of `handle` (devices, prekeys, queues).
std::string UserPrefix(absl::string_view handle);
std::string Device(absl::string_view handle, uint32_t device_id);
// The device id of a key built by Device(); nullopt if malformed.
std::optional<uint32_t> DeviceIdOf(absl::string_view device_key);
// The length of the Device(h, d) prefix `key` starts with (every key of
// queues, queue meta and idempotency does); nullopt if it has none.
std::optional<size_t> DevicePrefixSize(absl::string_view key);

std::string IdentityKey(absl::string_view handle, uint32_t device_id);
std::string SignedPreKey(absl::string_view handle, uint32_t device_id);
std::string OneTimePreKeyPrefix(absl::string_view handle, uint32_t device_id);
std::string OneTimePreKey(absl::string_view handle, uint32_t device_id, uint32_t prekey_id);
// The prekey id of a key built by OneTimePreKey(); nullopt if malformed.
std::optional<uint32_t> OneTimePreKeyIdOf(absl::string_view key);

// Queue entries: QueuePrefix(h, d) is the prefix of every Queue(h, d, seq).
std::string QueuePrefix(absl::string_view handle, uint32_t device_id);
std::string Queue(absl::string_view handle, uint32_t device_id, uint64_t seq);
// The sequence number of a key built by Queue(); nullopt if malformed.
std::optional<uint64_t> QueueSeqOf(absl::string_view queue_key);
std::string QueueMeta(absl::string_view handle, uint32_t device_id);

std::string Idempotency(absl::string_view sender, uint32_t sender_device,
                        absl::string_view message_id);

// A pair of handles, `first 0x00 second` (links, conversations).
std::string Pair(absl::string_view first, absl::string_view second);
// The second handle of a key built by Pair(); nullopt if malformed.
std::optional<std::string> SecondOfPair(absl::string_view pair_key);

std::string Scheduled(int64_t deliver_at_ms, absl::string_view sender, uint32_t sender_device,
                      absl::string_view message_id);
// The deliver-at time of a key built by Scheduled(); nullopt if malformed.
std::optional<int64_t> ScheduledTimeOf(absl::string_view scheduled_key);
std::string ScheduledIndex(absl::string_view sender, uint32_t sender_device,
                           absl::string_view message_id);

}  // namespace sotto::server::keys

#endif  // SOTTO_SERVER_STORAGE_KEY_CODEC_H_

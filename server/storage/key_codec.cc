#include "server/storage/key_codec.h"

namespace sotto::server::keys {
namespace {
constexpr char kIdentityKind = 0x01;
constexpr char kSignedPreKeyKind = 0x02;
constexpr char kOneTimePreKeyKind = 0x03;

// handle NUL, with room for `tail` more bytes: a key is allocated once.
std::string UserPrefixWithRoom(absl::string_view handle, size_t tail) {
  std::string key;
  key.reserve(handle.size() + 1 + tail);
  key.append(handle.data(), handle.size());
  key.push_back('\0');
  return key;
}

// handle NUL device_id, with room for `tail` more bytes.
std::string DeviceWithRoom(absl::string_view handle, uint32_t device_id, size_t tail) {
  std::string key = UserPrefixWithRoom(handle, 4 + tail);
  AppendBigEndian32(key, device_id);
  return key;
}

}  // namespace

void AppendBigEndian32(std::string& out, uint32_t v) {
  char bytes[4];
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  out.append(bytes, sizeof(bytes));
}

void AppendBigEndian64(std::string& out, uint64_t v) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((v >> (56 - 8 * i)) & 0xff);
  out.append(bytes, sizeof(bytes));
}

std::optional<uint32_t> ReadBigEndian32(absl::string_view in) {
  if (in.size() != 4) return std::nullopt;
  uint32_t v = 0;
  for (char c : in) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

std::optional<uint64_t> ReadBigEndian64(absl::string_view in) {
  if (in.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (char c : in) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

std::string Account(absl::string_view handle) { return std::string(handle); }

std::string UserPrefix(absl::string_view handle) { return UserPrefixWithRoom(handle, 0); }

std::string Device(absl::string_view handle, uint32_t device_id) {
  return DeviceWithRoom(handle, device_id, 0);
}

std::optional<uint32_t> DeviceIdOf(absl::string_view device_key) {
  size_t nul = device_key.find('\0');
  if (nul == absl::string_view::npos) return std::nullopt;
  return ReadBigEndian32(device_key.substr(nul + 1));
}

std::optional<size_t> DevicePrefixSize(absl::string_view key) {
  size_t nul = key.find('\0');
  if (nul == absl::string_view::npos || key.size() - nul - 1 < 4) return std::nullopt;
  return nul + 1 + 4;
}

std::string IdentityKey(absl::string_view handle, uint32_t device_id) {
  std::string key = DeviceWithRoom(handle, device_id, 1);
  key.push_back(kIdentityKind);
  return key;
}

std::string SignedPreKey(absl::string_view handle, uint32_t device_id) {
  std::string key = DeviceWithRoom(handle, device_id, 1);
  key.push_back(kSignedPreKeyKind);
  return key;
}

std::string OneTimePreKeyPrefix(absl::string_view handle, uint32_t device_id) {
  std::string key = DeviceWithRoom(handle, device_id, 1);
  key.push_back(kOneTimePreKeyKind);
  return key;
}

std::string OneTimePreKey(absl::string_view handle, uint32_t device_id, uint32_t prekey_id) {
  std::string key = DeviceWithRoom(handle, device_id, 1 + 4);
  key.push_back(kOneTimePreKeyKind);
  AppendBigEndian32(key, prekey_id);
  return key;
}

std::optional<uint32_t> OneTimePreKeyIdOf(absl::string_view key) {
  if (key.size() < 4) return std::nullopt;
  return ReadBigEndian32(key.substr(key.size() - 4));
}

std::string QueuePrefix(absl::string_view handle, uint32_t device_id) {
  return Device(handle, device_id);
}

std::string Queue(absl::string_view handle, uint32_t device_id, uint64_t seq) {
  std::string key = DeviceWithRoom(handle, device_id, 8);
  AppendBigEndian64(key, seq);
  return key;
}

std::optional<uint64_t> QueueSeqOf(absl::string_view queue_key) {
  if (queue_key.size() < 8) return std::nullopt;
  return ReadBigEndian64(queue_key.substr(queue_key.size() - 8));
}

std::string QueueMeta(absl::string_view handle, uint32_t device_id) {
  return Device(handle, device_id);
}

std::string Idempotency(absl::string_view sender, uint32_t sender_device,
                        absl::string_view message_id) {
  std::string key = DeviceWithRoom(sender, sender_device, message_id.size());
  key.append(message_id.data(), message_id.size());
  return key;
}

std::string Pair(absl::string_view first, absl::string_view second) {
  std::string key = UserPrefixWithRoom(first, second.size());
  key.append(second.data(), second.size());
  return key;
}

std::optional<std::string> SecondOfPair(absl::string_view pair_key) {
  size_t nul = pair_key.find('\0');
  if (nul == absl::string_view::npos) return std::nullopt;
  return std::string(pair_key.substr(nul + 1));
}

std::string Scheduled(int64_t deliver_at_ms, absl::string_view sender, uint32_t sender_device,
                      absl::string_view message_id) {
  std::string key;
  // Deliver-at times are validated positive, so the unsigned big-endian form
  // sorts by time.
  AppendBigEndian64(key, static_cast<uint64_t>(deliver_at_ms));
  key += Idempotency(sender, sender_device, message_id);
  return key;
}

std::optional<int64_t> ScheduledTimeOf(absl::string_view scheduled_key) {
  if (scheduled_key.size() < 8) return std::nullopt;
  std::optional<uint64_t> t = ReadBigEndian64(scheduled_key.substr(0, 8));
  if (!t) return std::nullopt;
  return static_cast<int64_t>(*t);
}

std::string ScheduledIndex(absl::string_view sender, uint32_t sender_device,
                           absl::string_view message_id) {
  return Idempotency(sender, sender_device, message_id);
}

}  // namespace sotto::server::keys

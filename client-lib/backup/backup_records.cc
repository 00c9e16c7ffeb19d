#include "client-lib/backup/backup_records.h"

#include <sodium.h>

#include "absl/status/status.h"

namespace sotto::client::backup {
namespace {

void PutU32(uint32_t n, std::string& out) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (24 - 8 * i)) & 0xff));
}

uint32_t GetU32(absl::string_view in, size_t at) {
  uint32_t n = 0;
  for (size_t i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(in[at + i]);
  return n;
}

}  // namespace

void AppendRecord(uint8_t kind, absl::string_view key, absl::string_view value, std::string& out) {
  out.push_back(static_cast<char>(kind));
  PutU32(static_cast<uint32_t>(key.size()), out);
  out.append(key.data(), key.size());
  PutU32(static_cast<uint32_t>(value.size()), out);
  out.append(value.data(), value.size());
}

absl::StatusOr<std::optional<Record>> TakeRecord(std::string& buffer) {
  if (buffer.size() < 5) return std::nullopt;
  const uint32_t key_size = GetU32(buffer, 1);
  if (key_size > kMaxRecordPart) {
    return absl::DataLossError("the backup holds a record with an impossible key length");
  }
  if (buffer.size() < 5 + size_t{key_size} + 4) return std::nullopt;
  const uint32_t value_size = GetU32(buffer, 5 + key_size);
  if (value_size > kMaxRecordPart) {
    return absl::DataLossError("the backup holds a record with an impossible value length");
  }
  const size_t total = 9 + size_t{key_size} + value_size;
  if (buffer.size() < total) return std::nullopt;
  Record r;
  r.kind = static_cast<uint8_t>(buffer[0]);
  r.key = buffer.substr(5, key_size);
  r.value = buffer.substr(9 + key_size, value_size);
  sodium_memzero(buffer.data(), total);
  buffer.erase(0, total);
  return std::optional<Record>(std::move(r));
}

}  // namespace sotto::client::backup

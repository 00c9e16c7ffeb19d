#include "server/domain/device_mismatch.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/domain/record_codec.h"

namespace sotto::server {
namespace {

void WriteList(RecordWriter& w, const std::vector<uint32_t>& list) {
  w.U32(static_cast<uint32_t>(list.size()));
  for (uint32_t v : list) w.U32(v);
}

std::vector<uint32_t> ReadList(RecordReader& r) {
  std::vector<uint32_t> list;
  uint32_t n = r.U32();
  for (uint32_t i = 0; i < n && r.ok() && i <= 0xFFFF; ++i) list.push_back(r.U32());
  return list;
}

}  // namespace

absl::Status DeviceMismatchError(const DeviceMismatch& m) {
  absl::Status status = absl::FailedPreconditionError(absl::StrCat(
      "device list does not match the devices of ", m.user, ": missing [",
      absl::StrJoin(m.missing_devices, ","), "], extra [", absl::StrJoin(m.extra_devices, ","),
      "], stale [", absl::StrJoin(m.stale_devices, ","), "]"));
  RecordWriter w;
  w.Bytes(m.user);
  WriteList(w, m.missing_devices);
  WriteList(w, m.extra_devices);
  WriteList(w, m.stale_devices);
  status.SetPayload(kDeviceMismatchPayloadUrl, absl::Cord(std::move(w).Finish()));
  return status;
}

std::optional<DeviceMismatch> GetDeviceMismatch(const absl::Status& status) {
  auto payload = status.GetPayload(kDeviceMismatchPayloadUrl);
  if (!payload) return std::nullopt;
  std::string bytes(*payload);
  RecordReader r(bytes);
  DeviceMismatch m;
  m.user = r.Bytes();
  m.missing_devices = ReadList(r);
  m.extra_devices = ReadList(r);
  m.stale_devices = ReadList(r);
  if (!r.ok()) return std::nullopt;
  return m;
}

}  // namespace sotto::server

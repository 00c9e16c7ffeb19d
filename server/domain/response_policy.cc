#include "server/domain/response_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/domain/record_codec.h"

namespace sotto::server {
namespace {

// Bounds DecodePolicy clamps to before validating (proto/sotto/v1/care.proto).
constexpr int kMaxReplyWindowMinutes = 43200;
constexpr int kMinutesPerDay = 1440;

constexpr uint8_t kEncodingVersion = 1;

}  // namespace

ResponsePolicy DefaultPolicy() {
  ResponsePolicy p;
  p.time_zone = "UTC";
  p.working_days = {1, 2, 3, 4, 5};
  p.day_start_minute = 540;
  p.day_end_minute = 1020;
  p.reply_window_minutes = 480;
  return p;
}

std::string EncodePolicy(const ResponsePolicy& policy) {
  std::string days;
  days.reserve(policy.working_days.size());
  for (int d : policy.working_days) days.push_back(static_cast<char>(d));
  return RecordWriter(kEncodingVersion)
      .Bytes(policy.time_zone)
      .Bytes(days)
      .U32(static_cast<uint32_t>(policy.day_start_minute))
      .U32(static_cast<uint32_t>(policy.day_end_minute))
      .U32(static_cast<uint32_t>(policy.reply_window_minutes))
      .I64(policy.away_from_ms)
      .I64(policy.away_until_ms)
      .Bytes(policy.away_note)
      .Finish();
}

absl::StatusOr<ResponsePolicy> DecodePolicy(absl::string_view bytes) {
  RecordReader r(bytes);
  if (r.ok() && r.version() != kEncodingVersion) {
    return absl::DataLossError(
        absl::StrCat("response policy: unknown encoding version ", r.version()));
  }
  ResponsePolicy p;
  p.time_zone = r.Bytes();
  for (char c : r.Bytes()) p.working_days.push_back(static_cast<unsigned char>(c));
  // Read as unsigned and range-checked by ValidateFields below, so a
  // corrupted value cannot turn into a negative minute count.
  const uint32_t start = r.U32();
  const uint32_t end = r.U32();
  const uint32_t window = r.U32();
  p.day_start_minute = static_cast<int>(std::min<uint32_t>(start, kMinutesPerDay + 1));
  p.day_end_minute = static_cast<int>(std::min<uint32_t>(end, kMinutesPerDay + 1));
  p.reply_window_minutes = static_cast<int>(std::min<uint32_t>(window, kMaxReplyWindowMinutes + 1));
  p.away_from_ms = r.I64();
  p.away_until_ms = r.I64();
  p.away_note = r.Bytes();
  if (!r.ok()) return absl::DataLossError("response policy: truncated record");
  if (absl::Status s = reply_due::ValidatePolicyFields(p); !s.ok()) {
    return absl::DataLossError(absl::StrCat("response policy: ", s.message()));
  }
  // RecordReader does not report leftovers; the encoding is canonical, so a
  // byte-for-byte comparison catches trailing bytes (and anything else odd).
  if (EncodePolicy(p) != bytes) {
    return absl::DataLossError("response policy: trailing or non-canonical bytes");
  }
  return p;
}

}  // namespace sotto::server

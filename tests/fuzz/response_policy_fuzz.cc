// Fuzzes the response policy: DecodePolicy on stored bytes, and ValidatePolicy
// + ReplyDueMs on a policy as a therapist's SetPolicy request fills it in
// (every field fuzzed, the time zone from a short list plus fuzzed names).
//
// Invariants: DecodePolicy accepts only canonical encodings
// (EncodePolicy(DecodePolicy(x)) == x) and refuses with DATA_LOSS; a decoded
// policy passes ValidatePolicy unless only its time zone is unknown; for a
// valid policy and start, ReplyDueMs is OK or INTERNAL (the five-year bound)
// and never earlier than the start.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "server/domain/response_policy.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sotto::server::ResponsePolicy;

constexpr const char* kZones[] = {
    "UTC",         "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu",
    "Pacific/Apia"};

void FuzzDecode(const std::string& bytes) {
  absl::StatusOr<ResponsePolicy> p = sotto::server::DecodePolicy(bytes);
  if (!p.ok()) {
    FUZZ_CHECK(p.status().code() == absl::StatusCode::kDataLoss, "bad policy not DATA_LOSS");
    return;
  }
  FUZZ_CHECK(sotto::server::EncodePolicy(*p) == bytes, "decoded policy not canonical");
  absl::Status valid = sotto::server::ValidatePolicy(*p);
  FUZZ_CHECK(valid.ok() || absl::StartsWith(valid.message(), "time_zone"),
             "decoded policy fails validation on a field other than time_zone");
}

void FuzzValidateAndDue(FuzzedDataProvider& in) {
  ResponsePolicy p;
  p.time_zone = in.ConsumeBool() ? std::string(kZones[in.ConsumeIntegralInRange<size_t>(
                                       0, sizeof(kZones) / sizeof(kZones[0]) - 1)])
                                 : in.ConsumeRandomLengthString(70);
  size_t days = in.ConsumeIntegralInRange<size_t>(0, 9);
  p.working_days.clear();
  for (size_t i = 0; i < days; ++i) p.working_days.push_back(in.ConsumeIntegralInRange(-1, 9));
  p.day_start_minute = in.ConsumeIntegralInRange(-10, 1450);
  p.day_end_minute = in.ConsumeIntegralInRange(-10, 1450);
  p.reply_window_minutes = in.ConsumeIntegralInRange(-1, 43201);
  p.away_from_ms = in.ConsumeIntegral<int64_t>();
  p.away_until_ms = in.ConsumeIntegral<int64_t>();
  p.away_note = in.ConsumeRandomLengthString(520);
  int64_t start = in.ConsumeIntegral<int64_t>();

  absl::Status valid = sotto::server::ValidatePolicy(p);
  if (!valid.ok()) {
    FUZZ_CHECK(valid.code() == absl::StatusCode::kInvalidArgument,
               "bad policy not INVALID_ARGUMENT");
    return;
  }
  // A valid policy is stored and read back.
  absl::StatusOr<ResponsePolicy> back = sotto::server::DecodePolicy(sotto::server::EncodePolicy(p));
  FUZZ_CHECK(back.ok(), "a valid policy does not survive storage");
  absl::StatusOr<int64_t> due = sotto::server::ReplyDueMs(p, start);
  if (due.ok()) {
    FUZZ_CHECK(*due >= start, "reply due before the message arrived");
  } else {
    FUZZ_CHECK(due.status().code() == absl::StatusCode::kInvalidArgument ||
                   due.status().code() == absl::StatusCode::kInternal,
               "ReplyDueMs error of an unexpected code");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] & 1) {
    FuzzDecode(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  } else {
    FuzzedDataProvider in(data + 1, size - 1);
    FuzzValidateAndDue(in);
  }
  return 0;
}

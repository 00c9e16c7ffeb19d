// Fuzzes every decoder of bytes the server reads back from storage or from a
// status payload: the records of server/domain/records.h (RecordReader), the
// key parsers of server/storage/key_codec.h, and the device-mismatch payload
// (GetDeviceMismatch). Stored bytes are "trusted" only as far as the disk is;
// a corrupted or hostile value must come back as DATA_LOSS, never a crash.
//
// The first byte picks the decoder, the rest is the value.
// Invariants:
//   - decode is stable: e1 = Encode(Decode(x)) re-decodes, and
//     Encode(Decode(e1)) == e1;
//   - when x carries the writer's version byte, e1 is a prefix of x (the
//     decoder read exactly the fields the writer writes, in order) or x of
//     e1 (an older record without appended fields); not for accounts, whose
//     optional trailing flag normalises to 0/1;
//   - keys built by key_codec parse back to the parts they were built from;
//   - a device mismatch survives DeviceMismatchError -> GetDeviceMismatch.

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "server/domain/device_mismatch.h"
#include "server/domain/records.h"
#include "server/storage/key_codec.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace records = sotto::server::records;
namespace keys = sotto::server::keys;

// Decode -> encode -> decode -> encode; the two encodings must agree, and
// with the writer's version the first must be a prefix of the input.
template <typename DecodeFn>
void CheckStable(absl::string_view x, int writer_version, DecodeFn decode) {
  auto first = decode(x);
  if (!first.ok()) {
    FUZZ_CHECK(first.status().code() == absl::StatusCode::kDataLoss,
               "malformed record not DATA_LOSS");
    return;
  }
  std::string e1 = records::Encode(*first);
  auto second = decode(e1);
  FUZZ_CHECK(second.ok(), "re-encoded record does not decode");
  FUZZ_CHECK(records::Encode(*second) == e1, "record encoding not stable");
  if (!x.empty() && static_cast<uint8_t>(x[0]) == writer_version) {
    // x may also be an older record, without the fields appended since
    // (RecordReader::AtEnd); they decode to defaults, so e1 extends x.
    FUZZ_CHECK(absl::StartsWith(x, e1) || absl::StartsWith(e1, x),
               "decoder and encoder disagree on the field layout");
  }
}

void FuzzKeys(absl::string_view x) {
  // Parsers on arbitrary bytes: must not crash.
  (void)keys::DeviceIdOf(x);
  (void)keys::OneTimePreKeyIdOf(x);
  (void)keys::QueueSeqOf(x);
  (void)keys::SecondOfPair(x);
  (void)keys::ScheduledTimeOf(x);
  (void)keys::ReadBigEndian32(x);
  (void)keys::ReadBigEndian64(x);

  // Builders and parsers agree. Handles never contain 0x00 (ValidateHandle).
  FuzzedDataProvider in(reinterpret_cast<const uint8_t*>(x.data()), x.size());
  std::string handle = in.ConsumeRandomLengthString(40);
  handle.erase(std::remove(handle.begin(), handle.end(), '\0'), handle.end());
  std::string other = in.ConsumeRandomLengthString(40);
  other.erase(std::remove(other.begin(), other.end(), '\0'), other.end());
  uint32_t device = in.ConsumeIntegral<uint32_t>();
  uint32_t prekey = in.ConsumeIntegral<uint32_t>();
  uint64_t seq = in.ConsumeIntegral<uint64_t>();
  int64_t at = in.ConsumeIntegral<int64_t>();
  std::string message_id = in.ConsumeRemainingBytesAsString();

  FUZZ_CHECK(keys::DeviceIdOf(keys::Device(handle, device)) == device, "DeviceIdOf");
  FUZZ_CHECK(keys::OneTimePreKeyIdOf(keys::OneTimePreKey(handle, device, prekey)) == prekey,
             "OneTimePreKeyIdOf");
  FUZZ_CHECK(keys::QueueSeqOf(keys::Queue(handle, device, seq)) == seq, "QueueSeqOf");
  FUZZ_CHECK(absl::StartsWith(keys::Queue(handle, device, seq), keys::QueuePrefix(handle, device)),
             "Queue key outside its prefix");
  FUZZ_CHECK(absl::StartsWith(keys::Device(handle, device), keys::UserPrefix(handle)),
             "Device key outside its user prefix");
  FUZZ_CHECK(keys::SecondOfPair(keys::Pair(handle, other)) == other, "SecondOfPair");
  FUZZ_CHECK(keys::ScheduledTimeOf(keys::Scheduled(at, handle, device, message_id)) == at,
             "ScheduledTimeOf");
}

void FuzzDeviceMismatch(absl::string_view x) {
  absl::Status status = absl::FailedPreconditionError("mismatch");
  status.SetPayload(sotto::server::kDeviceMismatchPayloadUrl, absl::Cord(x));
  std::optional<sotto::server::DeviceMismatch> m = sotto::server::GetDeviceMismatch(status);
  if (!m.has_value()) return;
  std::optional<sotto::server::DeviceMismatch> again =
      sotto::server::GetDeviceMismatch(sotto::server::DeviceMismatchError(*m));
  FUZZ_CHECK(again.has_value(), "re-attached mismatch does not decode");
  FUZZ_CHECK(again->user == m->user && again->missing_devices == m->missing_devices &&
                 again->extra_devices == m->extra_devices &&
                 again->stale_devices == m->stale_devices,
             "device mismatch does not survive a round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t which = data[0];
  absl::string_view x(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (which % 12) {
    // Account records gained an optional trailing flag without a version
    // bump, and any non-zero flag reads as true: no layout check (-1).
    case 0:
      CheckStable(x, -1, records::DecodeAccount);
      break;
    case 1:
      CheckStable(x, 1, records::DecodeDevice);
      break;
    case 2:
      CheckStable(x, 1, records::DecodeSignedPreKey);
      break;
    case 3:
      CheckStable(x, 1, records::DecodeQueueMeta);
      break;
    case 4:
      CheckStable(x, 1, [](absl::string_view v) { return records::DecodeEnvelope(7, v); });
      break;
    case 5:
      CheckStable(x, 3, records::DecodeIdempotency);
      break;
    case 6:
      CheckStable(x, 1, records::DecodeCode);
      break;
    case 7:
      CheckStable(x, 1, records::DecodeLink);
      break;
    case 8:
      CheckStable(x, 1, records::DecodeConversation);
      break;
    case 9:
      CheckStable(x, 2, records::DecodeScheduled);
      break;
    case 10:
      FuzzKeys(x);
      break;
    case 11:
      FuzzDeviceMismatch(x);
      break;
  }
  return 0;
}

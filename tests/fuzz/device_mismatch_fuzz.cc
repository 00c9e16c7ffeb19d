// Fuzzes the client's reading of the DeviceMismatch a refused Send carries
// (client-lib/transport/device_mismatch.h, ParseDeviceMismatch). The details
// come from the server, which the client does not trust: what it accepts
// decides which sessions are deleted and which bundles are fetched.
//
// The first byte chooses the form: even, the rest is the whole
// google.rpc.Status as the server sends it; odd, the rest is the
// DeviceMismatch alone, packed here into such a Status (so that the fuzzer
// reaches the checks without having to keep the Any's type URL intact).
//
// Invariants:
//   - an accepted mismatch is for the recipient, names at least one device,
//     no device 0, no device twice, at most kMaxMismatchDevices per list;
//     packed again and parsed again, it is accepted unchanged;
//   - a refusal is INTERNAL and its message holds no control character (the
//     server's text is escaped, since an app may print it).

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "client-lib/transport/device_mismatch.h"
#include "google/rpc/status.pb.h"
#include "tests/fuzz/fuzz_check.h"

namespace transport = sotto::client::transport;

namespace {

constexpr char kRecipient[] = "sam-client";

std::string Pack(const sotto::v1::DeviceMismatch& mismatch) {
  google::rpc::Status status;
  status.set_code(9);  // FAILED_PRECONDITION
  status.add_details()->PackFrom(mismatch);
  return status.SerializeAsString();
}

std::string PackBytes(const std::string& bytes) {
  google::rpc::Status status;
  status.set_code(9);
  google::protobuf::Any* any = status.add_details();
  any->set_type_url("type.googleapis.com/sotto.v1.DeviceMismatch");
  any->set_value(bytes);
  return status.SerializeAsString();
}

void CheckAccepted(const sotto::v1::DeviceMismatch& m) {
  FUZZ_CHECK(m.user() == kRecipient, "accepted a mismatch about someone else");
  std::set<uint32_t> seen;
  for (const auto* list : {&m.missing_devices(), &m.extra_devices(), &m.stale_devices()}) {
    FUZZ_CHECK(list->size() <= transport::kMaxMismatchDevices, "accepted an overlong list");
    for (uint32_t device : *list) {
      FUZZ_CHECK(device != 0, "accepted device 0");
      FUZZ_CHECK(seen.insert(device).second, "accepted a device twice");
    }
  }
  FUZZ_CHECK(!seen.empty(), "accepted a mismatch naming no device");
  auto again = transport::ParseDeviceMismatch(Pack(m), kRecipient);
  FUZZ_CHECK(again.ok() && again->has_value(), "an accepted mismatch is refused when sent again");
  FUZZ_CHECK((*again)->SerializeAsString() == m.SerializeAsString(), "mismatch changes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string details = (data[0] & 1) ? PackBytes(rest) : rest;

  auto parsed = transport::ParseDeviceMismatch(details, kRecipient);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInternal, "refusal not INTERNAL");
    for (char c : parsed.status().message()) {
      FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F,
                 "a control character in the refusal's message");
    }
    return 0;
  }
  if (parsed->has_value()) CheckAccepted(**parsed);
  return 0;
}

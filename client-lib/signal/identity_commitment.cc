#include "client-lib/signal/identity_commitment.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace sotto::client::signal {
namespace {
constexpr absl::string_view kDomain = "sotto-invite-key-v1";
}  // namespace

std::string IdentityCommitment(absl::string_view salt, absl::string_view handle,
                               absl::string_view identity_key) {
  // NUL separators: no field (code alphabet, handle alphabet) contains one,
  // so no two inputs hash the same bytes.
  std::string input(kDomain);
  for (absl::string_view field : {salt, handle, identity_key}) {
    input.push_back('\0');
    input.append(field.data(), field.size());
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), kCommitmentBytes);
}

std::string CommitmentRecord(absl::string_view salt, absl::string_view commitment) {
  return std::string(salt) + std::string(commitment);
}

bool MatchesCommitmentRecord(absl::string_view record, absl::string_view handle,
                             absl::string_view identity_key) {
  if (record.size() <= kCommitmentBytes) return false;
  const absl::string_view salt = record.substr(0, record.size() - kCommitmentBytes);
  const absl::string_view expected = record.substr(record.size() - kCommitmentBytes);
  const std::string actual = IdentityCommitment(salt, handle, identity_key);
  // Constant time out of habit: the commitment is not secret, but the check
  // should not be the one place that teaches otherwise.
  return CRYPTO_memcmp(actual.data(), expected.data(), kCommitmentBytes) == 0;
}

}  // namespace sotto::client::signal

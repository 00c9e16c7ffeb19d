#ifndef SOTTO_SERVER_DOMAIN_SHA256_H_
#define SOTTO_SERVER_DOMAIN_SHA256_H_

// SHA-256 for the server's own hashes: device secrets (salted), the digest
// that tells a retried Send from a different one, code hashes and the audit
// chain. The algorithm is fetched from OpenSSL once per process; a plain
// EVP_Digest(..., EVP_sha256(), ...) looks it up again on every call, which
// on a Send (two hashes) cost as much as the hashing itself.

#include <cstddef>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace sotto::server {

inline constexpr size_t kSha256Bytes = 32;

// SHA-256 of the concatenation of `parts` (32 bytes), without building the
// concatenation. Empty if OpenSSL fails, which no stored hash equals.
std::string Sha256(std::initializer_list<absl::string_view> parts);

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_SHA256_H_

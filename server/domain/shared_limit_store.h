#ifndef SOTTO_SERVER_DOMAIN_SHARED_LIMIT_STORE_H_
#define SOTTO_SERVER_DOMAIN_SHARED_LIMIT_STORE_H_

// Where the limits that several nodes share (rate_limiter.h,
// attempt_limiter.h) keep their counts: rows of Table::kLimits in `store`.
// A limit's key is a source address or a handle somebody tried; a row is
// named by HMAC-SHA256 of it under `blind` instead, so the database and its
// backups hold counts, not who tried what from where. Every node has the
// same key (derived from the code pepper, key_files.h), so they count
// together. Neither is owned.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/domain/secret_key.h"
#include "server/storage/store.h"

namespace sotto::server {

struct SharedLimitStore {
  Store* store = nullptr;  // null: every limit stays in memory
  const SecretKey* blind = nullptr;

  // The name of `key` in the rows (32 bytes). INTERNAL if the MAC fails.
  absl::StatusOr<std::string> RowKey(absl::string_view key) const {
    std::string mac = blind == nullptr ? std::string() : blind->Mac({"sotto limit key v1", key});
    if (mac.empty()) return absl::InternalError("cannot name a shared limit's row (HMAC failed)");
    return mac;
  }
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_SHARED_LIMIT_STORE_H_

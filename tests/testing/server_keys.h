#ifndef SOTTO_TESTS_TESTING_SERVER_KEYS_H_
#define SOTTO_TESTS_TESTING_SERVER_KEYS_H_

// Fixed server secrets for tests that build the domain by hand (the real
// server reads them from key files, server/app/key_files.h).

#include <string>

#include "server/domain/audit_log.h"
#include "server/domain/secret_key.h"

namespace sotto::testing {

// The key of 32 bytes `fill`.
inline server::SecretKey TestKey(char fill) {
  return *server::SecretKey::FromBytes(std::string(server::SecretKey::kBytes, fill));
}

// An AuditLog::KeySource that always gives TestKey(fill).
inline server::AuditLog::KeySource TestAuditKey(char fill = 'a') {
  return [fill](server::AuditLog::Chain) -> absl::StatusOr<server::SecretKey> {
    return TestKey(fill);
  };
}

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_SERVER_KEYS_H_

#include "server/domain/codes.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "absl/strings/ascii.h"
#include "server/domain/limits.h"
#include "server/domain/sha256.h"

namespace sotto::server {
namespace {
// 32 symbols: 5 bits each.
constexpr char kAlphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
static_assert(sizeof(kAlphabet) - 1 == 32);
constexpr size_t kGroup = 4;
}  // namespace

absl::StatusOr<std::string> GenerateCode() {
  unsigned char random[kCodeChars];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return absl::UnavailableError("random number generator failed");
  }
  std::string code;
  for (size_t i = 0; i < kCodeChars; ++i) {
    if (i > 0 && i % kGroup == 0) code.push_back('-');
    code.push_back(kAlphabet[random[i] & 31]);  // 256 % 32 == 0: unbiased
  }
  OPENSSL_cleanse(random, sizeof(random));
  return code;
}

std::optional<std::string> NormalizeCode(absl::string_view code) {
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    char u = absl::ascii_toupper(static_cast<unsigned char>(c));
    if (std::string_view(kAlphabet).find(u) == std::string_view::npos) return std::nullopt;
    out.push_back(u);
    if (out.size() > kCodeChars) return std::nullopt;
  }
  if (out.size() != kCodeChars) return std::nullopt;
  return out;
}

std::string HashCode(absl::string_view normalized_code) {
  // Empty on failure: an empty key matches no stored code.
  return Sha256({normalized_code});
}

std::string PepperLegacyCodeKey(const SecretKey& pepper, absl::string_view legacy_key) {
  // The version byte tells migrated rows from legacy ones (32 bytes).
  std::string mac = pepper.Mac({legacy_key});
  if (mac.empty()) return std::string();
  return std::string(1, '\x01') + mac;
}

std::string PepperedCodeKey(const SecretKey& pepper, absl::string_view normalized_code) {
  std::string legacy = HashCode(normalized_code);
  if (legacy.empty()) return std::string();
  return PepperLegacyCodeKey(pepper, legacy);
}

}  // namespace sotto::server

// Invite codes with the therapist's key commitment (sotto/invite.h). The
// alphabet and grouping are the server's (server/domain/codes.cc), so a
// person types one kind of code.

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client-lib/identity/base32.h"
#include "client-lib/signal/identity_commitment.h"
#include "sotto/invite.h"

namespace sotto {
namespace {

constexpr absl::string_view kAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
constexpr size_t kServerCodeChars = 12;
// 80 bits at 5 bits per character.
constexpr size_t kCommitmentChars = client::signal::kCommitmentBytes * 8 / 5;
static_assert(client::signal::kCommitmentBytes * 8 % 5 == 0);
constexpr size_t kGroup = 4;

// Big-endian bit string, 5 bits per character (RFC 4648 base32 bit order,
// our alphabet, no padding: 80 bits fill 16 characters exactly).
std::string Encode(absl::string_view bytes) { return client::Base32Encode(bytes, kAlphabet); }

std::string Decode(absl::string_view chars) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : chars) {
    buffer = (buffer << 5) | static_cast<uint32_t>(kAlphabet.find(c));
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<InviteCode> ParseInviteCode(absl::string_view typed) {
  std::string normalized;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    const char upper = absl::ascii_toupper(static_cast<unsigned char>(c));
    if (kAlphabet.find(upper) == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("the invite code has a character that is not in invite codes: '",
                       std::string(1, c), "' (codes use 2-9 and A-Z without I and O)"));
    }
    normalized.push_back(upper);
  }
  InviteCode out;
  if (normalized.size() == kServerCodeChars) {
    out.server_code = std::move(normalized);
    return out;
  }
  if (normalized.size() != kServerCodeChars + kCommitmentChars) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the invite code has ", normalized.size(), " characters; it should have ",
        kServerCodeChars + kCommitmentChars, " (XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX), or ",
        kServerCodeChars, " for an older code"));
  }
  out.server_code = normalized.substr(0, kServerCodeChars);
  out.key_commitment = Decode(absl::string_view(normalized).substr(kServerCodeChars));
  return out;
}

std::string FormatInviteCode(const InviteCode& code) {
  const std::string chars = code.server_code + Encode(code.key_commitment);
  std::string out;
  for (size_t i = 0; i < chars.size(); ++i) {
    if (i > 0 && i % kGroup == 0) out.push_back('-');
    out.push_back(chars[i]);
  }
  return out;
}

}  // namespace sotto

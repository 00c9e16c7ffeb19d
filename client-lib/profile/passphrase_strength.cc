// CheckPassphraseStrength (sotto/passphrase.h) over Debian's libzxcvbn, the
// C port of Dropbox's estimator: its dictionaries and pattern matchers are
// what we would otherwise have to write and keep current.

#include <zxcvbn.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "openssl/crypto.h"
#include "sotto/passphrase.h"

namespace sotto {
namespace {

// Owns the match list ZxcvbnMatch returns (it is freed only by
// ZxcvbnFreeInfo).
struct ZxcMatchDeleter {
  void operator()(ZxcMatch_t* info) const { ZxcvbnFreeInfo(info); }
};
using ZxcMatchPtr = std::unique_ptr<ZxcMatch_t, ZxcMatchDeleter>;

// Our copy of the passphrase, NUL-terminated for the C API, wiped when done.
class SecretCString {
 public:
  explicit SecretCString(absl::string_view text) : text_(text) {}
  SecretCString(const SecretCString&) = delete;
  SecretCString& operator=(const SecretCString&) = delete;
  ~SecretCString() { OPENSSL_cleanse(text_.data(), text_.size()); }
  const char* c_str() const { return text_.c_str(); }

 private:
  std::string text_;
};

// Characters as a person counts them: UTF-8 code points, i.e. the bytes that
// are not continuation bytes (10xxxxxx).
int CountCharacters(absl::string_view text) {
  int count = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

constexpr char kRepetition[] = "a repetition such as aaaa or abcabc";

// What a person should hear about a part zxcvbn recognised; nullptr for the
// parts that are not a guessable pattern (random characters).
const char* Describe(int type) {
  switch (type) {
    case DICTIONARY_MATCH:
      return "a common word or password";
    case DICT_LEET_MATCH:
      return "a common word with look-alike characters (p@ssw0rd)";
    case USER_MATCH:
    case USER_LEET_MATCH:
      return "your handle or another word about you";
    case REPEATS_MATCH:
      return kRepetition;
    case SEQUENCE_MATCH:
      return "a sequence such as abc or 123";
    case SPATIAL_MATCH:
      return "a keyboard pattern such as qwerty";
    case DATE_MATCH:
      return "a date";
    case YEAR_MATCH:
      return "a year";
    default:
      return nullptr;
  }
}

// The patterns found, each named once, in the order they occur.
std::vector<std::string> Patterns(const ZxcMatch_t* info) {
  std::vector<std::string> found;
  const auto add = [&found](const char* what) {
    if (what != nullptr && std::find(found.begin(), found.end(), what) == found.end()) {
      found.emplace_back(what);
    }
  };
  for (const ZxcMatch_t* m = info; m != nullptr; m = m->Next) {
    // MULTIPLE_MATCH is added to a part's type when the part repeats.
    const int type = static_cast<int>(m->Type);
    add(Describe(type % MULTIPLE_MATCH));
    if (type >= MULTIPLE_MATCH) add(kRepetition);
  }
  return found;
}

}  // namespace

absl::Status CheckPassphraseStrength(absl::string_view passphrase,
                                     absl::Span<const std::string> user_inputs) {
  if (CountCharacters(passphrase) < kMinPassphraseLength) {
    return absl::InvalidArgumentError(absl::StrCat("the passphrase is too short: use at least ",
                                                   kMinPassphraseLength,
                                                   " characters, e.g. several unrelated words"));
  }
  std::vector<const char*> words;
  for (const std::string& input : user_inputs) {
    if (!input.empty()) words.push_back(input.c_str());
  }
  words.push_back(nullptr);
  const SecretCString text(passphrase);
  ZxcMatch_t* raw_info = nullptr;
  const double bits = ZxcvbnMatch(text.c_str(), words.data(), &raw_info);
  const ZxcMatchPtr info(raw_info);
  if (bits >= kMinPassphraseBits) return absl::OkStatus();

  // log10 of the guesses, which reads better than bits to most people.
  const auto decimal = [](double log2_guesses) {
    return static_cast<int>(std::lround(log2_guesses * std::log10(2.0)));
  };
  std::string why = absl::StrJoin(Patterns(info.get()), ", ");
  if (!why.empty()) absl::StrAppend(&why, "; ");
  return absl::InvalidArgumentError(
      absl::StrCat("the passphrase is too easy to guess (", why, "estimated ~10^", decimal(bits),
                   " guesses, 10^", decimal(kMinPassphraseBits),
                   " needed): try a longer phrase of several unrelated words"));
}

}  // namespace sotto

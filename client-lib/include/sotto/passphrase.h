#ifndef SOTTO_CLIENT_LIB_INCLUDE_SOTTO_PASSPHRASE_H_
#define SOTTO_CLIENT_LIB_INCLUDE_SOTTO_PASSPHRASE_H_

/// @file
/// Whether a new passphrase is strong enough to protect a profile at rest.
///
/// The library does not impose this: Client::Register and ChangePassphrase
/// accept any non-empty passphrase, so an app chooses its own policy (the
/// `sotto` command applies this one to `init` and `passwd`).

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "sotto/export.h"

namespace sotto {

/// A passphrase shorter than this many characters (UTF-8 code points) is
/// refused before its strength is estimated: a short string of random symbols
/// can score well yet is the kind people write down; several words score as
/// well and are remembered.
inline constexpr int kMinPassphraseLength = 10;

/// The least strength accepted, as log2 of the guesses zxcvbn estimates an
/// attacker needs (an attacker who tries common passwords, words, names,
/// keyboard patterns, dates and the user's own details first).
///
/// Why 50: whoever copies a profile (a stolen laptop, a backup) can guess
/// offline, and each guess costs one Argon2id derivation at libsodium's
/// INTERACTIVE limits (64 MiB, 2 passes): ~64 ms, so ~16 guesses/s per core,
/// and the 64 MiB per guess keeps GPUs from multiplying that much. 2^50
/// guesses, half of them on average, take a 1,000-core cluster (16,000
/// guesses/s) ~1,100 years and one 8-core laptop ~140,000 years. 40 bits
/// (three common words) would fall to the same cluster in about a year; the
/// ten bits between are the margin for zxcvbn's estimate being optimistic
/// about a pattern it does not model and for faster hardware. Four random
/// common words ("river stone cloud tiger") estimate ~57-70 bits.
inline constexpr double kMinPassphraseBits = 50;

/// Checks `passphrase` against the policy above. `user_inputs` are words an
/// attacker would try first because they are about this user (the handle,
/// the app's name): a passphrase built on them counts as weak
/// ("sam12345678" for the handle "sam").
///
/// Returns OK if the passphrase is long and strong enough. Otherwise
/// INVALID_ARGUMENT with a reason meant for the person choosing it, e.g.
///   "the passphrase is too short: use at least 10 characters, e.g. several
///    unrelated words"
///   "the passphrase is too easy to guess (a common word or password;
///    estimated ~10^8 guesses, 10^15 needed): try a longer phrase of several
///    unrelated words"
/// The message never contains the passphrase. Strength is judged on the text
/// before a NUL byte, if there is one (zxcvbn takes C strings).
///
/// Thread-safe; takes a few milliseconds (zxcvbn, dictionaries in memory).
SOTTO_EXPORT absl::Status CheckPassphraseStrength(absl::string_view passphrase,
                                                  absl::Span<const std::string> user_inputs = {});

}  // namespace sotto

#endif  // SOTTO_CLIENT_LIB_INCLUDE_SOTTO_PASSPHRASE_H_

#ifndef SOTTO_CLI_QR_H_
#define SOTTO_CLI_QR_H_

// QR codes for what people compare or copy in person: an invite code, a
// safety number. Made with Debian's libqrencode (error correction level M,
// 8-bit mode, the smallest version that fits). Pure functions; thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::cli {

// An SVG document (UTF-8, no script, no external reference) drawing the QR
// code of `text`: one <path> of unit squares on a white background with the
// standard 4-module quiet zone, viewBox in modules so it scales to any size.
// Deterministic: the same text gives the same bytes. INVALID_ARGUMENT for
// empty text or text too long for a QR code (over ~2,300 bytes at level M).
absl::StatusOr<std::string> QrSvg(absl::string_view text);

// The QR code of `text` for a terminal: two modules per character with the
// Unicode half blocks (U+2580, U+2584, U+2588, space), dark on light, a quiet
// zone of 2 modules, one line per two module rows, each ending in '\n'.
// Errors as QrSvg.
absl::StatusOr<std::string> QrTerminal(absl::string_view text);

}  // namespace sotto::cli

#endif  // SOTTO_CLI_QR_H_

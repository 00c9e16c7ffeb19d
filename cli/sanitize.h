#ifndef SOTTO_CLI_SANITIZE_H_
#define SOTTO_CLI_SANITIZE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace sotto::cli {

// Makes text that came from another person (or from the server) safe to
// print on a terminal. A message body could otherwise carry escape sequences
// that rewrite the screen, retitle the window, fake a "── <time> dr-rivera"
// header, or reorder what the reader sees with bidirectional overrides.
//
// - C0 controls (except \n and \t when `multiline`), DEL and C1 controls
//   become "�" (U+FFFD);
// - bidirectional embedding/override/isolate marks (U+202A..U+202E,
//   U+2066..U+2069) and U+200E/U+200F become "�" too;
// - invalid UTF-8 bytes become "�";
// - without `multiline`, \n and \t become a space (subjects, previews, notes).
// Everything else, including all printable Unicode, passes unchanged.
std::string ForTerminal(absl::string_view text, bool multiline);

}  // namespace sotto::cli

#endif  // SOTTO_CLI_SANITIZE_H_

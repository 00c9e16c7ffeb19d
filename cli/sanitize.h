#ifndef SOTTO_CLI_SANITIZE_H_
#define SOTTO_CLI_SANITIZE_H_

#include <cstdint>
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
// - bidirectional marks, embeddings, overrides and isolates (U+061C,
//   U+200E/U+200F, U+202A..U+202E, U+2066..U+2069), the line and paragraph
//   separators U+2028/U+2029 and invisible characters (U+200B, U+2060..U+2064,
//   U+206A..U+206F, U+FEFF, U+180E, U+FFF9..U+FFFB) become "�" too;
// - invalid UTF-8 bytes become "�";
// - without `multiline`, \n and \t become a space (subjects, previews, notes).
// Everything else, including all printable Unicode, passes unchanged.
std::string ForTerminal(absl::string_view text, bool multiline);

// True for the bidi controls and invisible characters ForTerminal replaces
// (the list above); JsonString (json_writer.h) escapes the same set.
bool IsHiddenFormatting(uint32_t cp);

}  // namespace sotto::cli

#endif  // SOTTO_CLI_SANITIZE_H_

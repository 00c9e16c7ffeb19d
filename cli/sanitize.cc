#include "sanitize.h"

#include <cstdint>

namespace sotto::cli {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Decodes one UTF-8 sequence at text[i]; returns its length, or 0 if invalid
// (overlong, surrogate, out of range or truncated).
size_t DecodeUtf8(absl::string_view text, size_t i, uint32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  size_t len;
  uint32_t min;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, min = 0x80, *cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, min = 0x800, *cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, *cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (byte(i + k) & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

// What is in the set, and why: bidi marks, embeddings, overrides and
// isolates (U+061C, U+200E/F, U+202A..E, U+2066..9), line and paragraph
// separators (a new line to some renderers, hence a forged header), and
// invisible characters that make two strings look alike (zero-width space,
// word joiner, invisible operators, the deprecated format controls
// U+206A..F, BOM, Mongolian vowel separator, interlinear annotations).
// ZWJ/ZWNJ (U+200C/D) stay: emoji and several scripts need them.
bool IsHiddenFormatting(uint32_t cp) {
  return cp == 0x061C || cp == 0x180E || cp == 0x200B || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064) ||
         (cp >= 0x2066 && cp <= 0x206F) || cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB);
}

std::string ForTerminal(absl::string_view text, bool multiline) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(text, i, &cp);
    if (len == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (cp == '\n' || cp == '\t') {
      out += multiline ? static_cast<char>(cp) : ' ';
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || IsHiddenFormatting(cp)) {
      out += kReplacement;
    } else {
      out.append(text.data() + i, len);
    }
    i += len;
  }
  return out;
}

}  // namespace sotto::cli

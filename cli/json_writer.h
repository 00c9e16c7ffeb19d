#ifndef SOTTO_CLI_JSON_WRITER_H_
#define SOTTO_CLI_JSON_WRITER_H_

// A small JSON writer for `sotto ... --json` (docs/CLI.md), written by hand
// so the CLI needs no JSON library. It writes one document, indented by two
// spaces, keys in the order they are added.
//
// Strings are emitted as valid JSON whatever they hold (JsonString): message
// text comes from other people. Because the escapes stand for the same
// characters, a parser gets the text back exactly (but for invalid UTF-8,
// which JSON cannot carry); and because every control and direction mark is
// escaped, the raw document is also safe to print on a terminal.
//
// Misuse (a value where a key is due, unbalanced End*) is a bug in the CLI,
// not input: it is caught by assert in debug builds only.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace sotto::cli {

// `text` as a quoted JSON string: ", \ and the C0 controls escaped (\n, \t,
// \r, \b, \f, else \u00XX); DEL, the C1 controls, U+2028/U+2029 and the
// bidirectional marks (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069)
// escaped as \uXXXX; every other character passed through as UTF-8; each
// byte of invalid UTF-8 replaced by U+FFFD.
std::string JsonString(absl::string_view text);

class JsonWriter {
 public:
  JsonWriter() = default;
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // Inside an object: the next value's key.
  void Key(absl::string_view key);

  void String(absl::string_view value);
  void Int(int64_t value);
  void Bool(bool value);
  void Null();

  // A time as two members: `<name>_ms` (Unix milliseconds) and `<name>`
  // (ISO 8601 UTC, "2026-12-01T09:00:00.000Z"); both null when `unix_ms` is
  // 0, which our structs use for "none".
  void Time(absl::string_view name, int64_t unix_ms);

  // The document, ending in a newline. The writer is empty afterwards.
  std::string Take();

 private:
  // Before any value: the comma and line break that separate it from the
  // previous one (not after a key, which already placed it).
  void BeforeValue();
  void Open(char bracket);
  void Close(char bracket);

  std::string out_;
  // One entry per open container: whether it holds anything yet.
  std::vector<bool> has_items_;
  bool after_key_ = false;
};

}  // namespace sotto::cli

#endif  // SOTTO_CLI_JSON_WRITER_H_

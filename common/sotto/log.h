#ifndef SOTTO_COMMON_LOG_H_
#define SOTTO_COMMON_LOG_H_

// The server's one logger: every event is one line on stderr, as text for a
// person at a terminal or as a JSON object per line for a log shipper.
//
//   sotto::log::Configure({sotto::log::Level::kInfo, sotto::log::Format::kJson});
//   sotto::log::Info("request", {{"method", "/sotto.v1.Messages/Send"}, {"ms", 0.41}});
//
// Text:  sotto-server: request method=/sotto.v1.Messages/Send ms=0.41
//        (errors and warnings say "error: " / "warning: " after the prefix)
// JSON:  {"ts":"2026-12-06T17:40:56.123Z","level":"info","msg":"request",
//         "method":"/sotto.v1.Messages/Send","ms":0.41}
//
// Nothing that identifies a person or carries content belongs in a field:
// the log leaves the server's trust boundary (journald, a shipper, a support
// ticket). Thread-safe: lines from different threads never interleave.
// Before Configure, the level is kWarn and the format text, so that code
// linking the server in-process (tests) logs only what goes wrong.

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::log {

// Most to least severe; a configured level shows itself and those before.
enum class Level { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };
enum class Format { kText, kJson };

struct Options {
  Level level = Level::kWarn;
  Format format = Format::kText;
};

// One key=value of an event: text (quoted in JSON, escaped) or a number.
class Field {
 public:
  Field(absl::string_view key, absl::string_view text) : key_(key), value_(text), quoted_(true) {}
  Field(absl::string_view key, const char* text) : Field(key, absl::string_view(text)) {}
  Field(absl::string_view key, const std::string& text) : Field(key, absl::string_view(text)) {}
  Field(absl::string_view key, int64_t number);
  Field(absl::string_view key, int number) : Field(key, static_cast<int64_t>(number)) {}
  Field(absl::string_view key, uint64_t number);
  Field(absl::string_view key, double number);

  absl::string_view key() const { return key_; }
  const std::string& value() const { return value_; }
  bool quoted() const { return quoted_; }

 private:
  absl::string_view key_;
  std::string value_;
  bool quoted_;
};

// Sets the level and format for every later line. Call once at start,
// before the threads that log; later calls are safe but racy in effect.
void Configure(const Options& options);

// "error", "warn", "info", "debug" / "text", "json"; INVALID_ARGUMENT
// naming the accepted values otherwise.
absl::StatusOr<Level> ParseLevel(absl::string_view name);
absl::StatusOr<Format> ParseFormat(absl::string_view name);

// Whether a line at `level` would be written (to skip building one).
bool Enabled(Level level);

// Writes one line for the event `message` with `fields`, if `level` is
// enabled. A newline in the message or a field is escaped, never written.
void Write(Level level, absl::string_view message, std::initializer_list<Field> fields = {});

inline void Error(absl::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, message, fields);
}
inline void Warn(absl::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarn, message, fields);
}
inline void Info(absl::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, message, fields);
}
inline void Debug(absl::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kDebug, message, fields);
}

// The line Write would print for the event, without its newline (for
// tests of the format). `now_iso` is the JSON timestamp.
std::string FormatLine(Format format, Level level, absl::string_view now_iso,
                       absl::string_view message, std::initializer_list<Field> fields);

}  // namespace sotto::log

#endif  // SOTTO_COMMON_LOG_H_

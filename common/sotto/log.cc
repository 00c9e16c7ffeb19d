#include "sotto/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sotto::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kWarn)};
std::atomic<int> g_format{static_cast<int>(Format::kText)};

// One line per write: a shipper reading the pipe never sees two halves.
absl::Mutex& OutputMutex() {
  static absl::Mutex* const mu = new absl::Mutex;
  return *mu;
}

constexpr const char* kLevelNames[] = {"error", "warn", "info", "debug"};

// The length of the valid UTF-8 sequence at s[i], or 0.
size_t Utf8Length(absl::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  return n;
}

// JSON string contents: quotes, backslashes and control characters
// escaped; a byte that is not valid UTF-8 becomes U+FFFD, so that every
// line stays valid JSON whatever a message quoted.
void AppendJsonEscaped(std::string& out, absl::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (size_t n = Utf8Length(s, i); n > 0) {
      out.append(s.substr(i, n).data(), n);
      i += n - 1;
    } else {
      out += "\\ufffd";
    }
  }
}

// Text: newlines and other control characters escaped, so that one event
// stays one line.
void AppendTextEscaped(std::string& out, absl::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else {
      out.push_back(ch);
    }
  }
}

void AppendTextValue(std::string& out, const Field& f) {
  const std::string& v = f.value();
  if (f.quoted() && (v.empty() || v.find_first_of(" \"=") != std::string::npos)) {
    out.push_back('"');
    for (char ch : v) {
      if (ch == '"' || ch == '\\') out.push_back('\\');
      AppendTextEscaped(out, absl::string_view(&ch, 1));
    }
    out.push_back('"');
    return;
  }
  AppendTextEscaped(out, v);
}

}  // namespace

Field::Field(absl::string_view key, int64_t number)
    : key_(key), value_(absl::StrCat(number)), quoted_(false) {}
Field::Field(absl::string_view key, uint64_t number)
    : key_(key), value_(absl::StrCat(number)), quoted_(false) {}
Field::Field(absl::string_view key, double number)
    : key_(key), value_(absl::StrFormat("%.3f", number)), quoted_(false) {}

void Configure(const Options& options) {
  g_level.store(static_cast<int>(options.level), std::memory_order_relaxed);
  g_format.store(static_cast<int>(options.format), std::memory_order_relaxed);
}

absl::StatusOr<Level> ParseLevel(absl::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (name == kLevelNames[i]) return static_cast<Level>(i);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("log level must be error, warn, info or debug, got \"", name, "\""));
}

absl::StatusOr<Format> ParseFormat(absl::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("log format must be text or json, got \"", name, "\""));
}

bool Enabled(Level level) {
  return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed);
}

std::string FormatLine(Format format, Level level, absl::string_view now_iso,
                       absl::string_view message, std::initializer_list<Field> fields) {
  std::string line;
  if (format == Format::kJson) {
    absl::StrAppend(&line, "{\"ts\":\"", now_iso, "\",\"level\":\"",
                    kLevelNames[static_cast<int>(level)], "\",\"msg\":\"");
    AppendJsonEscaped(line, message);
    line.push_back('"');
    for (const Field& f : fields) {
      line += ",\"";
      AppendJsonEscaped(line, f.key());
      line += "\":";
      if (f.quoted()) line.push_back('"');
      AppendJsonEscaped(line, f.value());
      if (f.quoted()) line.push_back('"');
    }
    line.push_back('}');
    return line;
  }
  line = "sotto-server: ";
  if (level == Level::kError) line += "error: ";
  if (level == Level::kWarn) line += "warning: ";
  if (level == Level::kDebug) line += "debug: ";
  AppendTextEscaped(line, message);
  for (const Field& f : fields) {
    line.push_back(' ');
    AppendTextEscaped(line, f.key());
    line.push_back('=');
    AppendTextValue(line, f);
  }
  return line;
}

void Write(Level level, absl::string_view message, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  const auto format = static_cast<Format>(g_format.load(std::memory_order_relaxed));
  std::string now;
  if (format == Format::kJson) {
    now = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  }
  std::string line = FormatLine(format, level, now, message, fields);
  line.push_back('\n');
  absl::MutexLock lock(&OutputMutex());
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace sotto::log

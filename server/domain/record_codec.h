#ifndef SOTTO_SERVER_DOMAIN_RECORD_CODEC_H_
#define SOTTO_SERVER_DOMAIN_RECORD_CODEC_H_

// A tiny binary encoding for stored values: fixed-width big-endian integers
// and 32-bit-length-prefixed byte strings, read back in the same order. Each
// record starts with a version byte so fields can be appended later. The
// domain keeps protobuf out of storage on purpose (STYLE: domain never sees
// protobuf types).

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "server/storage/key_codec.h"

namespace sotto::server {

class RecordWriter {
 public:
  explicit RecordWriter(uint8_t version = 1) { out_.push_back(static_cast<char>(version)); }
  RecordWriter& U32(uint32_t v) {
    keys::AppendBigEndian32(out_, v);
    return *this;
  }
  RecordWriter& U64(uint64_t v) {
    keys::AppendBigEndian64(out_, v);
    return *this;
  }
  RecordWriter& I64(int64_t v) { return U64(static_cast<uint64_t>(v)); }
  RecordWriter& Bytes(absl::string_view b) {
    U32(static_cast<uint32_t>(b.size()));
    out_.append(b.data(), b.size());
    return *this;
  }
  // The encoded record; the writer is left empty.
  std::string Finish() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads fields in order. After a short or malformed input every read returns
// a zero value and ok() turns false; check ok() once at the end.
class RecordReader {
 public:
  explicit RecordReader(absl::string_view in) : in_(in) {
    if (in_.empty()) {
      ok_ = false;
    } else {
      version_ = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
    }
  }
  uint8_t version() const { return version_; }
  uint32_t U32() { return keys::ReadBigEndian32(Take(4)).value_or(0); }
  uint64_t U64() { return keys::ReadBigEndian64(Take(8)).value_or(0); }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  std::string Bytes() { return std::string(Take(U32())); }
  bool ok() const { return ok_; }
  // True when every byte has been read: a field appended in a later version
  // is absent from older records.
  bool AtEnd() const { return in_.empty(); }

 private:
  absl::string_view Take(size_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return {};
    }
    absl::string_view out = in_.substr(0, n);
    in_.remove_prefix(n);
    return out;
  }

  absl::string_view in_;
  uint8_t version_ = 0;
  bool ok_ = true;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_RECORD_CODEC_H_

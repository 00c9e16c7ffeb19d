// The backup file's stream layer (client-lib/backup/backup_stream.h) over
// many chunks: a file cut exactly between two chunks is truncated (only the
// FINAL tag tells), a chunk dropped or two swapped do not authenticate, and
// bytes added after the final chunk are damage. docs/BACKUP.md.

#include "client-lib/backup/backup_stream.h"

#include <cstdio>
#include <memory>
#include <string>

#include "client-lib/backup/recovery_key.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client::backup {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::HasSubstr;

constexpr size_t kHeader = 84;
constexpr size_t kSealed = 4 + kChunkBytes + 17;  // a full chunk on disk

struct File {
  FILE* f = std::tmpfile();
  ~File() { std::fclose(f); }
};

std::string Digits() { return *NormalizeRecoveryKey(NewRecoveryKey()); }

// A stream of three full chunks and an empty final one.
std::string ThreeChunksUnder(const StreamKey& key) {
  File file;
  auto writer = StreamWriter::Start(file.f, key);
  EXPECT_OK(writer.status());
  EXPECT_OK((*writer)->Write(std::string(3 * kChunkBytes, 'x')));
  EXPECT_OK((*writer)->Finish());
  std::fflush(file.f);
  std::rewind(file.f);
  std::string bytes;
  for (int c = std::fgetc(file.f); c != EOF; c = std::fgetc(file.f)) bytes.push_back(char(c));
  return bytes;
}
std::string ThreeChunks(const std::string& digits) {
  return ThreeChunksUnder(StreamKey::Recovery(digits));
}

// Reads `bytes` to the end; the first error, or OK with `chunks` read.
absl::Status ReadAllUnder(const std::string& bytes, const StreamKey& key, int* chunks = nullptr) {
  File file;
  std::fwrite(bytes.data(), 1, bytes.size(), file.f);
  std::rewind(file.f);
  auto reader = StreamReader::Open(file.f, "the backup", key);
  if (!reader.ok()) return reader.status();
  std::string out;
  bool final = false;
  int n = 0;
  while (!final) {
    absl::Status s = (*reader)->Next(out, final);
    if (!s.ok()) return s;
    ++n;
  }
  if (chunks != nullptr) *chunks = n;
  return absl::OkStatus();
}
absl::Status ReadAll(const std::string& bytes, const std::string& digits, int* chunks = nullptr) {
  return ReadAllUnder(bytes, StreamKey::Recovery(digits), chunks);
}

// An automatic backup is sealed to the public key the recovery key derives
// (no secret needed to write it) and opens with the recovery key alone; a
// history transfer opens with its random key; neither opens with the
// other's kind of key or a wrong one.
TEST(BackupStreamTest, SealedToTheRecoveryPublicKeyAndRawKeyStreamsOpenOnlyWithTheirKey) {
  const std::string digits = Digits();
  const std::string sealed = ThreeChunksUnder(StreamKey::RecoveryPublic(RecoveryPublicKey(digits)));
  EXPECT_EQ(sealed.size(), kHeader + 32 + 3 * kSealed + 4 + 17);
  EXPECT_EQ(sealed[10], kKdfSealedToRecoveryKey);
  int chunks = 0;
  ASSERT_OK(ReadAll(sealed, digits, &chunks));
  EXPECT_EQ(chunks, 4);
  EXPECT_THAT(ReadAll(sealed, Digits()),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("wrong recovery key")));
  std::string flipped = sealed;
  flipped[20] ^= 1;  // in the ephemeral public key
  EXPECT_THAT(ReadAll(flipped, digits),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("header")));

  const std::string raw(kRawKeyBytes, '\x5a');
  const std::string transfer = ThreeChunksUnder(StreamKey::Raw(raw));
  ASSERT_OK(ReadAllUnder(transfer, StreamKey::Raw(raw)));
  EXPECT_THAT(ReadAllUnder(transfer, StreamKey::Raw(std::string(kRawKeyBytes, 'x'))),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("wrong transfer key")));
  EXPECT_THAT(ReadAll(transfer, digits),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("history transfer")));
  EXPECT_THAT(ReadAllUnder(sealed, StreamKey::Raw(raw)),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("recovery key")));
  EXPECT_THAT(ReadAllUnder(transfer, StreamKey::Raw("short")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32 bytes")));
}

TEST(BackupStreamTest, ManyChunksReadBackAndEveryCutOrReorderingIsCaught) {
  const std::string digits = Digits();
  const std::string good = ThreeChunks(digits);
  ASSERT_EQ(good.size(), kHeader + 3 * kSealed + 4 + 17);
  int chunks = 0;
  ASSERT_OK(ReadAll(good, digits, &chunks));
  EXPECT_EQ(chunks, 4);

  // Cut exactly after the second chunk: every chunk kept authenticates.
  EXPECT_THAT(ReadAll(good.substr(0, kHeader + 2 * kSealed), digits),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
  // Without its final (empty) chunk.
  EXPECT_THAT(ReadAll(good.substr(0, kHeader + 3 * kSealed), digits),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
  // The second chunk dropped.
  std::string dropped = good.substr(0, kHeader + kSealed) + good.substr(kHeader + 2 * kSealed);
  EXPECT_THAT(ReadAll(dropped, digits),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("chunk 2")));
  // The first two swapped.
  std::string swapped = good.substr(0, kHeader) + good.substr(kHeader + kSealed, kSealed) +
                        good.substr(kHeader, kSealed) + good.substr(kHeader + 2 * kSealed);
  EXPECT_THAT(ReadAll(swapped, digits),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("does not authenticate")));
  // Something appended.
  EXPECT_THAT(ReadAll(good + "x", digits),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("after its final chunk")));
  // Another key.
  EXPECT_THAT(ReadAll(good, Digits()),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("wrong recovery key")));
}

TEST(RecoveryKeyTest, FortyDigitsInTenGroupsTypedBackWithSpacesOrDashes) {
  const std::string key = NewRecoveryKey();
  ASSERT_EQ(key.size(), 49u);
  std::string dashed = key;
  for (char& c : dashed) {
    if (c == ' ') c = '-';
  }
  EXPECT_EQ(*NormalizeRecoveryKey(dashed), *NormalizeRecoveryKey(key + "\n"));
  EXPECT_THAT(NormalizeRecoveryKey(key.substr(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the one given has 39")));
  EXPECT_THAT(NormalizeRecoveryKey("O" + key.substr(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("digits only")));
  EXPECT_NE(NewRecoveryKey(), key);
}

}  // namespace
}  // namespace sotto::client::backup

// The audit chain against someone who holds the database but not the key:
// entries edited in the real RocksDB with every later hash recomputed (as
// a breached server could), entries downgraded to the unkeyed format,
// entries cut from the end, and a chain written before the key existed.
// Judged by `sotto-server audit --verify` on the real binary, and the head
// the server exports.

#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/app/audit_head_reporter.h"
#include "server/app/key_files.h"
#include "server/domain/audit_log.h"
#include "server/domain/clock.h"
#include "server/domain/sha256.h"
#include "server/storage/key_codec.h"
#include "server/storage/rocksdb_store.h"
#include "testing/server_keys.h"
#include "testing/server_process.h"
#include "testing/temp_dir.h"

namespace sotto::server {
namespace {

using ::sotto::testing::RunServerCommand;
using ::sotto::testing::ServerCommandResult;
using ::sotto::testing::ServerProcess;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr size_t kMacBytes = 32;

// A server that wrote `n` enrolment.issued entries (#1..#n), now stopped.
std::unique_ptr<ServerProcess> ChainOf(int n) {
  auto server = ServerProcess::Start();
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  for (int i = 1; i <= n; ++i) {
    ServerCommandResult r = RunServerCommand(absl::StrCat("enrol-therapist --quiet --data-dir ",
                                                          (*server)->data_dir(), " --name dr-", i));
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
  EXPECT_TRUE((*server)->Stop().ok());
  return *std::move(server);
}

ServerCommandResult Verify(const std::string& dir, const std::string& more = "") {
  return RunServerCommand("audit --verify --data-dir " + dir + more);
}

// The entries of the audit table as stored.
std::vector<KeyValue> ReadAll(Store& store) {
  auto rows = ReadAuditRaw(store, 0, 1000);
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? *rows : std::vector<KeyValue>{};
}

// The canonical form of a stored MAC'd entry (canonical || 0x01 || mac).
std::string CanonicalOf(const std::string& value) {
  return value.substr(0, value.size() - kMacBytes - 1);
}

// What a forger without the key can do: rewrite entries `from`.. as legacy
// (canonical || SHA-256(prev || canonical)), after `edit` changed entry
// `from`'s canonical form, so that every hash from there on is right.
void RewriteUnkeyed(const std::string& dir, uint64_t from,
                    const std::function<void(std::string&)>& edit) {
  auto store = OpenRocksDbStore(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<KeyValue> rows = ReadAll(**store);
  ASSERT_GE(rows.size(), from);
  std::string prev(kMacBytes, '\0');
  if (from > 1) {
    const std::string& v = rows[from - 2].value;
    prev = v.substr(v.size() - kMacBytes);
  }
  WriteBatch batch;
  for (size_t i = from - 1; i < rows.size(); ++i) {
    std::string canonical = CanonicalOf(rows[i].value);
    if (i == from - 1) edit(canonical);
    prev = Sha256({prev, canonical});
    batch.Put(Table::kAudit, rows[i].key, canonical + prev);
  }
  ASSERT_TRUE((*store)->Write(batch, Durability::kSynced).ok());
}

void RenameSubject(std::string& canonical) {
  size_t at = canonical.find("dr-2");
  ASSERT_NE(at, std::string::npos);
  canonical[at + 3] = '9';  // same length: the length prefixes stay right
}

TEST(AuditMacTest, AnEditWithEveryLaterHashRecomputedWithoutTheKeyFailsVerify) {
  auto server = ChainOf(4);
  ASSERT_NE(server, nullptr);
  const std::string dir = server->data_dir();
  ASSERT_EQ(Verify(dir).exit_code, 0) << Verify(dir).output;
  RewriteUnkeyed(dir, 2, RenameSubject);
  ServerCommandResult r = Verify(dir);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("audit trail broken: audit entry 2: has no MAC"));
  // The edit would show in the trail: verification is what tells it apart.
  EXPECT_THAT(RunServerCommand("audit --data-dir " + dir).output, HasSubstr("subject=dr-9"));
}

TEST(AuditMacTest, AWholeChainRewrittenWithoutMacsFailsVerify) {
  auto server = ChainOf(3);
  ASSERT_NE(server, nullptr);
  const std::string dir = server->data_dir();
  RewriteUnkeyed(dir, 1, [](std::string&) {});
  ServerCommandResult r = Verify(dir);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("none of the 3 entries has a MAC"));
  // Nor will the server seal the rewritten chain with a MAC of its own.
  EXPECT_FALSE(server->Restart().ok());
  ServerCommandResult start = RunServerCommand("--listen 127.0.0.1:0 --data-dir " + dir);
  EXPECT_NE(start.exit_code, 0);
  EXPECT_THAT(start.output, HasSubstr("the server will not seal such a chain"));
  EXPECT_EQ(Verify(dir).exit_code, 1);
}

TEST(AuditMacTest, AnEditMacdWithAGuessedKeyFailsVerifyAndTheServerRefusesTheHead) {
  auto server = ChainOf(3);
  ASSERT_NE(server, nullptr);
  const std::string dir = server->data_dir();
  {
    auto store = OpenRocksDbStore(dir);
    ASSERT_TRUE(store.ok());
    std::vector<KeyValue> rows = ReadAll(**store);
    ASSERT_EQ(rows.size(), 3u);
    const std::string& v1 = rows[0].value;
    std::string prev = v1.substr(v1.size() - kMacBytes);
    SecretKey guess = sotto::testing::TestKey('g');
    WriteBatch batch;
    for (size_t i = 1; i < rows.size(); ++i) {
      std::string canonical = CanonicalOf(rows[i].value);
      if (i == 1) RenameSubject(canonical);
      prev = guess.Mac({prev, canonical});
      batch.Put(Table::kAudit, rows[i].key, canonical + std::string(1, '\x01') + prev);
    }
    ASSERT_TRUE((*store)->Write(batch, Durability::kSynced).ok());
  }
  ServerCommandResult r = Verify(dir);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("audit trail broken: audit entry 2: MAC does not match"));
  // The server checks the head's MAC at start and will not chain onto it.
  ASSERT_FALSE(server->Restart().ok());
}

TEST(AuditMacTest, TruncationPassesVerifyAloneButNotAgainstAnExportedHead) {
  auto server = ChainOf(3);
  ASSERT_NE(server, nullptr);
  const std::string dir = server->data_dir();
  ServerCommandResult head = RunServerCommand("audit --head --data-dir " + dir);
  ASSERT_EQ(head.exit_code, 0) << head.output;
  const std::string exported = head.output.substr(0, head.output.find('\n'));
  ASSERT_THAT(exported, ::testing::StartsWith("3:"));
  EXPECT_EQ(Verify(dir, " --expect-head " + exported).exit_code, 0);
  {
    auto store = OpenRocksDbStore(dir);
    ASSERT_TRUE(store.ok());
    WriteBatch batch;
    batch.Delete(Table::kAudit, AuditKey(3));
    ASSERT_TRUE((*store)->Write(batch, Durability::kSynced).ok());
  }
  // Every remaining MAC is right: without a head kept elsewhere, the cut
  // cannot be seen.
  EXPECT_EQ(Verify(dir).exit_code, 0);
  ServerCommandResult r = Verify(dir, " --expect-head " + exported);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("the chain ends at entry 2 but the exported head is entry 3"));
  // A rewrite up to the head (here: entry 3 replaced) is caught too.
  ASSERT_TRUE(server->Restart().ok());
  ASSERT_EQ(
      RunServerCommand("enrol-therapist --quiet --data-dir " + dir + " --name dr-x").exit_code, 0);
  ASSERT_TRUE(server->Stop().ok());
  r = Verify(dir, " --expect-head " + exported);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("audit entry 3: differs from the exported head"));
}

TEST(AuditMacTest, TheKeyFileIsOutsideTheDataDirOwnerOnlyAndNeededOnceUsed) {
  auto server = ChainOf(1);
  ASSERT_NE(server, nullptr);
  const std::string dir = server->data_dir();
  const std::string key_file = dir + ".audit-key";
  struct stat st {};
  ASSERT_EQ(stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Without it, the MAC'd chain cannot be verified, and the server will not
  // start with a fresh key that verifies nothing.
  ASSERT_EQ(rename(key_file.c_str(), (key_file + ".saved").c_str()), 0);
  ServerCommandResult r = Verify(dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("needs the audit key file"));
  EXPECT_FALSE(server->Restart().ok());
  ServerCommandResult start = RunServerCommand("--listen 127.0.0.1:0 --data-dir " + dir);
  EXPECT_THAT(start.output, HasSubstr("restore it from your backup"));
  // Elsewhere, named by flag, it works.
  r = Verify(dir, " --audit-key-file " + key_file + ".saved");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(chmod((key_file + ".saved").c_str(), 0644), 0);
  r = Verify(dir, " --audit-key-file " + key_file + ".saved");
  EXPECT_THAT(r.output, HasSubstr("chmod 600"));
}

// Entries as a server before the key wrote them (canonical || SHA-256).
void WriteLegacyChain(const std::string& dir, int n) {
  auto store = OpenRocksDbStore(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  std::string prev(kMacBytes, '\0');
  WriteBatch batch;
  for (int seq = 1; seq <= n; ++seq) {
    std::string canonical;
    keys::AppendBigEndian64(canonical, static_cast<uint64_t>(seq));
    keys::AppendBigEndian64(canonical, 1700000000000ull + static_cast<uint64_t>(seq));
    canonical += EncodeAuditEvent(
        {audit::kEnrolmentIssued, audit::kOperator, absl::StrCat("dr-", seq), "valid_hours=1"},
        CallContext{});
    prev = Sha256({prev, canonical});
    batch.Put(Table::kAudit, AuditKey(static_cast<uint64_t>(seq)), canonical + prev);
  }
  ASSERT_TRUE((*store)->Write(batch, Durability::kSynced).ok());
}

TEST(AuditMacTest, ALegacyChainKeepsVerifyingAndIsSealedByTheFirstMac) {
  sotto::testing::TempDir tmp;
  const std::string dir = tmp.path() + "/db";
  WriteLegacyChain(dir, 3);
  // Before any server with a key ran: checked as hashes, and said so.
  ServerCommandResult r = Verify(dir);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("forgeable"));
  // The first write with a key (here the offline operator's) seals them.
  ServerCommandResult start =
      RunServerCommand("enrol-therapist --quiet --data-dir " + dir + " --name dr-new");
  ASSERT_EQ(start.exit_code, 0) << start.output;
  r = Verify(dir);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("audit trail intact: 5 entries"));
  EXPECT_THAT(r.output, HasSubstr("entries 1-3 predate the MAC key: protected by the MACs"));
  EXPECT_THAT(RunServerCommand("audit --data-dir " + dir).output,
              HasSubstr(" audit.mac.started actor=- legacy_entries=3"));
  // A legacy entry edited with its hashes recomputed breaks the first MAC.
  {
    auto store = OpenRocksDbStore(dir);
    ASSERT_TRUE(store.ok());
    std::vector<KeyValue> rows = ReadAll(**store);
    std::string prev = rows[0].value.substr(rows[0].value.size() - kMacBytes);
    WriteBatch batch;
    for (size_t i = 1; i < 3; ++i) {
      std::string canonical = rows[i].value.substr(0, rows[i].value.size() - kMacBytes);
      if (i == 1) RenameSubject(canonical);
      prev = Sha256({prev, canonical});
      batch.Put(Table::kAudit, rows[i].key, canonical + prev);
    }
    ASSERT_TRUE((*store)->Write(batch, Durability::kSynced).ok());
  }
  r = Verify(dir);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("audit entry 4: MAC does not match"));
}

TEST(AuditHeadReporterTest, PrintsTheHeadAtStartWhenItMovesAndAtStop) {
  sotto::testing::TempDir tmp;
  auto store = OpenRocksDbStore(tmp.path() + "/db");
  ASSERT_TRUE(store.ok());
  FakeClock clock;
  auto log = AuditLog::Open(store->get(), &clock, sotto::testing::TestAuditKey());
  ASSERT_TRUE(log.ok());
  absl::Mutex mu;
  std::vector<std::string> lines;
  AuditHeadReporter reporter(log->get(), absl::Milliseconds(20), [&](const std::string& line) {
    absl::MutexLock lock(&mu);
    lines.push_back(line);
  });
  reporter.Start();
  ASSERT_TRUE((*log)->Record({audit::kAuthFailed, "", "u", ""}, Durability::kSynced).ok());
  const std::string moved = "audit head " + FormatAuditHead((*log)->Head());
  {
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(absl::Condition(
                            +[](std::vector<std::string>* l) { return l->size() >= 2; }, &lines),
                        absl::Seconds(10));
  }
  absl::SleepFor(absl::Milliseconds(100));  // no new line while it stays
  reporter.Stop();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "audit head 0:" + std::string(64, '0'));
  EXPECT_EQ(lines[1], moved);
  EXPECT_EQ(lines[2], moved);
  // What it prints is what verify accepts as an exported head.
  EXPECT_TRUE(ParseAuditHead(moved.substr(11)).ok());
}

}  // namespace
}  // namespace sotto::server

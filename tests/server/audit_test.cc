// The audit trail from the operator's side: `sotto-server audit` against
// the real binary, while the server runs (operator socket) and after it
// stopped (the database opened read-only), and a tampered entry found by
// --verify. The chain itself is checked against the domain code here too.

#include <stdio.h>
#include <sys/wait.h>

#include <array>
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/audit_log.h"
#include "server/domain/clock.h"
#include "server/storage/rocksdb_store.h"
#include "testing/server_keys.h"
#include "testing/server_process.h"
#include "testing/temp_dir.h"

namespace sotto::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string all;  // stdout and stderr
};

RunResult RunBinary(const std::string& args) {
  RunResult run;
  std::string cmd = std::string(SOTTO_SERVER_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 512> buf;
  while (fgets(buf.data(), buf.size(), pipe) != nullptr) run.all += buf.data();
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST(AuditCommandTest, PrintsWhileTheServerRunsAndAfterItStopped) {
  auto server = sotto::testing::ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string dir = (*server)->data_dir();
  RunResult enrol = RunBinary("enrol-therapist --quiet --data-dir " + dir + " --name dr-lee");
  ASSERT_EQ(enrol.exit_code, 0) << enrol.all;
  std::string code = enrol.all.substr(0, enrol.all.find('\n'));
  RunBinary("enrol-therapist --quiet --data-dir " + dir + " --name dr-kim");

  RunResult live = RunBinary("audit --data-dir " + dir);
  EXPECT_EQ(live.exit_code, 0) << live.all;
  EXPECT_THAT(live.all, HasSubstr("#1 "));
  EXPECT_THAT(live.all, HasSubstr("enrolment.issued actor=operator subject=dr-lee"));
  EXPECT_THAT(live.all, HasSubstr("#2 "));
  EXPECT_THAT(live.all, Not(HasSubstr(code)));  // never a code
  RunResult only_kim = RunBinary("audit --data-dir " + dir + " --user dr-kim");
  EXPECT_THAT(only_kim.all, HasSubstr("subject=dr-kim"));
  EXPECT_THAT(only_kim.all, Not(HasSubstr("dr-lee")));
  RunResult future = RunBinary("audit --data-dir " + dir + " --since 2999-01-01");
  EXPECT_EQ(future.exit_code, 0);
  EXPECT_EQ(future.all, "");
  RunResult verify = RunBinary("audit --verify --data-dir " + dir);
  EXPECT_EQ(verify.exit_code, 0) << verify.all;
  EXPECT_THAT(verify.all, HasSubstr("audit trail intact: 2 entries, head "));

  ASSERT_TRUE((*server)->Stop().ok());
  RunResult offline = RunBinary("audit --data-dir " + dir);
  EXPECT_EQ(offline.exit_code, 0) << offline.all;
  EXPECT_EQ(offline.all, live.all);
  verify = RunBinary("audit --verify --data-dir " + dir);
  EXPECT_EQ(verify.exit_code, 0) << verify.all;
}

// Overwrites entry `seq`'s value in the database of `dir` via `edit`.
void Tamper(const std::string& dir, uint64_t seq, const std::function<void(std::string&)>& edit) {
  auto store = OpenRocksDbStore(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  auto value = (*store)->Get(Table::kAudit, AuditKey(seq));
  ASSERT_TRUE(value.ok() && value->has_value());
  std::string v = **value;
  edit(v);
  WriteBatch batch;
  batch.Put(Table::kAudit, AuditKey(seq), v);
  ASSERT_TRUE((*store)->Write(batch, Durability::kSynced).ok());
}

TEST(AuditCommandTest, VerifyNamesTheFirstTamperedEntry) {
  auto server = sotto::testing::ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string dir = (*server)->data_dir();
  for (const char* name : {"dr-a", "dr-b", "dr-c", "dr-d"}) {
    ASSERT_EQ(RunBinary(absl::StrCat("enrol-therapist --quiet --data-dir ", dir, " --name ", name))
                  .exit_code,
              0);
  }
  ASSERT_TRUE((*server)->Stop().ok());
  // Rename the subject of entry 3 in place, keeping the stored hash.
  Tamper(dir, 3, [](std::string& v) {
    size_t at = v.find("dr-c");
    ASSERT_NE(at, std::string::npos);
    v[at + 3] = 'x';
  });
  RunResult verify = RunBinary("audit --verify --data-dir " + dir);
  EXPECT_EQ(verify.exit_code, 1) << verify.all;
  EXPECT_THAT(verify.all, HasSubstr("audit trail broken: audit entry 3:"));

  // Also with the server running: verification goes through its socket.
  ASSERT_TRUE((*server)->Restart().ok());
  verify = RunBinary("audit --verify --data-dir " + dir);
  EXPECT_EQ(verify.exit_code, 1) << verify.all;
  EXPECT_THAT(verify.all, HasSubstr("audit entry 3:"));
}

TEST(AccountCommandTest, DeactivateAnswersThroughTheSocketAndWithoutAServer) {
  auto server = sotto::testing::ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string dir = (*server)->data_dir();
  RunResult live = RunBinary("deactivate --data-dir " + dir + " --name nobody");
  EXPECT_EQ(live.exit_code, 1);
  EXPECT_THAT(live.all, HasSubstr("sotto-server deactivate: no user nobody"));
  ASSERT_TRUE((*server)->Stop().ok());
  RunResult offline = RunBinary("reactivate --data-dir " + dir + " --name nobody");
  EXPECT_EQ(offline.exit_code, 1);
  EXPECT_THAT(offline.all, HasSubstr("sotto-server reactivate: no user nobody"));
  RunResult bad = RunBinary("deactivate --data-dir " + dir + " --name Bad!");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.all, HasSubstr("handle"));
}

TEST(AuditChainTest, RecomputedHashAfterAnEditBreaksTheNextLink) {
  sotto::testing::TempDir tmp;
  auto store = OpenRocksDbStore(tmp.path() + "/db");
  ASSERT_TRUE(store.ok());
  FakeClock clock;
  auto log = AuditLog::Open(store->get(), &clock, sotto::testing::TestAuditKey());
  const SecretKey key = sotto::testing::TestKey('a');
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        (*log)
            ->Record({audit::kAuthFailed, "", absl::StrCat("u", i), ""}, Durability::kSynced)
            .ok());
  }
  // Deleting an entry leaves a gap, named.
  {
    auto rows = ReadAuditRaw(**store, 0, 10);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 3u);
    AuditChainVerifier v(&key);
    EXPECT_TRUE(v.Add((*rows)[0].key, (*rows)[0].value).ok());
    absl::Status s = v.Add((*rows)[2].key, (*rows)[2].value);
    EXPECT_THAT(std::string(s.message()), HasSubstr("audit entry 2: missing"));
  }
  // A forger who rewrites an entry with a correct-looking hash of its own
  // still breaks the link to the next one, since the next hash covers it.
  AuditLog* l = log->get();
  (void)l;
  auto rows = ReadAuditRaw(**store, 0, 10);
  ASSERT_TRUE(rows.ok());
  AuditChainVerifier v(&key);
  EXPECT_TRUE(v.Add((*rows)[0].key, (*rows)[0].value).ok());
  std::string forged = (*rows)[1].value;
  forged[forged.size() - 1] ^= 1;  // any change to the stored hash
  absl::Status s = v.Add((*rows)[1].key, forged);
  EXPECT_THAT(std::string(s.message()), HasSubstr("audit entry 2:"));
  // Reopening continues the chain where it ended.
  log->reset();
  log = AuditLog::Open(store->get(), &clock, sotto::testing::TestAuditKey());
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Record({audit::kAuthFailed, "", "u3", ""}, Durability::kSynced).ok());
  rows = ReadAuditRaw(**store, 0, 10);
  AuditChainVerifier all(&key);
  for (const KeyValue& r : *rows) EXPECT_TRUE(all.Add(r.key, r.value).ok());
  EXPECT_EQ(all.entries(), 4u);
}

TEST(AuditChainTest, APlainStoreRefusesAWriteCarryingAuditEvents) {
  sotto::testing::TempDir tmp;
  auto store = OpenRocksDbStore(tmp.path() + "/db");
  ASSERT_TRUE(store.ok());
  WriteBatch batch;
  batch.Put(Table::kAccounts, "x", "y");
  AddAudit(batch, {audit::kRegistered, "x.1", "x", ""}, CallContext{});
  EXPECT_EQ((*store)->Write(batch, Durability::kSynced).code(), absl::StatusCode::kInternal);
  EXPECT_FALSE((*store)->Get(Table::kAccounts, "x")->has_value());
}

}  // namespace
}  // namespace sotto::server

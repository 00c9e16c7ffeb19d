// The disk-full cycle (issue 20): fill, refuse, drain, restart while full,
// recover when space returns. The real sotto-server binary on real RocksDB.
//
// DiskFullCycleOnSmallFileSystem puts the data directory on a tmpfs of
// 20 MiB (SOTTO_RELIABILITY_LONG=1: 256 MiB, three cycles, figures printed
// for docs/RELIABILITY.md); it needs root to mount and skips, saying why,
// where it cannot. ReserveCycleWithInjectedFreeSpace drives the same logic
// on any file system through the server's test-only free-space file
// (SOTTO_TEST_FREE_BYTES_FILE), so the refusal, the drain, the restart and
// the recovery are tested in every run.

#include <grpcpp/grpcpp.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sotto/authorization.h"
#include "sotto/v1/accounts.grpc.pb.h"
#include "sotto/v1/care.grpc.pb.h"
#include "sotto/v1/messages.grpc.pb.h"
#include "testing/long_form.h"
#include "testing/register_request.h"
#include "testing/server_process.h"

namespace {

using ::sotto::testing::LongForm;

namespace v1 = ::sotto::v1;
using Clock = std::chrono::steady_clock;

// Every call has one: a server that stops answering fails the test instead
// of hanging it.
std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(20);
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Device {
  std::string handle;
  std::string secret = std::string(32, '\x5a');
  uint32_t registration_id = 0;
  std::string Header() const { return sotto::AuthorizationValue(handle, 1, secret); }
};

// What a refusal for want of space must look like to a client.
void ExpectOutOfStorage(const grpc::Status& s, const std::string& what) {
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << what << ": " << s.error_code() << " " << s.error_message();
  EXPECT_NE(s.error_message().find("out of storage"), std::string::npos)
      << what << ": " << s.error_message();
  EXPECT_EQ(s.error_message().find('/'), std::string::npos)
      << what << " names a server path: " << s.error_message();
}

// A tmpfs of `size` mounted at a fresh directory for the test's life.
class SmallFileSystem {
 public:
  // Empty error: mounted.
  std::string Mount(const std::string& size) {
    char dir[] = "/tmp/sotto-diskfull-XXXXXX";
    if (mkdtemp(dir) == nullptr) return "mkdtemp failed";
    dir_ = dir;
    if (::mount("tmpfs", dir, "tmpfs", 0, ("size=" + size).c_str()) != 0) {
      return absl::StrCat("mount -t tmpfs failed: ", strerror(errno));
    }
    mounted_ = true;
    return "";
  }
  ~SmallFileSystem() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove(dir_, ec);
  }
  const std::string& dir() const { return dir_; }

  // Writes `path` until the file system is full (or `bytes` are written).
  static uint64_t Fill(const std::string& path, uint64_t bytes = ~uint64_t{0}) {
    FILE* f = fopen(path.c_str(), "ab");
    if (f == nullptr) return 0;
    std::string chunk(64 << 10, 'x');
    uint64_t written = 0;
    while (written < bytes) {
      const size_t n = fwrite(chunk.data(), 1, chunk.size(), f);
      written += n;
      if (n < chunk.size() || fflush(f) != 0) break;
    }
    fclose(f);
    return written;
  }

 private:
  std::string dir_;
  bool mounted_ = false;
};

// Free bytes on the file system of `dir` beyond `keep` (0 if fewer).
uint64_t BytesAbove(const std::string& dir, uint64_t keep) {
  struct statvfs st {};
  if (statvfs(dir.c_str(), &st) != 0) return 0;
  const uint64_t free = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  return free > keep ? free - keep : 0;
}

class DiskFullTest : public ::testing::Test {
 protected:
  void StartServer(const std::string& min_free_mib) {
    auto started = sotto::testing::ServerProcess::Start(
        sotto::testing::ServerProcess::kDefaultBinary,
        {"--min-free-mib", min_free_mib, "--max-queue-mib", "4096", "--rate-sends", "0/0",
         "--rate-invites", "0/0"});
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    Connect();
    ana_ = Register("ana", 11, "");
    bob_ = Register("bob", 22, Invite().value_or(""));
  }

  void Connect() {
    auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    accounts_ = v1::Accounts::NewStub(channel);
    messages_ = v1::Messages::NewStub(channel);
    care_ = v1::Care::NewStub(channel);
  }

  absl::Status Restart() {
    absl::Status s = server_->Restart();
    if (s.ok()) Connect();
    return s;
  }

  // An invite code from ana, or the refusal.
  std::optional<std::string> Invite(grpc::Status* status = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline());
    ctx.AddMetadata("authorization", ana_.Header());
    v1::CreateInviteResponse invite;
    grpc::Status s = care_->CreateInvite(&ctx, v1::CreateInviteRequest(), &invite);
    if (status != nullptr) *status = s;
    if (!s.ok()) return std::nullopt;
    return invite.code();
  }

  grpc::Status TryRegister(const std::string& handle, uint32_t registration_id,
                           const std::string& invite) {
    std::string code = invite;
    if (invite.empty()) {
      auto enrolment = sotto::testing::IssueEnrolmentCode(server_->data_dir(), handle);
      EXPECT_TRUE(enrolment.ok()) << enrolment.status();
      code = enrolment.value_or("");
    }
    const v1::RegisterRequest req = sotto::testing::MakeRegisterRequest(
        handle, invite.empty() ? v1::ROLE_THERAPIST : v1::ROLE_CLIENT, code,
        std::string(32, '\x5a'), registration_id);
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline());
    v1::RegisterResponse resp;
    return accounts_->Register(&ctx, req, &resp);
  }

  Device Register(const std::string& handle, uint32_t registration_id, const std::string& invite) {
    grpc::Status s = TryRegister(handle, registration_id, invite);
    EXPECT_TRUE(s.ok()) << handle << ": " << s.error_message();
    return Device{handle, std::string(32, '\x5a'), registration_id};
  }

  // Sends message number `i` (16 KiB of incompressible bytes) from ana to
  // bob; on OK remembers it as acknowledged.
  grpc::Status Send(int i) {
    v1::SendRequest req;
    req.set_recipient("bob");
    req.set_message_id(absl::StrCat("msg-", 1000000 + i, "-......").substr(0, 16));
    auto* e = req.add_envelopes();
    e->set_device_id(1);
    e->set_registration_id(bob_.registration_id);
    e->set_type(v1::ENVELOPE_TYPE_PREKEY);
    e->set_ciphertext(Body(i));
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline());
    ctx.AddMetadata("authorization", ana_.Header());
    v1::SendResponse resp;
    grpc::Status s = messages_->Send(&ctx, req, &resp);
    if (s.ok()) acknowledged_[Body(i)] = i;
    return s;
  }

  static std::string Body(int i) {
    std::mt19937_64 rng(static_cast<uint64_t>(i) * 7919 + 1);
    // Long form: 60 KiB (under the 64 KiB envelope cap), so that a 400 MiB disk fills before the
    // queue's 10,000-envelope cap.
    std::string body(LongForm() ? 60 << 10 : 16 << 10, '\0');
    for (size_t k = 0; k < body.size(); k += 8) {
      const uint64_t r = rng();
      for (size_t b = 0; b < 8 && k + b < body.size(); ++b)
        body[k + b] = static_cast<char>(r >> (8 * b));
    }
    absl::StrAppend(&body, "#", i);
    return body;
  }

  // Sends from `next` on until the server refuses one; returns how many it
  // took. Every refusal must be the out-of-storage one.
  int SendUntilRefused(int& next, int max) {
    int taken = 0;
    for (; taken < max; ++taken) {
      grpc::Status s = Send(next++);
      if (!s.ok()) {
        ExpectOutOfStorage(s, absl::StrCat("Send ", next - 1));
        return taken;
      }
    }
    return taken;
  }

  // Every envelope in bob's queue, seq order.
  std::vector<v1::Envelope> FetchAll(grpc::Status* status) {
    std::vector<v1::Envelope> all;
    uint64_t after = 0;
    for (;;) {
      grpc::ClientContext ctx;
      ctx.set_deadline(Deadline());
      ctx.AddMetadata("authorization", bob_.Header());
      v1::FetchRequest req;
      req.set_after_seq(after);
      req.set_limit(1000);
      v1::FetchResponse resp;
      *status = messages_->Fetch(&ctx, req, &resp);
      if (!status->ok()) return all;
      for (const v1::Envelope& e : resp.envelopes()) all.push_back(e);
      if (!resp.more() || resp.envelopes().empty()) return all;
      after = resp.envelopes(resp.envelopes_size() - 1).seq();
    }
  }

  grpc::Status Ack(const std::vector<v1::Envelope>& envelopes, size_t from, size_t count) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline());
    ctx.AddMetadata("authorization", bob_.Header());
    v1::AckRequest req;
    for (size_t k = from; k < from + count && k < envelopes.size(); ++k) {
      req.add_seqs(envelopes[k].seq());
    }
    v1::AckResponse resp;
    grpc::Status s = messages_->Ack(&ctx, req, &resp);
    if (s.ok()) {
      for (size_t k = from; k < from + count && k < envelopes.size(); ++k) {
        acked_.push_back(envelopes[k].ciphertext());
      }
    }
    return s;
  }

  // Every acknowledged Send not acked since is in bob's queue exactly once,
  // and nothing else is.
  void ExpectEveryAcknowledgedOnce() {
    grpc::Status s;
    std::vector<v1::Envelope> all = FetchAll(&s);
    ASSERT_TRUE(s.ok()) << s.error_message();
    std::map<std::string, int> expected = acknowledged_;
    for (const std::string& gone : acked_) expected.erase(gone);
    std::map<std::string, int> seen;
    for (const v1::Envelope& e : all) ++seen[e.ciphertext()];
    for (const auto& [body, i] : expected) {
      EXPECT_EQ(seen[body], 1) << "acknowledged message " << i;
    }
    EXPECT_EQ(all.size(), expected.size()) << "the queue holds messages never acknowledged";
  }

  // Declared first: destroyed after the server has stopped.
  std::unique_ptr<SmallFileSystem> fs_;
  std::unique_ptr<sotto::testing::ServerProcess> server_;
  std::unique_ptr<v1::Accounts::Stub> accounts_;
  std::unique_ptr<v1::Messages::Stub> messages_;
  std::unique_ptr<v1::Care::Stub> care_;
  Device ana_;
  Device bob_;
  std::map<std::string, int> acknowledged_;  // body -> message number
  std::vector<std::string> acked_;           // bodies acked by bob
};

std::string BallastPath(const sotto::testing::ServerProcess& server) {
  return server.data_dir() + "/SOTTO-SPACE-BALLAST";
}

TEST_F(DiskFullTest, DiskFullCycleOnSmallFileSystem) {
  const bool long_form = LongForm();
  fs_ = std::make_unique<SmallFileSystem>();
  SmallFileSystem& fs = *fs_;
  if (std::string why = fs.Mount(long_form ? "400m" : "160m"); !why.empty()) {
    GTEST_SKIP() << "no small file system to fill (" << why
                 << "; needs root); ReserveCycleWithInjectedFreeSpace covers the logic";
  }
  const char* old_tmpdir = getenv("TMPDIR");
  const std::string saved_tmpdir = old_tmpdir != nullptr ? old_tmpdir : "";
  setenv("TMPDIR", fs.dir().c_str(), 1);
  StartServer(long_form ? "16" : "4");
  if (saved_tmpdir.empty())
    unsetenv("TMPDIR");
  else
    setenv("TMPDIR", saved_tmpdir.c_str(), 1);
  ASSERT_TRUE(server_->running());
  const std::string old_files = fs.dir() + "/old-files";
  const std::string filler = fs.dir() + "/filler";

  int next = 0;
  const int cycles = long_form ? 3 : 1;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    SCOPED_TRACE(absl::StrCat("cycle ", cycle));
    // Space the operator will free: old files of another program.
    // The short form leaves 12 MiB free (the 4 MiB reserve, the 1 MiB
    // ballast, ~7 MiB for Sends, each counted twice while RocksDB holds it
    // in memory: its log now and the table file its flush will write)
    // whatever RocksDB has preallocated for its log meanwhile: a fixed
    // 70 MiB on 100 MiB once left ~1 MiB on a busy machine, and the first
    // Send was already refused. On 160 MiB these old files still take the
    // 64 MiB RocksDB wants free before it resumes after an out-of-space
    // error.
    SmallFileSystem::Fill(
        old_files, long_form ? uint64_t{70} << 20 : BytesAbove(fs.dir(), uint64_t{12} << 20));
    const std::optional<std::string> early_invite = Invite();
    ASSERT_TRUE(early_invite.has_value());

    // Fill: Sends until the reserve refuses one.
    auto start = Clock::now();
    const int taken = SendUntilRefused(next, 1000000);
    const double fill_s = SecondsSince(start);
    ASSERT_GT(taken, 0);
    ASSERT_FALSE(Send(next++).ok()) << "a refusal must last while space is short";

    // Refused: everything that adds data.
    grpc::Status refused;
    EXPECT_FALSE(Invite(&refused).has_value());
    ExpectOutOfStorage(refused, "CreateInvite");
    ExpectOutOfStorage(TryRegister(absl::StrCat("carl", cycle), 33, *early_invite), "Register");

    // Drain: Fetch and Ack go on.
    grpc::Status fetched;
    std::vector<v1::Envelope> queued = FetchAll(&fetched);
    ASSERT_TRUE(fetched.ok()) << fetched.error_message();
    ASSERT_FALSE(queued.empty());
    grpc::Status acked = Ack(queued, 0, std::min<size_t>(500, queued.size() / 2));
    EXPECT_TRUE(acked.ok()) << acked.error_message();

    // Another program fills the rest of the disk: the server gives back its
    // ballast, and Acks still go through.
    const uint64_t filled = SmallFileSystem::Fill(filler);
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    EXPECT_FALSE(std::filesystem::exists(BallastPath(*server_)));
    acked = Ack(queued, acked_.size() % queued.size(), 20);
    queued = FetchAll(&fetched);
    EXPECT_TRUE(acked.ok()) << "Ack on a full disk: " << acked.error_message();

    // Restart while the disk is full: it comes up, serves Fetch, refuses
    // Sends.
    start = Clock::now();
    ASSERT_TRUE(Restart().ok()) << "a restart on a full disk must work";
    const double restart_s = SecondsSince(start);
    queued = FetchAll(&fetched);
    EXPECT_TRUE(fetched.ok()) << "Fetch after a restart on a full disk: "
                              << fetched.error_message();
    // Opening gives back what RocksDB had preallocated for its old log; the
    // other program takes that too.
    SmallFileSystem::Fill(filler);
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    ExpectOutOfStorage(Send(next++), "Send after a restart on a full disk");
    // The ballast went to the Acks before the restart and the other program
    // has every byte: an Ack may now be refused, but as a refusal.
    ASSERT_FALSE(queued.empty()) << "the test acks only part of the queue";
    acked = Ack(queued, acked_.size() % queued.size(), 20);
    if (!acked.ok()) ExpectOutOfStorage(acked, "Ack on a disk with no byte free");

    // The operator frees space: Sends are accepted again, no restart.
    std::filesystem::remove(filler);
    std::filesystem::remove(old_files);
    start = Clock::now();
    grpc::Status again;
    while (!(again = Send(next++)).ok() && SecondsSince(start) < 30) {
      ExpectOutOfStorage(again, "Send while recovering");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const double recover_s = SecondsSince(start);
    ASSERT_TRUE(again.ok()) << "no recovery within 30 s: " << again.error_message();
    ExpectEveryAcknowledgedOnce();
    printf(
        "disk-full cycle %d: %d Sends of %d KiB accepted in %.1f s before the reserve "
        "refused; filler took %.1f MiB more; restart on the full disk %.2f s; writes "
        "accepted %.2f s after space was freed; %zu acknowledged, %zu acked, all present "
        "exactly once\n",
        cycle, taken, long_form ? 60 : 16, fill_s, filled / 1048576.0, restart_s, recover_s,
        acknowledged_.size(), acked_.size());
  }
  EXPECT_TRUE(server_->Stop().ok()) << "the server must stop cleanly after the cycles";
}

// Without a reserve RocksDB itself meets the full disk: the Send that finds
// no room is refused as out of storage (no abort, no path) and Fetch goes
// on. RocksDB then refuses writes until its own recovery finds a write
// buffer's worth (64 MiB) free (it looks every 5 s), which its preallocated
// log may hide on a small disk; a restart always clears it. Either way,
// every acknowledged message is there exactly once afterwards.
TEST_F(DiskFullTest, WithoutAReserveRocksDbRunsOutAndIsRefusedCleanly) {
  fs_ = std::make_unique<SmallFileSystem>();
  SmallFileSystem& fs = *fs_;
  if (std::string why = fs.Mount("160m"); !why.empty()) {
    GTEST_SKIP() << "no small file system to fill (" << why << "; needs root)";
  }
  const char* old_tmpdir = getenv("TMPDIR");
  const std::string saved_tmpdir = old_tmpdir != nullptr ? old_tmpdir : "";
  setenv("TMPDIR", fs.dir().c_str(), 1);
  StartServer("0");
  if (saved_tmpdir.empty()) {
    unsetenv("TMPDIR");
  } else {
    setenv("TMPDIR", saved_tmpdir.c_str(), 1);
  }
  const std::string old_files = fs.dir() + "/old-files";
  SmallFileSystem::Fill(old_files, 100 << 20);
  int next = 0;
  ASSERT_GT(SendUntilRefused(next, 100000), 0);
  grpc::Status fetched;
  std::vector<v1::Envelope> queued = FetchAll(&fetched);
  EXPECT_TRUE(fetched.ok()) << "Fetch with RocksDB out of space: " << fetched.error_message();

  std::filesystem::remove(old_files);
  const auto start = Clock::now();
  grpc::Status again;
  while (!(again = Send(next++)).ok() && SecondsSince(start) < 12) {
    ExpectOutOfStorage(again, "Send while RocksDB is stopped");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (again.ok()) {
    printf("without a reserve: RocksDB took writes again %.2f s after space was freed\n",
           SecondsSince(start));
  } else {
    printf("without a reserve: RocksDB still stopped 12 s after space was freed; restarting\n");
    ASSERT_TRUE(Restart().ok());
    again = Send(next++);
    EXPECT_TRUE(again.ok()) << "a restart must clear RocksDB's stop: " << again.error_message();
  }
  ExpectEveryAcknowledgedOnce();
  EXPECT_TRUE(server_->Stop().ok());
}

// The same cycle on any file system: the server reads its free space from a
// file the test writes (the test-only SOTTO_TEST_FREE_BYTES_FILE).
TEST_F(DiskFullTest, ReserveCycleWithInjectedFreeSpace) {
  char dir[] = "/tmp/sotto-freebytes-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string free_file = std::string(dir) + "/free";
  auto set_free = [&](uint64_t bytes) { std::ofstream(free_file) << bytes << "\n"; };
  set_free(uint64_t{100} << 30);
  setenv("SOTTO_TEST_FREE_BYTES_FILE", free_file.c_str(), 1);
  StartServer("64");
  int next = 0;
  for (; next < 20; ++next) ASSERT_TRUE(Send(next).ok());
  EXPECT_TRUE(std::filesystem::exists(BallastPath(*server_))) << "a 16 MiB ballast is kept";
  const std::optional<std::string> early_invite = Invite();
  ASSERT_TRUE(early_invite.has_value());

  set_free(1000);
  auto start = Clock::now();
  grpc::Status s;
  while ((s = Send(next++)).ok() && SecondsSince(start) < 5) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ExpectOutOfStorage(s, "Send below the reserve");
  EXPECT_FALSE(std::filesystem::exists(BallastPath(*server_)))
      << "under half the reserve the ballast is given back";
  grpc::Status refused;
  EXPECT_FALSE(Invite(&refused).has_value());
  ExpectOutOfStorage(refused, "CreateInvite");
  ExpectOutOfStorage(TryRegister("carl", 33, *early_invite), "Register");
  grpc::Status fetched;
  std::vector<v1::Envelope> queued = FetchAll(&fetched);
  ASSERT_TRUE(fetched.ok()) << fetched.error_message();
  ASSERT_GE(queued.size(), 20u);
  grpc::Status acked = Ack(queued, 0, 5);
  EXPECT_TRUE(acked.ok()) << "Ack below the reserve: " << acked.error_message();

  ASSERT_TRUE(Restart().ok()) << "a restart below the reserve must work";
  queued = FetchAll(&fetched);
  EXPECT_TRUE(fetched.ok()) << fetched.error_message();
  ExpectOutOfStorage(Send(next++), "Send after a restart below the reserve");

  set_free(uint64_t{100} << 30);
  start = Clock::now();
  while (!(s = Send(next++)).ok() && SecondsSince(start) < 5) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(s.ok()) << "writes must be accepted again without a restart: " << s.error_message();
  EXPECT_TRUE(Invite().has_value());
  EXPECT_TRUE(std::filesystem::exists(BallastPath(*server_))) << "the ballast is made again";
  ExpectEveryAcknowledgedOnce();
  EXPECT_TRUE(server_->Stop().ok());
  unsetenv("SOTTO_TEST_FREE_BYTES_FILE");
  std::filesystem::remove_all(dir);
}

}  // namespace

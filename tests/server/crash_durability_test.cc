// An acknowledged Send survives the server being killed right after it
// replies: the real sotto-server binary, SIGKILL, restart on the same data.
// On RocksDB, and on PostgreSQL (--store postgres://) with the database
// crashed too.

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sotto/authorization.h"
#include "sotto/v1/accounts.grpc.pb.h"
#include "sotto/v1/care.grpc.pb.h"
#include "sotto/v1/messages.grpc.pb.h"
#include "testing/postgres_instance.h"
#include "testing/register_request.h"
#include "testing/server_process.h"

namespace {

namespace v1 = ::sotto::v1;

struct Device {
  std::string handle;
  std::string secret = std::string(32, '\x5a');
  uint32_t registration_id = 0;
  std::string Header() const { return sotto::AuthorizationValue(handle, 1, secret); }
};

class CrashDurabilityTest : public ::testing::Test {
 protected:
  void Connect() {
    auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    accounts_ = v1::Accounts::NewStub(channel);
    messages_ = v1::Messages::NewStub(channel);
  }

  Device Register(const std::string& handle, uint32_t registration_id) {
    Device d{handle};
    d.registration_id = registration_id;
    std::string code;
    if (therapist_header_.empty()) {
      // The first user is the therapist, enrolled through the operator
      // socket of the running server; the others are their invited clients.
      code = EnrolmentCode(handle);
    } else {
      code = sotto::testing::CreateInviteCode(
          grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()),
          therapist_header_);
    }
    const v1::RegisterRequest req = sotto::testing::MakeRegisterRequest(
        handle, therapist_header_.empty() ? v1::ROLE_THERAPIST : v1::ROLE_CLIENT, code, d.secret,
        registration_id);
    grpc::ClientContext ctx;
    v1::RegisterResponse resp;
    grpc::Status s = accounts_->Register(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (therapist_header_.empty()) therapist_header_ = d.Header();
    return d;
  }

  // `sotto-server enrol-therapist --quiet` against the running server.
  std::string EnrolmentCode(const std::string& handle) {
    std::string cmd = std::string(SOTTO_SERVER_BINARY) + " enrol-therapist --quiet --data-dir " +
                      server_->data_dir() + " --name " + handle;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) return "";
    char buf[128] = {0};
    std::string out = fgets(buf, sizeof(buf), pipe) != nullptr ? buf : "";
    pclose(pipe);
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  void SendKillRestartFetch(std::vector<std::string> server_args,
                            const std::function<void()>& crash_storage);

  std::string therapist_header_;

  std::unique_ptr<sotto::testing::ServerProcess> server_;
  std::unique_ptr<v1::Accounts::Stub> accounts_;
  std::unique_ptr<v1::Messages::Stub> messages_;
};

// Registers two users, sends kMessages, SIGKILLs the server right after
// the last reply, runs `crash_storage`, restarts and fetches every one.
void CrashDurabilityTest::SendKillRestartFetch(std::vector<std::string> server_args,
                                               const std::function<void()>& crash_storage) {
  auto started = sotto::testing::ServerProcess::Start(sotto::testing::ServerProcess::kDefaultBinary,
                                                      std::move(server_args));
  ASSERT_TRUE(started.ok()) << started.status();
  server_ = *std::move(started);
  Connect();
  Device ana = Register("ana", 11);
  Device bob = Register("bob", 22);

  constexpr int kMessages = 20;
  auto send = [&](int i) {
    v1::SendRequest req;
    req.set_recipient("bob");
    req.set_message_id(std::string(15, 'm') + static_cast<char>(i));
    auto* e = req.add_envelopes();
    e->set_device_id(1);
    e->set_registration_id(bob.registration_id);
    e->set_type(v1::ENVELOPE_TYPE_PREKEY);
    e->set_ciphertext(absl::StrCat("ciphertext ", i));
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", ana.Header());
    v1::SendResponse resp;
    return messages_->Send(&ctx, req, &resp);
  };
  for (int i = 0; i < kMessages; ++i) {
    grpc::Status s = send(i);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // Right after the last reply: no graceful shutdown, no flush.
  server_->Kill();
  crash_storage();

  ASSERT_TRUE(server_->Restart().ok());
  Connect();
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", bob.Header());
  v1::FetchResponse fetched;
  grpc::Status s = messages_->Fetch(&ctx, v1::FetchRequest(), &fetched);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(fetched.envelopes_size(), kMessages);
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_EQ(fetched.envelopes(i).ciphertext(), absl::StrCat("ciphertext ", i));
    EXPECT_EQ(fetched.envelopes(i).sender(), "ana");
  }
  // After the restart no seq handed out before it is given out again (a
  // device may have seen one whose write a power failure lost).
  const uint64_t last_before = fetched.envelopes(kMessages - 1).seq();
  ASSERT_TRUE(send(kMessages).ok());
  grpc::ClientContext after_ctx;
  after_ctx.AddMetadata("authorization", bob.Header());
  v1::FetchRequest after;
  after.set_after_seq(last_before);
  v1::FetchResponse newer;
  ASSERT_TRUE(messages_->Fetch(&after_ctx, after, &newer).ok());
  ASSERT_EQ(newer.envelopes_size(), 1);
  EXPECT_GT(newer.envelopes(0).seq(), last_before + (1u << 20))
      << "the restart must move the queue past every earlier seq";
  EXPECT_TRUE(server_->Stop().ok());
}

TEST_F(CrashDurabilityTest, AcknowledgedSendSurvivesSigkill) {
  SendKillRestartFetch({}, [] {});
}

// The database crashes too (immediate shutdown: no checkpoint, its WAL
// buffers lost, recovery from the WAL at start). A Send is acknowledged
// only after a synchronous commit covered it (PostgresStore::SyncLog), so
// every acknowledged one comes back; the server reconnects by itself.
TEST_F(CrashDurabilityTest, AcknowledgedSendSurvivesSigkillOnPostgres) {
  auto pg = sotto::testing::PostgresInstance::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  SendKillRestartFetch({"--store", (*pg)->url()}, [&pg] {
    absl::Status crashed = (*pg)->CrashAndRestart();
    ASSERT_TRUE(crashed.ok()) << crashed;
  });
  EXPECT_FALSE(std::filesystem::exists(server_->data_dir() + "/CURRENT"))
      << "with --store postgres:// no RocksDB may be made in the data directory";
}

}  // namespace

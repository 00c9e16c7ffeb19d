// What a profile's files give away, and what someone who can write them can
// do (issue 22): real profiles in profile directories (RocksDB sealed under
// the passphrase), the real server.
//  - No file names a message id (which the server stores too) or a peer's
//    handle, after history, receipts, a retried unsent message, a forgotten
//    refused one and a cancellation by id prefix all went through.
//  - A trust row deleted with raw RocksDB access stops the profile from
//    opening, instead of the next key looking like a first contact.
//  - Lock wipes and drops the device secret.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "client-lib/profile/profile_session.h"
#include "client-lib/profile/registration.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile_pair.h"
#include "rocksdb/db.h"
#include "sotto/client.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto {
namespace {

using ::sotto::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

class LocalStorePrivacyTest : public sotto::testing::ProfilePairTest {
 protected:
  // Restarts the server on its address and waits until the client reaches
  // it again (gRPC reconnects with a backoff of up to 2 s).
  void RestartServer() {
    ASSERT_OK(server_->Restart(/*same_address=*/true));
    const absl::Time give_up = absl::Now() + absl::Seconds(15);
    absl::Status reached = client_->ListLinks().status();
    while (!reached.ok() && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(100));
      reached = client_->ListLinks().status();
    }
    ASSERT_OK(reached);
  }
};

TEST_F(LocalStorePrivacyTest, ProfileFilesNameNoMessageIdAndNoPeer) {
  std::vector<std::string> ids;  // hex
  // A message, delivered and read: receipts find it through the id index.
  ASSERT_OK_AND_ASSIGN(SendResult first, client_->SendText(kTherapist, "hello"));
  ids.push_back(first.message.id);
  ASSERT_OK(therapist_->Sync());
  ASSERT_OK(therapist_->ReadConversation(kClient).status());
  ASSERT_OK(therapist_->Sync());  // sends the read receipt
  ASSERT_OK_AND_ASSIGN(SendResult reply, therapist_->SendText(kClient, "hello to you"));
  ids.push_back(reply.message.id);
  ASSERT_OK(client_->Sync());
  ASSERT_OK_AND_ASSIGN(std::vector<Message> history, client_->ReadConversation(kTherapist));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].state, DeliveryState::kRead);

  // Written while the server is down, kept as not sent, retried.
  ASSERT_OK(server_->Stop());
  absl::StatusOr<SendResult> offline = client_->SendText(kTherapist, "written offline");
  EXPECT_FALSE(offline.ok());
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  ASSERT_OK_AND_ASSIGN(int resent, client_->RetryUnsent());
  EXPECT_EQ(resent, 1);
  ASSERT_OK_AND_ASSIGN(history, client_->ReadConversation(kTherapist));
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[2].text, "written offline");
  EXPECT_EQ(history[2].state, DeliveryState::kSent);
  ids.push_back(history[2].id);

  // Held for later, then cancelled by a prefix of its id.
  ASSERT_OK_AND_ASSIGN(SendResult held,
                       client_->SendText(kTherapist, "for later", {absl::Now() + absl::Hours(2)}));
  ids.push_back(held.message.id);
  ASSERT_OK(client_->CancelScheduled(held.message.id.substr(0, 8)));
  ASSERT_OK_AND_ASSIGN(history, client_->ReadConversation(kTherapist));
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[3].state, DeliveryState::kCancelled);

  // Refused on the spot (no care link): forgotten again.
  ASSERT_OK_AND_ASSIGN(std::string code, sotto::testing::EnrolmentCode(*server_, "dr-other"));
  RegisterOptions other = Options(dir_.sub("other"));
  other.handle = "dr-other";
  other.role = Role::kTherapist;
  other.enrolment_code = code;
  ASSERT_OK(Client::Register(other).status());
  EXPECT_FALSE(client_->SendText("dr-other", "are you taking clients?").ok());
  EXPECT_THAT(client_->ReadConversation("dr-other"), StatusIs(absl::StatusCode::kNotFound));

  // Closed and opened once more, so the write-ahead log went into table
  // files too: both forms are scanned.
  therapist_.reset();
  client_.reset();
  ASSERT_OK(Reopen(client_dir()).status());
  ASSERT_OK(Reopen(therapist_dir()).status());
  for (const std::string& dir : {client_dir(), therapist_dir()}) {
    const auto files = sotto::testing::ReadFilesUnder(dir);
    std::string all;
    for (const auto& [name, bytes] : files) all += bytes;
    // The scan reads the store: its unencrypted header is there.
    ASSERT_NE(all.find("SOTTO-LS"), std::string::npos) << dir;
    for (const auto& [name, bytes] : files) {
      for (const std::string& id : ids) {
        EXPECT_EQ(bytes.find(absl::HexStringToBytes(id)), std::string::npos)
            << "message id " << id << " in " << name;
        EXPECT_EQ(bytes.find(id), std::string::npos) << "hex id " << id << " in " << name;
      }
      EXPECT_EQ(bytes.find(kTherapist), std::string::npos) << name;
      EXPECT_EQ(bytes.find(kClient), std::string::npos) << name;
      EXPECT_EQ(bytes.find("dr-other"), std::string::npos) << name;
    }
  }
}

TEST_F(LocalStorePrivacyTest, ATrustRowDeletedBehindTheClientsBackStopsTheProfileOpening) {
  ASSERT_OK(client_->SendText(kTherapist, "hello").status());
  client_.reset();
  {
    // Someone with write access to the files deletes the therapist's
    // trusted identity key, hoping the next key is taken as a first contact.
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), client_dir(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    int deleted = 0;
    const std::string trust(1, static_cast<char>(client::storage::Space::kTrust));
    for (it->Seek(trust); it->Valid() && it->key().starts_with(trust); it->Next()) {
      ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), it->key()).ok());
      ++deleted;
    }
    ASSERT_GT(deleted, 0);
  }
  EXPECT_THAT(Reopen(client_dir()),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("changed outside Sotto"), HasSubstr("kTrust"),
                             HasSubstr("deleted"), HasSubstr(client_dir()))));
}

TEST_F(LocalStorePrivacyTest, LockWipesAndDropsTheDeviceSecret) {
  client_.reset();
  ASSERT_OK_AND_ASSIGN(auto store, client::storage::OpenEncryptedStore(client_dir(), kPassphrase));
  ASSERT_OK_AND_ASSIGN(auto session,
                       client::OpenProfile(std::move(store), "", {}, /*clock=*/nullptr));
  session->EnableLocking(client_dir(), absl::InfiniteDuration());
  EXPECT_EQ(session->profile().device_secret().size(), 32u);
  EXPECT_TRUE(session->connection().HasCredentials());
  ASSERT_OK(session->connection().WhoAmI().status());

  ASSERT_OK(session->Lock());
  EXPECT_TRUE(session->profile().device_secret().empty());
  EXPECT_FALSE(session->connection().HasCredentials());
  // Nothing left to authenticate with: the server refuses the call.
  EXPECT_THAT(session->connection().WhoAmI(), StatusIs(absl::StatusCode::kUnauthenticated));

  ASSERT_OK(session->Unlock(kPassphrase));
  EXPECT_EQ(session->profile().device_secret().size(), 32u);
  EXPECT_TRUE(session->connection().HasCredentials());
  ASSERT_OK(session->connection().WhoAmI().status());
}

}  // namespace
}  // namespace sotto

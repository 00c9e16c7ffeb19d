// History transfer (issue 16) through the real server binary, real
// profiles and real RocksDB: a therapist links a second device and sends
// 10,000 messages of history along; the new device ends up with every one
// of them identical (id, times, direction, kind, subject, thread, delivery
// state, text); the archive is gone from the server once fetched; a
// damaged archive leaves the new device joined, usable and without a
// single message from it; and no plaintext of the history reaches the
// server's data directory while the archive waits there or after.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client-lib/history/history_book.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "linked_devices_fixture.h"
#include "profile_pair.h"
#include "server/storage/postgres_store.h"
#include "server/storage/rocksdb_store.h"
#include "sotto/devices.h"
#include "store_switch_store.h"
#include "testing/files.h"
#include "testing/status_matchers.h"

namespace sotto {
namespace {

using ::sotto::server::KeyValue;
using ::sotto::testing::OpenServerStore;
using ::sotto::testing::ReadEverything;
using ::sotto::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kOtherPeer[] = "alex-seeded";

// One line per message holding everything a user sees of it.
std::string Describe(const Message& m) {
  return absl::StrCat(m.id, "|", m.peer, "|", m.outgoing ? "out" : "in", "|",
                      static_cast<int>(m.kind), "|", m.subject, "|", m.text, "|", m.in_reply_to,
                      "|", m.thread_id, "|", m.server_time_ms, "|", m.sent_at_ms, "|",
                      DeliveryStateName(m.state), "|", m.failure);
}

class HistoryTransferTest : public LinkedDevicesTest {
 protected:
  void SetUp() override {
    ProfilePairTest::SetUp();
    word_ = absl::BytesToHexString(absl::StrCat("hx", absl::ToUnixNanos(absl::Now())));
  }

  // Adds `n` messages to the therapist's history directly in its store
  // (sending 10,000 through the server would test the server, not the
  // transfer): texts and letters, both directions, replies in threads,
  // every delivery state, some read. Each carries word_.
  void SeedTherapistHistory(int n) {
    therapist_.reset();
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<client::storage::LocalStore> store,
                         client::storage::OpenEncryptedStore(therapist_dir(), kPassphrase));
    std::string previous_letter;
    store->BeginDeferredSync();
    for (int i = 0; i < n; ++i) {
      client::StoredMessage m;
      std::string id(16, '\0');
      for (int b = 0; b < 4; ++b) id[b] = static_cast<char>((i >> (8 * b)) & 0xff);
      id[15] = 0x5e;
      m.set_message_id(id);
      m.set_peer(i % 3 == 0 ? kOtherPeer : kClient);
      m.set_outgoing(i % 2 == 0);
      m.set_server_time_ms(1'700'000'000'000 + i * 1000LL);
      m.mutable_content()->set_sent_at_ms(1'700'000'000'000 + i * 1000LL - 7);
      if (i % 5 == 0) {
        auto* letter = m.mutable_content()->mutable_letter();
        letter->set_subject(absl::StrCat("session notes ", i));
        letter->set_body(absl::StrCat("letter ", i, " ", word_));
        if (!previous_letter.empty() && i % 10 == 0) {
          letter->set_in_reply_to(previous_letter);
          letter->set_thread_id(previous_letter);
        }
        previous_letter = id;
      } else {
        m.mutable_content()->mutable_text()->set_body(absl::StrCat("text ", i, " ", word_));
      }
      if (m.outgoing()) {
        m.set_state(i % 4);  // sent, delivered, read, scheduled…
        if (i % 14 == 0) {
          m.set_state(static_cast<int>(DeliveryState::kNotSent));
          m.set_failure("the server could not be reached");
        }
      } else {
        m.set_read(i % 7 != 0);
      }
      ASSERT_OK_AND_ASSIGN(std::vector<client::storage::Write> writes,
                           client::history::HistoryWrites(*store, m));
      ASSERT_OK(store->Apply(writes));
    }
    ASSERT_OK(store->EndDeferredSync());
    store.reset();
    ASSERT_OK_AND_ASSIGN(therapist_, Reopen(therapist_dir()));
  }

  // The therapist's LinkDevice with history, on a thread (Joining is the
  // linked-devices fixture's).
  struct Linking {
    absl::Notification shown;
    std::string code;
    absl::Status result;
    std::vector<HistoryProgress> progress;
    std::thread thread;
  };
  std::unique_ptr<Linking> StartLinking() {
    auto linking = std::make_unique<Linking>();
    Linking* l = linking.get();
    Client* from = therapist_.get();
    l->thread = std::thread([from, l] {
      LinkDeviceOptions options;
      options.poll_interval = absl::Milliseconds(20);
      options.include_history = true;
      options.on_history_progress = [l](const HistoryProgress& p) { l->progress.push_back(p); };
      options.on_code = [l](const std::string& code, absl::Time) {
        l->code = code;
        l->shown.Notify();
      };
      l->result = from->LinkDevice(options);
      if (!l->shown.HasBeenNotified()) l->shown.Notify();
    });
    l->shown.WaitForNotification();
    return linking;
  }

  static std::vector<std::string> All(Client& c) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<Conversation>> conversations = c.ListConversations();
    EXPECT_OK(conversations.status());
    if (!conversations.ok()) return out;
    for (const Conversation& conv : *conversations) {
      absl::StatusOr<std::vector<Message>> messages = c.ReadConversation(conv.peer);
      EXPECT_OK(messages.status());
      if (!messages.ok()) continue;
      for (const Message& m : *messages) out.push_back(Describe(m));
    }
    return out;
  }

  // Every byte the server stored: its data directory, and PostgreSQL's
  // tables and WAL when it stores there.
  std::string ServerBytes() const {
    std::string all = ReadEverything(server_->data_dir());
    if (server_->postgres() != nullptr) all += ReadEverything(server_->postgres()->data_dir());
    return all;
  }

  // The archive chunks in the server's store (history_transfers.h): read
  // through a read-only open of its RocksDB, which the running server
  // allows, or a connection of our own to its PostgreSQL.
  std::vector<KeyValue> ArchiveChunks() const {
    absl::StatusOr<std::unique_ptr<server::Store>> store;
    if (server_->postgres() != nullptr) {
      store = server::OpenPostgresStore(server_->postgres()->url());
    } else {
      server::RocksDbStoreOptions read_only;
      read_only.read_only = true;
      store = server::OpenRocksDbStore(server_->data_dir(), read_only);
    }
    EXPECT_OK(store.status());
    if (!store.ok()) return {};
    auto rows = (*store)->Scan(server::Table::kHistoryChunks, "", "", 100000);
    EXPECT_OK(rows.status());
    return rows.ok() ? *std::move(rows) : std::vector<KeyValue>();
  }

  std::string word_;
};

TEST_F(HistoryTransferTest, TenThousandMessagesArriveIdenticalAndTheArchiveIsGone) {
  ASSERT_OK(client_->SendText(kTherapist, absl::StrCat("hello ", word_)).status());
  ASSERT_OK(therapist_->Sync().status());
  SeedTherapistHistory(10000);
  // What the therapist's device shows, before any of it is read again.
  std::unique_ptr<Linking> linking = StartLinking();
  std::vector<HistoryProgress> joined_progress;
  JoinOptions join = Joining(linking->code, dir_.sub("t2"));
  join.on_history_progress = [&](const HistoryProgress& p) { joined_progress.push_back(p); };
  absl::StatusOr<JoinResult> joined = Client::JoinWithLinkCode(join);
  linking->thread.join();
  ASSERT_OK(linking->result);
  ASSERT_OK(joined.status());
  ASSERT_OK(joined->history_status);
  EXPECT_EQ(joined->history_messages, 10001u);

  // Progress went forward on both ends and ended at the whole.
  ASSERT_FALSE(linking->progress.empty());
  EXPECT_EQ(linking->progress.back().messages, 10001u);
  EXPECT_GT(linking->progress.back().bytes, 0u);
  ASSERT_FALSE(joined_progress.empty());
  EXPECT_EQ(joined_progress.front().stage, HistoryProgress::Stage::kDownloading);
  EXPECT_EQ(joined_progress.back().stage, HistoryProgress::Stage::kImporting);
  EXPECT_EQ(joined_progress.back().messages, 10001u);
  EXPECT_EQ(joined_progress.back().bytes, linking->progress.back().bytes);

  // Every message, identical, in the same conversations and order.
  std::vector<std::string> old_device = All(*therapist_);
  std::vector<std::string> new_device = All(*joined->client);
  ASSERT_EQ(old_device.size(), 10001u);
  EXPECT_EQ(new_device, old_device);

  // Fetched once, then gone from the server.
  EXPECT_TRUE(ArchiveChunks().empty());
  EXPECT_THAT(joined->client->ReceiveHistory(*joined->history, {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("fetched already")));
  // And the new device works: it receives the client's next message.
  ASSERT_OK(client_->SendText(kTherapist, "after the transfer").status());
  ASSERT_OK_AND_ASSIGN(SyncStats got, joined->client->Sync());
  EXPECT_EQ(got.received, 1);
  EXPECT_EQ(ServerBytes().find(word_), std::string::npos);
}

TEST_F(HistoryTransferTest, ADamagedArchiveAddsNothingAndLeavesTheDeviceJoined) {
  ASSERT_OK(client_->SendText(kTherapist, absl::StrCat("hello ", word_)).status());
  ASSERT_OK(therapist_->Sync().status());
  SeedTherapistHistory(300);
  std::unique_ptr<Linking> linking = StartLinking();
  JoinOptions join = Joining(linking->code, dir_.sub("t2"));
  join.receive_history = false;
  absl::StatusOr<JoinResult> joined = Client::JoinWithLinkCode(join);
  linking->thread.join();
  ASSERT_OK(linking->result);
  ASSERT_OK(joined.status());
  ASSERT_TRUE(joined->history.has_value());
  EXPECT_EQ(joined->history_messages, 0u);

  // The archive waits on the server: ciphertext there, no plaintext.
  std::vector<KeyValue> chunks = ArchiveChunks();
  ASSERT_FALSE(chunks.empty());
  size_t bytes = 0;
  for (const KeyValue& chunk : chunks) bytes += chunk.value.size();
  ASSERT_GT(bytes, 300u * 20);
  EXPECT_EQ(ServerBytes().find(word_), std::string::npos);

  // The server (or the disk) flips one bit in the middle of the archive:
  // stopped, its store opened and one chunk rewritten, started again where
  // it listened.
  ASSERT_OK(server_->Stop());
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<server::Store> store, OpenServerStore(*server_));
    KeyValue& middle = chunks[chunks.size() / 2];
    middle.value[middle.value.size() / 2] ^= 0x10;
    server::WriteBatch batch;
    batch.Put(server::Table::kHistoryChunks, middle.key, middle.value);
    ASSERT_OK(store->Write(batch, server::Durability::kSynced));
  }
  ASSERT_OK(server_->Restart(/*same_address=*/true));
  std::vector<HistoryProgress> progress;
  EXPECT_THAT(joined->client->ReceiveHistory(
                  *joined->history, [&](const HistoryProgress& p) { progress.push_back(p); }),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("history archive")));
  // Nothing of it was added; the device is joined and usable.
  for (const HistoryProgress& p : progress) EXPECT_NE(p.stage, HistoryProgress::Stage::kImporting);
  ASSERT_OK_AND_ASSIGN(std::vector<Conversation> none, joined->client->ListConversations());
  EXPECT_TRUE(none.empty());
  ASSERT_OK(client_->SendText(kTherapist, "still there?").status());
  ASSERT_OK_AND_ASSIGN(SyncStats got, joined->client->Sync());
  EXPECT_EQ(got.received, 1);
  EXPECT_TRUE(ArchiveChunks().empty());
}

TEST_F(HistoryTransferTest, AWrongKeyIsRefusedAndAnotherAccountCannotFetchTheArchive) {
  SeedTherapistHistory(50);
  std::unique_ptr<Linking> linking = StartLinking();
  JoinOptions join = Joining(linking->code, dir_.sub("t2"));
  join.receive_history = false;
  absl::StatusOr<JoinResult> joined = Client::JoinWithLinkCode(join);
  linking->thread.join();
  ASSERT_OK(joined.status());
  ASSERT_TRUE(joined->history.has_value());
  // The client's account cannot fetch the therapist's archive: for it,
  // there is none.
  EXPECT_THAT(client_->ReceiveHistory(*joined->history, {}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(ArchiveChunks().size(), 1u);
  // The same archive under another key does not open (a key mixed up, or
  // an archive swapped by the server).
  HistoryTicket wrong = *joined->history;
  wrong.key[0] ^= 1;
  EXPECT_THAT(joined->client->ReceiveHistory(wrong, {}),
              StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_OK_AND_ASSIGN(std::vector<Conversation> none, joined->client->ListConversations());
  EXPECT_TRUE(none.empty());
}

// Peak resident memory (kB) since the last ResetPeakRss.
long PeakRssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// The transfer of a long history, timed. In every run with 300;
// docs/BENCHMARKS.md's figures with SOTTO_TRANSFER_BENCH_MESSAGES=10000 and
// 100000. Both ends run in this process (the existing device on a thread),
// so the peak RSS growth covers upload, download and import together.
TEST_F(HistoryTransferTest, Bench) {
  const char* env = std::getenv("SOTTO_TRANSFER_BENCH_MESSAGES");
  const int n = env != nullptr ? std::atoi(env) : 300;
  ASSERT_GT(n, 0) << "SOTTO_TRANSFER_BENCH_MESSAGES must be a positive count";
  SeedTherapistHistory(n);
  ResetPeakRss();
  const long base = PeakRssKb();
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Linking> linking = StartLinking();
  JoinOptions join = Joining(linking->code, dir_.sub("t2"));
  absl::StatusOr<JoinResult> joined = Client::JoinWithLinkCode(join);
  linking->thread.join();
  const auto t1 = std::chrono::steady_clock::now();
  const long peak = PeakRssKb();
  ASSERT_OK(linking->result);
  ASSERT_OK(joined.status());
  ASSERT_OK(joined->history_status);
  EXPECT_EQ(joined->history_messages, static_cast<uint64_t>(n));
  const uint64_t bytes = linking->progress.empty() ? 0 : linking->progress.back().bytes;
  std::printf(
      "BENCH messages=%d archive_bytes=%llu link_and_transfer_ms=%lld "
      "peak_rss_growth_kb=%ld (process rss before: %ld kB)\n",
      n, static_cast<unsigned long long>(bytes),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count()),
      peak - base, base);
}

}  // namespace
}  // namespace sotto

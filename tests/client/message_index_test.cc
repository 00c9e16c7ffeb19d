// Message ids in the local store's keys are blinded (issue 22): the server
// keeps the same ids, so raw keys would link the device's files to its
// records. A profile written with raw-id keys is moved over once.

#include <sodium.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "client-lib/history/history_book.h"
#include "client-lib/storage/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client::history {
namespace {

using storage::Space;
using storage::Write;
using v1::content::Receipt;

std::string RandomId() {
  std::string id(16, '\0');
  randombytes_buf(id.data(), id.size());
  return id;
}

std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

StoredMessage Message(const std::string& id, bool outgoing, uint64_t seq) {
  StoredMessage m;
  m.set_message_id(id);
  m.set_peer("dr-rivera-okafor");
  m.set_outgoing(outgoing);
  m.set_local_seq(seq);
  m.mutable_content()->mutable_text()->set_body("hello");
  return m;
}

// Every key of `space`.
std::vector<std::string> Keys(storage::LocalStore& store, Space space) {
  std::vector<std::string> keys;
  auto entries = store.Scan(space, "");
  EXPECT_TRUE(entries.ok());
  if (entries.ok()) {
    for (const auto& e : *entries) keys.push_back(e.key);
  }
  return keys;
}

class MessageIndexTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }
  std::unique_ptr<storage::LocalStore> store_ = storage::NewMemoryStore();
};

TEST_F(MessageIndexTest, AMessagesIdIsAKeyOnlyBlinded) {
  const std::string id = RandomId();
  StoredMessage m = Message(id, /*outgoing=*/true, 0);
  ASSERT_OK_AND_ASSIGN(std::vector<Write> writes, HistoryWrites(*store_, m));
  ASSERT_OK(store_->Apply(writes));
  EXPECT_THAT(Keys(*store_, Space::kMessageIndex),
              ::testing::ElementsAre(MessageIdKey(*store_, id)));
  EXPECT_NE(MessageIdKey(*store_, id), id);
  // A handle never blinds like an id, nor an id like a handle.
  EXPECT_NE(MessageIdKey(*store_, id), store_->Blind(id));
  ASSERT_OK_AND_ASSIGN(auto found, FindMessage(*store_, absl::BytesToHexString(id).substr(0, 7)));
  EXPECT_EQ(found.second.message_id(), id);
}

TEST_F(MessageIndexTest, AProfileWithRawIdKeysIsMovedOverOnceAndStillFindsEverything) {
  // The layout before issue 22: raw ids as kMessageIndex and kUnsent keys.
  const std::string sent_id = RandomId();
  const std::string unsent_id = RandomId();
  const std::string blinded_peer = store_->Blind("dr-rivera-okafor");
  const std::string sent_key = blinded_peer + BigEndian64(1);
  const std::string unsent_key = blinded_peer + BigEndian64(2);
  // A peer reused our id: the old index named ours, and that must stand.
  const std::string echo_key = blinded_peer + BigEndian64(3);
  UnsentMessage unsent;
  unsent.set_history_key(unsent_key);
  ASSERT_OK(store_->Apply({
      {Space::kHistory, sent_key, Message(sent_id, true, 1).SerializeAsString()},
      {Space::kHistory, unsent_key, Message(unsent_id, true, 2).SerializeAsString()},
      {Space::kHistory, echo_key, Message(sent_id, false, 3).SerializeAsString()},
      {Space::kMessageIndex, sent_id, sent_key},
      {Space::kMessageIndex, unsent_id, unsent_key},
      {Space::kUnsent, unsent_id, unsent.SerializeAsString()},
      {Space::kMeta, "message_index_ready", "1"},
  }));

  ASSERT_OK(BuildMessageIndex(*store_));

  for (Space space : {Space::kMessageIndex, Space::kUnsent}) {
    for (const std::string& key : Keys(*store_, space)) {
      EXPECT_NE(key, sent_id) << SpaceName(space);
      EXPECT_NE(key, unsent_id) << SpaceName(space);
    }
  }
  EXPECT_EQ(Keys(*store_, Space::kMessageIndex).size(), 2u);
  ASSERT_OK_AND_ASSIGN(auto record, LoadProto<UnsentMessage>(*store_, Space::kUnsent,
                                                             MessageIdKey(*store_, unsent_id)));
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->message_id(), unsent_id);
  EXPECT_EQ(record->history_key(), unsent_key);

  ASSERT_OK_AND_ASSIGN(auto found,
                       FindMessage(*store_, absl::BytesToHexString(unsent_id).substr(0, 10)));
  EXPECT_EQ(found.first, unsent_key);
  // A receipt for our message reaches ours, not the peer's echo of its id.
  Receipt receipt;
  receipt.set_type(Receipt::DELIVERED);
  receipt.add_message_ids(sent_id);
  ASSERT_OK_AND_ASSIGN(std::vector<Write> writes,
                       ReceiptWrites(*store_, "dr-rivera-okafor", receipt));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].key, sent_key);

  // Once only: a second run changes nothing.
  const auto before = Keys(*store_, Space::kMessageIndex);
  ASSERT_OK(BuildMessageIndex(*store_));
  EXPECT_EQ(Keys(*store_, Space::kMessageIndex), before);
}

TEST_F(MessageIndexTest, ForgettingAMessageRemovesItsBlindedIndexEntry) {
  const std::string id = RandomId();
  StoredMessage m = Message(id, /*outgoing=*/true, 0);
  std::string history_key;
  ASSERT_OK_AND_ASSIGN(std::vector<Write> writes, HistoryWrites(*store_, m, &history_key));
  ASSERT_OK(store_->Apply(writes));
  ASSERT_OK_AND_ASSIGN(writes, ForgetWrites(*store_, history_key, m));
  ASSERT_OK(store_->Apply(writes));
  EXPECT_TRUE(Keys(*store_, Space::kMessageIndex).empty());
  EXPECT_TRUE(Keys(*store_, Space::kHistory).empty());
}

}  // namespace
}  // namespace sotto::client::history

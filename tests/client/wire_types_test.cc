// Handles in the server's answers are checked where they leave the wire type
// (client-lib/convert/wire_types.h): a breached server cannot hand the app a
// "handle" carrying a terminal escape or a bidi control (issue 22).

#include "client-lib/convert/wire_types.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace sotto::client {
namespace {

using ::sotto::testing::IsOk;
using ::sotto::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kEscape[] = "dr-rivera\x1b[2J";       // clears the screen
constexpr char kArabicMark[] = "dr-rivera\xD8\x9C";  // U+061C
constexpr char kOverride[] =
    "kim\xE2\x80\xAE"
    "evil";  // U+202E

v1::ListLinksResponse Links(const std::string& peer, const std::string& ended_by = "") {
  v1::ListLinksResponse response;
  v1::CareLink* link = response.add_links();
  link->set_peer("sam-client");
  link->set_state(v1::LINK_ACTIVE);
  link = response.add_links();
  link->set_peer(peer);
  link->set_state(ended_by.empty() ? v1::LINK_ACTIVE : v1::LINK_ENDED);
  link->set_ended_by(ended_by);
  return response;
}

v1::ListQueueResponse Queue(const std::string& client, const std::string& claimed_by = "") {
  v1::ListQueueResponse response;
  response.set_now_ms(42);
  v1::QueueEntry* entry = response.add_entries();
  entry->set_client(client);
  entry->set_claimed_by(claimed_by);
  entry->set_waiting_count(3);
  return response;
}

TEST(ServerHandleTest, ValidLinksAndQueuePassUnchanged) {
  absl::StatusOr<std::vector<CareLink>> links = FromProto(Links("dr-rivera", "dr-rivera"));
  ASSERT_THAT(links, IsOk());
  ASSERT_EQ(links->size(), 2u);
  EXPECT_EQ((*links)[1].peer, "dr-rivera");
  EXPECT_FALSE((*links)[1].active);
  EXPECT_EQ((*links)[1].ended_by, "dr-rivera");

  absl::StatusOr<QueueView> queue = FromProto(Queue("sam-client"));
  ASSERT_THAT(queue, IsOk());
  EXPECT_EQ(queue->now_ms, 42);
  ASSERT_EQ(queue->entries.size(), 1u);
  EXPECT_EQ(queue->entries[0].client, "sam-client");
  EXPECT_EQ(queue->entries[0].claimed_by, "");
  EXPECT_EQ(queue->entries[0].waiting_count, 3u);
}

TEST(ServerHandleTest, LinkPeerWithAnEscapeIsRefusedAndTheMessageIsSafe) {
  absl::StatusOr<std::vector<CareLink>> links = FromProto(Links(kEscape));
  // The field is named, the value shown hex-escaped: no raw ESC in the error.
  EXPECT_THAT(links, StatusIs(absl::StatusCode::kInternal,
                              AllOf(HasSubstr("link.peer in ListLinks"),
                                    HasSubstr("dr-rivera\\x1b[2J"), Not(HasSubstr("\x1b")))));
}

TEST(ServerHandleTest, EveryHandleFieldOfAnAnswerIsChecked) {
  EXPECT_THAT(FromProto(Links(kArabicMark)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("link.peer")));
  EXPECT_THAT(FromProto(Links("dr-rivera", kOverride)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("link.ended_by")));
  EXPECT_THAT(FromProto(Queue(kOverride)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("entry.client in ListQueue")));
  EXPECT_THAT(FromProto(Queue("sam-client", kArabicMark)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("entry.claimed_by")));
  EXPECT_THAT(FromProto(Queue("")), StatusIs(absl::StatusCode::kInternal));
}

TEST(ServerHandleTest, EnvelopeSenderAndInviteTherapistAreCheckedTheSameWay) {
  // ProcessEnvelope drops an envelope whose sender fails this check;
  // AcceptInvite refuses a therapist that fails it.
  EXPECT_THAT(CheckServerHandle("envelope.sender", "sam-client"), IsOk());
  EXPECT_THAT(CheckServerHandle("envelope.sender", kArabicMark),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("envelope.sender")));
  EXPECT_THAT(CheckServerHandle("envelope.sender", std::string("sam\0x", 5)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("sam\\x00x")));
  EXPECT_THAT(CheckServerHandle("the therapist in AcceptInvite", "Dr-Rivera"),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(CheckServerHandle("x", "", /*may_be_empty=*/true), IsOk());
  EXPECT_THAT(CheckServerHandle("x", ""), StatusIs(absl::StatusCode::kInternal));
}

}  // namespace
}  // namespace sotto::client

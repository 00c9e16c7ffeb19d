// `sotto <listing> --json`: each document parses as JSON (protobuf's JSON
// parser into google.protobuf.Struct, an independent reader) and holds the
// values docs/CLI.md promises.

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli_fixture.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace sotto {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

Struct ParseJson(const CliRun& run) {
  EXPECT_EQ(run.exit_code, 0) << run.err;
  Struct document;
  auto parsed = google::protobuf::util::JsonStringToMessage(run.out, &document);
  EXPECT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << run.out;
  return document;
}

const Value& Field(const Struct& s, const std::string& key) {
  static const Value* const kMissing = new Value();
  auto it = s.fields().find(key);
  EXPECT_NE(it, s.fields().end()) << "no member " << key;
  return it == s.fields().end() ? *kMissing : it->second;
}
const Value& Field(const Value& v, const std::string& key) { return Field(v.struct_value(), key); }
const Value& Item(const Value& v, int i) {
  static const Value* const kMissing = new Value();
  EXPECT_GT(v.list_value().values_size(), i);
  return i < v.list_value().values_size() ? v.list_value().values(i) : *kMissing;
}

// A time member pair: `<name>_ms` near `around` and `<name>` its ISO form.
void ExpectTime(const Struct& object, const std::string& name, absl::Time around) {
  const double ms = Field(object, name + "_ms").number_value();
  EXPECT_NEAR(ms, absl::ToUnixMillis(around), 120'000) << name;
  EXPECT_EQ(Field(object, name).string_value(),
            absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(static_cast<int64_t>(ms)),
                             absl::UTCTimeZone()))
      << name;
}
void ExpectTime(const Value& object, const std::string& name, absl::Time around) {
  ExpectTime(object.struct_value(), name, around);
}

class CliJsonTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
    ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  }
};

TEST_F(CliJsonTest, InboxAndReadCarryOthersTextExactlyAndEscaped) {
  const absl::Time start = absl::Now();
  // Escape sequences, a bell, a quote, a backslash, a right-to-left
  // override and non-ASCII text: all must come back exactly.
  const std::string nasty = "hi \"you\" \\ \x1b[2J\x07 \u202Eevil día 🙂\nsecond line";
  ASSERT_EQ(Sotto("sam", "send dr-rivera", "correct horse", nasty).exit_code, 0);
  ASSERT_EQ(
      Sotto("sam", "letter dr-rivera --subject 'The dream'", "correct horse", "Dear Dr. Rivera\n")
          .exit_code,
      0);
  ASSERT_EQ(Sotto("dr-rivera", "sync").exit_code, 0);

  CliRun inbox_run = Sotto("dr-rivera", "inbox --json");
  EXPECT_EQ(inbox_run.out.find('\x1b'), std::string::npos) << "escaped, not raw";
  Struct inbox = ParseJson(inbox_run);
  const Value& conversation = Item(Field(inbox, "conversations"), 0);
  EXPECT_EQ(Field(conversation, "peer").string_value(), "sam");
  EXPECT_EQ(Field(conversation, "message_count").number_value(), 2);
  EXPECT_EQ(Field(conversation, "unread_count").number_value(), 2);
  EXPECT_FALSE(Field(conversation, "last_outgoing").bool_value());
  ExpectTime(conversation, "last_activity", start);

  CliRun read_run = Sotto("dr-rivera", "read sam --json");
  EXPECT_EQ(read_run.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(read_run.out.find('\x07'), std::string::npos);
  EXPECT_THAT(read_run.out, HasSubstr("\\u001b[2J\\u0007 \\u202eevil día 🙂\\nsecond line"));
  Struct read = ParseJson(read_run);
  EXPECT_EQ(Field(read, "peer").string_value(), "sam");
  const Value& text = Item(Field(read, "messages"), 0);
  EXPECT_EQ(Field(text, "text").string_value(), nasty);
  EXPECT_EQ(Field(text, "kind").string_value(), "text");
  EXPECT_EQ(Field(text, "peer").string_value(), "sam");
  EXPECT_FALSE(Field(text, "outgoing").bool_value());
  EXPECT_EQ(Field(text, "state").string_value(), "delivered");
  EXPECT_THAT(Field(text, "id").string_value(), MatchesRegex("[0-9a-f]{32}"));
  EXPECT_EQ(Field(text, "subject").kind_case(), Value::kNullValue);
  ExpectTime(text, "server_time", start);
  ExpectTime(text, "sent_at", start);
  const Value& letter = Item(Field(read, "messages"), 1);
  EXPECT_EQ(Field(letter, "kind").string_value(), "letter");
  EXPECT_EQ(Field(letter, "subject").string_value(), "The dream");
  EXPECT_EQ(Field(letter, "text").string_value(), "Dear Dr. Rivera");
  EXPECT_EQ(Field(letter, "thread_id").string_value(), Field(letter, "id").string_value());
  EXPECT_EQ(Field(letter, "in_reply_to").kind_case(), Value::kNullValue);

  // The sender's own side shows the state of what was sent.
  const Struct own = ParseJson(Sotto("sam", "read dr-rivera --json"));
  const Value& mine = Item(Field(own, "messages"), 0);
  EXPECT_TRUE(Field(mine, "outgoing").bool_value());
  EXPECT_EQ(Field(mine, "peer").string_value(), "dr-rivera");
}

TEST_F(CliJsonTest, QueueLinksAndPolicy) {
  const absl::Time start = absl::Now();
  ASSERT_EQ(Sotto("dr-rivera",
                  "policy set --tz Europe/Berlin --days mon-wed,fri --hours "
                  "08:30-16:00 --window 4h --away-until +2d --away-note 'At a "
                  "conference'")
                .exit_code,
            0);
  ASSERT_EQ(Sotto("sam", "send dr-rivera 'hello'").exit_code, 0);

  Struct queue = ParseJson(Sotto("dr-rivera", "queue --json"));
  EXPECT_FALSE(Field(queue, "include_all").bool_value());
  ExpectTime(queue, "now", start);
  const Value& entry = Item(Field(queue, "entries"), 0);
  EXPECT_EQ(Field(entry, "client").string_value(), "sam");
  EXPECT_EQ(Field(entry, "state").string_value(), "waiting");
  EXPECT_EQ(Field(entry, "waiting_count").number_value(), 1);
  ExpectTime(entry, "oldest_waiting", start);
  EXPECT_GT(Field(entry, "due_ms").number_value(), absl::ToUnixMillis(start));
  EXPECT_EQ(Field(entry, "snoozed_until_ms").kind_case(), Value::kNullValue);
  EXPECT_EQ(Field(entry, "claimed_by").kind_case(), Value::kNullValue);
  EXPECT_FALSE(Field(entry, "overdue").bool_value());

  Struct links = ParseJson(Sotto("sam", "links --json"));
  const Value& link = Item(Field(links, "links"), 0);
  EXPECT_EQ(Field(link, "peer").string_value(), "dr-rivera");
  EXPECT_TRUE(Field(link, "active").bool_value());
  ExpectTime(link, "since", start);
  EXPECT_EQ(Field(link, "ended_ms").kind_case(), Value::kNullValue);

  Struct policies = ParseJson(Sotto("sam", "policy --json"));
  const Value& policy = Item(Field(policies, "policies"), 0);
  EXPECT_EQ(Field(policy, "therapist").string_value(), "dr-rivera");
  EXPECT_EQ(Field(policy, "time_zone").string_value(), "Europe/Berlin");
  const Value& days = Field(policy, "working_days");
  ASSERT_EQ(days.list_value().values_size(), 4);
  EXPECT_EQ(days.list_value().values(3).number_value(), 5);
  EXPECT_EQ(Field(policy, "day_start").string_value(), "08:30");
  EXPECT_EQ(Field(policy, "day_end").string_value(), "16:00");
  EXPECT_EQ(Field(policy, "reply_window_minutes").number_value(), 240);
  ExpectTime(policy, "away_until", start + absl::Hours(48));
  EXPECT_EQ(Field(policy, "away_note").string_value(), "At a conference");
  EXPECT_THAT(Field(policies, "emergency_note").string_value(), HasSubstr("988"));
}

TEST_F(CliJsonTest, SafetyNumber) {
  ASSERT_EQ(Sotto("sam", "send dr-rivera 'hello'").exit_code, 0);
  Struct number = ParseJson(Sotto("sam", "safety-number dr-rivera --json"));
  EXPECT_EQ(Field(number, "peer").string_value(), "dr-rivera");
  EXPECT_THAT(Field(number, "digits").string_value(), MatchesRegex("[0-9]{60}"));
  EXPECT_THAT(Field(number, "scannable").string_value(), MatchesRegex("([0-9a-f][0-9a-f])+"));
  // sam joined with dr-rivera's invite, whose key commitment made dr-rivera
  // verified from the first message (issue 22).
  EXPECT_TRUE(Field(number, "verified").bool_value());
  EXPECT_FALSE(Field(number, "changed").bool_value());
  // The same number as the text output shows, grouped there.
  CliRun text = Sotto("sam", "safety-number dr-rivera");
  EXPECT_THAT(text.out, HasSubstr(Field(number, "digits").string_value().substr(0, 5) + " "));
  ASSERT_EQ(Sotto("sam", "verify dr-rivera").exit_code, 0);
  EXPECT_TRUE(
      Field(ParseJson(Sotto("sam", "safety-number dr-rivera --json")), "verified").bool_value());
}

}  // namespace
}  // namespace sotto

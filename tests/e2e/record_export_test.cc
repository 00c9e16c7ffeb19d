// The clinical record (issue 16): a therapist and a client exchange letters
// (with subjects, a reply in its thread) and a short text through the real
// server, then export the conversation (Client::ExportRecord) and check it
// (VerifyRecordExport, which needs no profile):
//  - an untouched export verifies, holds every message with its thread and
//    delivery state, and the client can export their own copy the same way;
//  - editing one message's body names that message; deleting one names it;
//    adding one, or changing the header, is caught;
//  - a signature or key from elsewhere does not verify;
//  - record.html shows markup in a message as text;
//  - a time range selects exactly the messages the server took in it;
//  - the export works with the server stopped (it makes no call), does not
//    mark messages read and never overwrites an export.

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sotto/client.h"
#include "sotto/record.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto {
namespace {

using ::sotto::testing::IsOkAndHolds;
using ::sotto::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::json;

constexpr char kTherapist[] = "dr-rivera-okafor";
constexpr char kClient[] = "sam-whitfield";
constexpr char kMarkup[] = "<script>alert('gotcha')</script> & see you Thursday";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
void Spill(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}
Json ReadJson(const std::string& path) { return Json::parse(Slurp(path)); }
void WriteJson(const std::string& path, const Json& j) { Spill(path, j.dump(2) + "\n"); }

// The ids of an export's messages, in the file's order.
std::vector<std::string> Ids(const std::string& dir) {
  std::vector<std::string> ids;
  const Json record = ReadJson(dir + "/record.json");
  for (const Json& m : record["messages"]) ids.push_back(m["id"]);
  return ids;
}

class RecordExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, sotto::testing::ServerProcess::Start());
    ASSERT_OK_AND_ASSIGN(therapist_, sotto::testing::RegisterTherapist(*server_, kTherapist));
    ASSERT_OK_AND_ASSIGN(client_,
                         sotto::testing::RegisterClient(server_->address(), kClient, therapist_));
    Client& t = *therapist_.client;
    Client& c = *client_.client;
    // Distinct server times (ms) between the messages, for the range test.
    const auto pause = [] { absl::SleepFor(absl::Milliseconds(5)); };
    ASSERT_OK_AND_ASSIGN(SendResult letter,
                         c.SendLetter(kTherapist, "Before Thursday", "I wrote down the dream."));
    letter_id_ = letter.message.id;
    pause();
    ASSERT_OK(t.Sync().status());
    ASSERT_OK_AND_ASSIGN(SendResult reply, t.Reply(letter_id_.substr(0, 8), "Thank you, Sam."));
    reply_id_ = reply.message.id;
    pause();
    ASSERT_OK(c.Sync().status());
    ASSERT_OK_AND_ASSIGN(SendResult text, c.SendText(kTherapist, kMarkup));
    text_id_ = text.message.id;
    ASSERT_OK(t.Sync().status());
  }

  std::string Export(Client& who, const std::string& peer, const std::string& name,
                     RecordExportOptions options = {}) {
    options.out_dir = dir_.sub(name);
    absl::StatusOr<RecordExportResult> result = who.ExportRecord(peer, options);
    EXPECT_OK(result.status());
    return options.out_dir;
  }

  std::unique_ptr<sotto::testing::ServerProcess> server_;
  sotto::testing::Party therapist_;
  sotto::testing::Party client_;
  sotto::testing::TempDir dir_;
  std::string letter_id_, reply_id_, text_id_;
};

TEST_F(RecordExportTest, ExportOfARealExchangeVerifiesWithEveryMessageAndItsThread) {
  const std::string dir = Export(*therapist_.client, kClient, "record");
  ASSERT_OK_AND_ASSIGN(RecordVerification v, VerifyRecordExport(dir));
  EXPECT_TRUE(v.ok()) << v.problems.front();
  EXPECT_EQ(v.signer_handle, kTherapist);
  EXPECT_EQ(v.signer_role, "therapist");
  EXPECT_EQ(v.peer, kClient);
  EXPECT_EQ(v.message_count, 3u);
  EXPECT_EQ(v.signer_fingerprint.size(), 35u);  // 6 groups of 5 digits

  const Json record = ReadJson(dir + "/record.json");
  EXPECT_EQ(record["format"], "sotto-clinical-record");
  EXPECT_EQ(record["exported_by"]["handle"], kTherapist);
  EXPECT_EQ(record["exported_by"]["role"], "therapist");
  EXPECT_EQ(record["peer"], kClient);
  EXPECT_TRUE(record["range"]["from_ms"].is_null());
  std::string key;
  ASSERT_TRUE(absl::Base64Unescape(record["exported_by"]["identity_key"].get<std::string>(), &key));
  EXPECT_EQ(key, v.signer_identity_key);
  // The fingerprint is the therapist's half of the safety number the client
  // sees for them.
  ASSERT_OK_AND_ASSIGN(SafetyNumberInfo number, client_.client->SafetyNumber(kTherapist));
  std::string digits = v.signer_fingerprint;
  digits.erase(std::remove(digits.begin(), digits.end(), ' '), digits.end());
  EXPECT_THAT(number.digits, HasSubstr(digits));

  const Json& m = record["messages"];
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0]["id"], letter_id_);
  EXPECT_EQ(m[0]["direction"], "received");
  EXPECT_EQ(m[0]["from"], kClient);
  EXPECT_EQ(m[0]["kind"], "letter");
  EXPECT_EQ(m[0]["subject"], "Before Thursday");
  EXPECT_EQ(m[0]["body"], "I wrote down the dream.");
  EXPECT_EQ(m[0]["thread_id"], letter_id_);
  EXPECT_EQ(m[0]["state"], "delivered");
  EXPECT_GT(m[0]["server_time_ms"].get<int64_t>(), 0);
  EXPECT_GT(m[0]["sent_at_ms"].get<int64_t>(), 0);
  EXPECT_EQ(m[1]["id"], reply_id_);
  EXPECT_EQ(m[1]["direction"], "sent");
  EXPECT_EQ(m[1]["to"], kClient);
  EXPECT_EQ(m[1]["subject"], "Re: Before Thursday");
  EXPECT_EQ(m[1]["in_reply_to"], letter_id_);
  EXPECT_EQ(m[1]["thread_id"], letter_id_);
  EXPECT_EQ(m[1]["state"], "delivered");  // the client's device stored it
  EXPECT_EQ(m[2]["kind"], "text");
  EXPECT_EQ(m[2]["body"], kMarkup);

  // The client exports their own copy the same way: signed by them.
  const std::string own = Export(*client_.client, kTherapist, "own");
  ASSERT_OK_AND_ASSIGN(RecordVerification mine, VerifyRecordExport(own));
  EXPECT_TRUE(mine.ok()) << mine.problems.front();
  EXPECT_EQ(mine.signer_handle, kClient);
  EXPECT_EQ(mine.signer_role, "client");
  EXPECT_EQ(Ids(own), Ids(dir));

  // A profile that knows the signer says how the key compares.
  EXPECT_THAT(client_.client->CheckRecordSigner(kTherapist, v.signer_identity_key),
              IsOkAndHolds(RecordSignerMatch::kVerifiedContact));  // the invite's commitment
  EXPECT_THAT(therapist_.client->CheckRecordSigner(kClient, mine.signer_identity_key),
              IsOkAndHolds(RecordSignerMatch::kUnverifiedContact));
  EXPECT_THAT(therapist_.client->CheckRecordSigner(kTherapist, v.signer_identity_key),
              IsOkAndHolds(RecordSignerMatch::kOwnKey));
  EXPECT_THAT(therapist_.client->CheckRecordSigner(kClient, v.signer_identity_key),
              IsOkAndHolds(RecordSignerMatch::kDifferentKey));
  EXPECT_THAT(therapist_.client->CheckRecordSigner("someone-else", v.signer_identity_key),
              IsOkAndHolds(RecordSignerMatch::kUnknown));
}

TEST_F(RecordExportTest, EditingOneMessagesBodyNamesThatMessage) {
  const std::string dir = Export(*therapist_.client, kClient, "record");
  Json record = ReadJson(dir + "/record.json");
  record["messages"][1]["body"] = "Thank you, Sam. (I never said this.)";
  WriteJson(dir + "/record.json", record);
  ASSERT_OK_AND_ASSIGN(RecordVerification v, VerifyRecordExport(dir));
  EXPECT_FALSE(v.ok());
  EXPECT_THAT(v.altered, ElementsAre(reply_id_));
  EXPECT_THAT(v.removed, IsEmpty());
  EXPECT_THAT(v.added, IsEmpty());
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_THAT(v.problems[0], HasSubstr("message " + reply_id_ + " (sent 20"));
  EXPECT_THAT(v.problems[0], HasSubstr("was altered"));
}

TEST_F(RecordExportTest, DeletingOrAddingAMessageIsNamed) {
  const std::string dir = Export(*therapist_.client, kClient, "record");
  Json record = ReadJson(dir + "/record.json");
  Json removed = record["messages"][0];
  record["messages"].erase(0);
  WriteJson(dir + "/record.json", record);
  ASSERT_OK_AND_ASSIGN(RecordVerification v, VerifyRecordExport(dir));
  EXPECT_THAT(v.removed, ElementsAre(letter_id_));
  EXPECT_THAT(v.altered, IsEmpty());
  ASSERT_FALSE(v.problems.empty());
  EXPECT_THAT(v.problems[0], HasSubstr("message " + letter_id_));
  EXPECT_THAT(v.problems[0], HasSubstr("was removed"));

  // Put it back under another id: that one was never signed.
  removed["id"] = "00112233445566778899aabbccddeeff";
  record["messages"].push_back(removed);
  WriteJson(dir + "/record.json", record);
  ASSERT_OK_AND_ASSIGN(v, VerifyRecordExport(dir));
  EXPECT_THAT(v.added, ElementsAre("00112233445566778899aabbccddeeff"));
  EXPECT_THAT(v.removed, ElementsAre(letter_id_));
}

TEST_F(RecordExportTest, AlteredHeaderOrReformattedFileIsCaught) {
  const std::string dir = Export(*therapist_.client, kClient, "record");
  const std::string original = Slurp(dir + "/record.json");
  Json record = Json::parse(original);
  record["exported_by"]["role"] = "client";
  WriteJson(dir + "/record.json", record);
  ASSERT_OK_AND_ASSIGN(RecordVerification v, VerifyRecordExport(dir));
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_THAT(v.problems[0], HasSubstr("the header was altered"));

  // Same content, other bytes: every message matches, the file does not.
  Spill(dir + "/record.json", Json::parse(original).dump(4));
  ASSERT_OK_AND_ASSIGN(v, VerifyRecordExport(dir));
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_THAT(v.problems[0], HasSubstr("record.json was changed outside its messages"));

  Spill(dir + "/record.json", original);
  std::string html = Slurp(dir + "/record.html");
  html.replace(html.find("Thank you"), 5, "Thunk");
  Spill(dir + "/record.html", html);
  ASSERT_OK_AND_ASSIGN(v, VerifyRecordExport(dir));
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_THAT(v.problems[0], HasSubstr("record.html was altered"));
}

TEST_F(RecordExportTest, ASignatureOrKeyFromElsewhereDoesNotVerify) {
  const std::string dir = Export(*therapist_.client, kClient, "record");
  const std::string other = Export(*client_.client, kTherapist, "other");
  const Json sig = ReadJson(dir + "/record.sig");
  const Json other_sig = ReadJson(other + "/record.sig");

  Json swapped = sig;
  swapped["signature"] = other_sig["signature"];
  WriteJson(dir + "/record.sig", swapped);
  ASSERT_OK_AND_ASSIGN(RecordVerification v, VerifyRecordExport(dir));
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_THAT(v.problems[0], HasSubstr("the signature does not verify"));

  swapped = sig;
  swapped["identity_key"] = other_sig["identity_key"];
  WriteJson(dir + "/record.sig", swapped);
  ASSERT_OK_AND_ASSIGN(v, VerifyRecordExport(dir));
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_THAT(v.problems[0], HasSubstr("the signature does not verify"));

  // A whole signature file from the client's export: it verifies, but it is
  // not this record's.
  WriteJson(dir + "/record.sig", other_sig);
  ASSERT_OK_AND_ASSIGN(v, VerifyRecordExport(dir));
  EXPECT_FALSE(v.ok());
  EXPECT_THAT(v.problems[0], HasSubstr("the header was altered"));
}

TEST_F(RecordExportTest, HtmlShowsMarkupAsText) {
  const std::string dir = Export(*therapist_.client, kClient, "record");
  const std::string html = Slurp(dir + "/record.html");
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(&#39;gotcha&#39;)&lt;/script&gt; &amp; see"));
  EXPECT_THAT(html, ::testing::Not(HasSubstr("<script")));
  EXPECT_THAT(html, HasSubstr("@media print"));
  EXPECT_THAT(html, HasSubstr("Re: Before Thursday"));
}

TEST_F(RecordExportTest, HtmlPrintsWithARunningHeaderAndKeepsHeadersWithTheirMessages) {
  const std::string dir = Export(*therapist_.client, kClient, "printed");
  const std::string html = Slurp(dir + "/record.html");
  const size_t print = html.find("@media print");
  ASSERT_NE(print, std::string::npos);
  const std::string rules = html.substr(print, html.find("</style>") - print);
  // Whose record and which period on every page, and which page of how many.
  EXPECT_THAT(rules, HasSubstr(absl::StrCat("@top-left { content: \"Clinical record: ",
                                            kTherapist, " and ", kClient, "\"")));
  EXPECT_THAT(rules, HasSubstr("@top-right { content: \"the beginning to the export\""));
  EXPECT_THAT(rules, HasSubstr("counter(page) \" / \" counter(pages)"));
  // A message is not split where it fits; its header never ends a page.
  EXPECT_THAT(rules, HasSubstr("article { break-inside: avoid"));
  EXPECT_THAT(rules, HasSubstr(".head, .subject, .thread { break-after: avoid"));
}

TEST_F(RecordExportTest, TimeRangeSelectsTheMessagesTheServerTookInIt) {
  const Json all = ReadJson(Export(*therapist_.client, kClient, "all") + "/record.json");
  const int64_t reply_ms = all["messages"][1]["server_time_ms"];
  const int64_t text_ms = all["messages"][2]["server_time_ms"];
  ASSERT_LT(all["messages"][0]["server_time_ms"].get<int64_t>(), reply_ms);
  ASSERT_LT(reply_ms, text_ms);
  RecordExportOptions options;
  options.from = absl::FromUnixMillis(reply_ms);
  options.to = absl::FromUnixMillis(text_ms);  // exclusive
  const std::string dir = Export(*therapist_.client, kClient, "range", options);
  EXPECT_THAT(Ids(dir), ElementsAre(reply_id_));
  const Json record = ReadJson(dir + "/record.json");
  EXPECT_EQ(record["range"]["from_ms"], reply_ms);
  EXPECT_EQ(record["range"]["to_ms"], text_ms);
  ASSERT_OK_AND_ASSIGN(RecordVerification v, VerifyRecordExport(dir));
  EXPECT_TRUE(v.ok());

  options.from = absl::FromUnixMillis(text_ms);
  options.to = absl::InfiniteFuture();
  EXPECT_THAT(Ids(Export(*therapist_.client, kClient, "tail", options)), ElementsAre(text_id_));

  options.out_dir = dir_.sub("backwards");
  options.from = absl::FromUnixMillis(text_ms);
  options.to = absl::FromUnixMillis(reply_ms);
  EXPECT_THAT(therapist_.client->ExportRecord(kClient, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range is empty")));
  EXPECT_FALSE(std::filesystem::exists(options.out_dir));
}

TEST_F(RecordExportTest, ExportWorksWithTheServerStoppedAndMarksNothingRead) {
  ASSERT_OK(server_->Stop());
  ASSERT_OK_AND_ASSIGN(std::vector<Conversation> before, therapist_.client->ListConversations());
  ASSERT_EQ(before.size(), 1u);
  ASSERT_GT(before[0].unread_count, 0u);

  const std::string dir = Export(*therapist_.client, kClient, "offline");
  ASSERT_OK_AND_ASSIGN(RecordVerification v, VerifyRecordExport(dir));
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.message_count, 3u);
  ASSERT_OK_AND_ASSIGN(std::vector<Conversation> after, therapist_.client->ListConversations());
  EXPECT_EQ(after[0].unread_count, before[0].unread_count);
}

TEST_F(RecordExportTest, NeverOverwritesAndKeepsTheFilesPrivate) {
  const std::string dir = Export(*therapist_.client, kClient, "record");
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const char* name : {"record.json", "record.html", "record.sig"}) {
    ASSERT_EQ(stat((dir + "/" + name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
  const std::string json = Slurp(dir + "/record.json");
  RecordExportOptions options;
  options.out_dir = dir;
  EXPECT_THAT(therapist_.client->ExportRecord(kClient, options),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already holds an export")));
  EXPECT_EQ(Slurp(dir + "/record.json"), json);

  options.out_dir = dir_.sub("nobody");
  EXPECT_THAT(therapist_.client->ExportRecord("nobody-here", options),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(std::filesystem::exists(options.out_dir));
  EXPECT_THAT(VerifyRecordExport(dir_.sub("nothing")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("record.sig does not exist")));
}

}  // namespace
}  // namespace sotto

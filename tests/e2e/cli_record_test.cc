// `sotto export` and `sotto verify-export` (issue 16, docs/CLI.md), run as
// the real binary against the real server: a therapist exports a client's
// conversation and verifies it (exit 0), with and without a profile; an
// edited record fails (non-zero) naming the message; an export never
// overwrites one; and exporting needs no server.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_fixture.h"

namespace sotto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

class CliRecordTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ASSERT_EQ(InitTherapist("dr-ana").exit_code, 0);
    ASSERT_EQ(InitClient("sam-b", "dr-ana").exit_code, 0);
    CliRun letter = Sotto("sam-b", "letter dr-ana --subject 'A hard week'", "correct horse",
                          "I could not sleep.\n");
    ASSERT_EQ(letter.exit_code, 0) << letter.err;
    ASSERT_EQ(Sotto("sam-b", "send dr-ana 'see you Thursday'").exit_code, 0);
    ASSERT_EQ(Sotto("dr-ana", "sync").exit_code, 0);
  }
  std::string Dir(const std::string& name) const { return (dir_ / name).string(); }
};

TEST_F(CliRecordTest, ExportVerifiesAndAnEditIsNamedWithANonZeroExit) {
  const std::string out = Dir("record");
  CliRun exported = Sotto("dr-ana", "export sam-b --out " + Quote(out));
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_THAT(exported.out, HasSubstr("Exported 2 messages with sam-b"));
  EXPECT_THAT(exported.out, HasSubstr("nothing was sent to the server"));

  CliRun verified = Sotto("dr-ana", "verify-export " + Quote(out));
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("Verified: the record of dr-ana (therapist) with sam-b"));
  EXPECT_THAT(verified.out, HasSubstr("The key is your own"));
  // The client, whose profile knows the therapist's key from the invite.
  verified = Sotto("sam-b", "verify-export " + Quote(out));
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("The key is the one you verified for dr-ana"));
  // Anyone, without a profile (no passphrase asked).
  verified = Sotto("no-profile-here", "verify-export " + Quote(out), "");
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("Intact, signer NOT confirmed: the record naming dr-ana"));
  EXPECT_THAT(verified.out, Not(HasSubstr("Verified:")));
  EXPECT_THAT(verified.out, HasSubstr("Signed by dr-ana, identity key fingerprint"));

  Json record = Json::parse(Slurp(out + "/record.json"));
  const std::string id = record["messages"][0]["id"];
  record["messages"][0]["body"] = "I slept fine.";
  std::ofstream(out + "/record.json", std::ios::trunc) << record.dump(2) << "\n";
  CliRun tampered = Sotto("no-profile-here", "verify-export " + Quote(out), "");
  EXPECT_NE(tampered.exit_code, 0);
  EXPECT_THAT(tampered.out, HasSubstr("NOT VERIFIED"));
  EXPECT_THAT(tampered.out, HasSubstr("message " + id));
  EXPECT_THAT(tampered.err, HasSubstr("does not verify: message " + id));

  CliRun again = Sotto("dr-ana", "export sam-b --out " + Quote(out));
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("already holds an export"));
}

TEST_F(CliRecordTest, ClientExportsTheirOwnCopyWithTheServerStopped) {
  ASSERT_OK(server_->Stop());
  const std::string out = Dir("mine");
  CliRun exported = Sotto("sam-b", "export dr-ana --out " + Quote(out) + " --from 2000-01-01");
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_THAT(exported.out, HasSubstr("Exported 2 messages with dr-ana"));
  CliRun verified = Sotto("dr-ana", "verify-export " + Quote(out));
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  // dr-ana holds sam-b's key but never verified it: intact, not confirmed.
  EXPECT_THAT(verified.out, HasSubstr("the record naming sam-b (client) with dr-ana"));
  EXPECT_THAT(verified.out, HasSubstr("signer NOT confirmed"));
  EXPECT_THAT(verified.out, HasSubstr("The key is the one your profile holds for sam-b"));

  // A bare date in --to covers that whole day: nothing after 2000-01-01.
  CliRun empty = Sotto(
      "sam-b", "export dr-ana --out " + Quote(Dir("empty")) + " --from 2000-01-01 --to 2000-01-01");
  ASSERT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_THAT(empty.out, HasSubstr("Exported 0 messages"));
}

}  // namespace
}  // namespace sotto

// What a new user met with the `sotto` command (issue 14): arguments checked
// before the passphrase, a too-long text, what WHEN accepts, --version,
// errors in words rather than gRPC's, and a letter that could not be sent
// is never lost.

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli_fixture.h"

namespace sotto {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

// gRPC's words and our call names, which a person should not have to read.
auto NoJargon() {
  return AllOf(Not(HasSubstr("ipv4:")), Not(HasSubstr("failed to connect")),
               Not(HasSubstr("Socket closed")), Not(HasSubstr("GetBundle")),
               Not(HasSubstr("Register:")), Not(HasSubstr("UNAVAILABLE")),
               Not(HasSubstr("UNKNOWN")));
}

TEST_F(CliTest, VersionIsPrinted) {
  CliRun version = Sotto("sam", "--version");
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_THAT(version.out, MatchesRegex("sotto [0-9]+\\.[0-9]+\\.[0-9]+\n"));
}

TEST_F(CliTest, SendingCommandsSayWhatWhenAccepts) {
  for (const char* command : {"send", "letter", "reply"}) {
    CliRun help = Sotto("sam", absl::StrCat(command, " --help"));
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_THAT(help.out, HasSubstr("--at WHEN")) << command;
    EXPECT_THAT(help.out, HasSubstr("+2h")) << command;
    EXPECT_THAT(help.out, HasSubstr("\"tomorrow 09:00\"")) << command;
    EXPECT_THAT(help.out, HasSubstr("2026-12-01T09:00:00Z")) << command;
  }
}

TEST_F(CliTest, MissingArgumentsAreNamedBeforeThePassphraseIsAskedFor) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  // A wrong passphrase would be the error if the profile were opened first.
  CliRun bare = Sotto("sam", "send", "not my passphrase");
  EXPECT_EQ(bare.exit_code, 1);
  EXPECT_THAT(bare.err, HasSubstr("whom to? sotto send USER [TEXT]"));
  EXPECT_THAT(bare.err, Not(HasSubstr("passphrase")));
  CliRun bad_time = Sotto("sam", "send dr-rivera hi --at someday", "not my passphrase");
  EXPECT_EQ(bad_time.exit_code, 1);
  EXPECT_THAT(bad_time.err, HasSubstr("--at \"someday\""));
  CliRun snooze = Sotto("dr-rivera", "snooze sam", "not my passphrase");
  EXPECT_EQ(snooze.exit_code, 1);
  EXPECT_THAT(snooze.err, HasSubstr("give --until WHEN or --for DURATION"));
  CliRun policy = Sotto("dr-rivera", "policy set", "not my passphrase");
  EXPECT_EQ(policy.exit_code, 1);
  EXPECT_THAT(policy.err, HasSubstr("nothing to change"));
}

TEST_F(CliTest, ATextOverTheLimitPointsToALetter) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  CliRun longer = Sotto("sam", "send dr-rivera", "correct horse", std::string(5000, 'x'));
  EXPECT_EQ(longer.exit_code, 1);
  EXPECT_THAT(longer.err, HasSubstr("the message is 5000 bytes, over the 4096-byte limit"));
  EXPECT_THAT(longer.err, HasSubstr("send it as a letter"));
  EXPECT_THAT(longer.err, HasSubstr("sotto letter dr-rivera --subject SUBJECT"));
  // Exactly at the limit is still a text.
  EXPECT_EQ(Sotto("sam", "send dr-rivera", "correct horse", std::string(4096, 'y')).exit_code, 0);
}

TEST_F(CliTest, NoServerListeningIsSaidPlainlyAndTheDetailIsForVerbose) {
  const std::string init =
      "init --server 127.0.0.1:1 --role client --name late --invite AAAA-BBBB-CCCC";
  CliRun plain = Sotto("late", init);
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_THAT(plain.err,
              HasSubstr("sotto: the Sotto server at 127.0.0.1:1 is unreachable: nothing is "
                        "listening there"));
  EXPECT_THAT(plain.err, NoJargon());
  EXPECT_EQ(std::count(plain.err.begin(), plain.err.end(), '\n'), 1) << plain.err;

  CliRun verbose = Sotto("late", "--verbose " + init);
  EXPECT_EQ(verbose.exit_code, 1);
  EXPECT_THAT(verbose.err, HasSubstr("nothing is listening there"));
  EXPECT_THAT(verbose.err, HasSubstr("sotto: detail (sotto.dev/detail): Register: UNAVAILABLE: "));
  EXPECT_THAT(verbose.err, HasSubstr("Connection refused"));
}

TEST_F(CliTest, AServerThatWentAwayIsNamedWithoutTheCallThatFailed) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  ASSERT_OK(server_->Stop());
  CliRun sent = Sotto("sam", "send dr-rivera 'are you there?'");
  EXPECT_EQ(sent.exit_code, 1);
  EXPECT_THAT(sent.err, HasSubstr("unreachable: nothing is listening there"));
  EXPECT_THAT(sent.err, NoJargon());
  CliRun verbose = Sotto("sam", "--verbose send dr-rivera 'are you there?'");
  EXPECT_THAT(verbose.err, HasSubstr("detail (sotto.dev/detail): GetBundle: UNAVAILABLE"));
}

TEST_F(CliTest, AServerRefusalIsTheServersWordsWithoutTheCallName) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  CliRun nobody = Sotto("sam", "send nobody-here hello");
  EXPECT_EQ(nobody.exit_code, 1);
  EXPECT_THAT(nobody.err, HasSubstr("nobody-here"));
  EXPECT_THAT(nobody.err, NoJargon());
  EXPECT_THAT(Sotto("sam", "--verbose send nobody-here hello").err,
              HasSubstr("detail (sotto.dev/detail): GetBundle: PERMISSION_DENIED: "));
}

TEST_F(CliTest, ALetterWrittenWhileTheServerIsDownIsKeptAndGoesWithTheNextSync) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  ASSERT_OK(server_->Stop());
  CliRun letter = Sotto("sam", "letter dr-rivera --subject Tonight", "correct horse",
                        "I could not sleep again.\n");
  EXPECT_EQ(letter.exit_code, 1);
  EXPECT_THAT(letter.err, HasSubstr("kept as not sent"));
  CliRun read = Sotto("sam", "read dr-rivera");
  EXPECT_EQ(read.exit_code, 0) << read.err;
  EXPECT_THAT(read.out, HasSubstr("[not sent]"));
  EXPECT_THAT(read.out, HasSubstr("I could not sleep again."));

  ASSERT_OK(server_->Restart(/*same_address=*/true));
  CliRun sync = Sotto("sam", "sync");
  EXPECT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(sync.out, HasSubstr("1 message you wrote earlier sent"));
  EXPECT_THAT(Sotto("sam", "read dr-rivera").out, HasSubstr("[sent]"));
  EXPECT_THAT(Sotto("dr-rivera", "sync").out, HasSubstr("1 new message"));
  EXPECT_THAT(Sotto("dr-rivera", "read sam").out, HasSubstr("I could not sleep again."));
  EXPECT_THAT(Sotto("sam", "retry").out, HasSubstr("Nothing was waiting to be sent."));
}

TEST_F(CliTest, ALetterTheServerRefusesIsSavedAsADraft) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  const std::string body = "A long letter to the wrong person.\nSecond line.";
  CliRun letter = Sotto("sam", "letter nobody-here --subject Hello", "correct horse", body + "\n");
  EXPECT_EQ(letter.exit_code, 1);
  const std::string marker = "your text is saved in ";
  const size_t at = letter.err.find(marker);
  ASSERT_NE(at, std::string::npos) << letter.err;
  const size_t start = at + marker.size();
  const std::string path = letter.err.substr(start, letter.err.find(' ', start) - start);
  EXPECT_EQ(Slurp(path), body);
  struct stat info {};
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST_F(CliTlsTest, ATlsPortWithoutTheCaSaysToPassTheCa) {
  ServeTls(certs_->server);
  CliRun plain = InitTherapist("dr-rivera");
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_THAT(plain.err, HasSubstr("unreachable: it closed the connection; if the server uses "
                                   "TLS, pass --ca FILE"));
  EXPECT_THAT(plain.err, NoJargon());
  CliRun verbose = InitTherapist("dr-rivera", "--verbose");
  EXPECT_THAT(verbose.err, HasSubstr("detail (sotto.dev/detail): Register: UNAVAILABLE: "));
}

// With the tests' escape hatch off: the policy of sotto/passphrase.h.
constexpr char kEnforce[] = "SOTTO_ALLOW_WEAK_PASSPHRASE=0";

TEST_F(CliTest, InitRefusesAWeakPassphraseSayingWhyAndCreatesNothing) {
  auto code = sotto::testing::EnrolmentCode(Target(), "dr-rivera");
  ASSERT_OK(code.status());
  const std::string init = absl::StrCat("init --server ", Target().address(),
                                        " --role therapist --name dr-rivera --enrol ", *code);
  CliRun short_one = Sotto("dr-rivera", init, "abc", "", kEnforce);
  EXPECT_EQ(short_one.exit_code, 1);
  EXPECT_THAT(short_one.err, HasSubstr("sotto: the passphrase is too short: use at least 10 "
                                       "characters"));
  EXPECT_THAT(short_one.err, HasSubstr("no profile was created"));
  EXPECT_EQ(std::count(short_one.err.begin(), short_one.err.end(), '\n'), 1) << short_one.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "dr-rivera")) << "a refused init leaves no profile";

  CliRun own_name = Sotto("dr-rivera", init, "dr-rivera2024", "", kEnforce);
  EXPECT_EQ(own_name.exit_code, 1);
  EXPECT_THAT(own_name.err, HasSubstr("too easy to guess (your handle or another word about you"));
  EXPECT_THAT(own_name.err, HasSubstr("try a longer phrase of several unrelated words"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "dr-rivera"));

  // The same command with a strong passphrase: the code was not used up.
  CliRun strong = Sotto("dr-rivera", init, "river stone cloud tiger", "", kEnforce);
  EXPECT_EQ(strong.exit_code, 0) << strong.err;
}

TEST_F(CliTest, PasswdRefusesAWeakNewPassphraseAndKeepsTheOldOne) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  CliRun weak = Sotto("dr-rivera", "passwd", "correct horse", "",
                      absl::StrCat(kEnforce, " SOTTO_NEW_PASSPHRASE=password1234"));
  EXPECT_EQ(weak.exit_code, 1);
  EXPECT_THAT(weak.err, HasSubstr("sotto: the passphrase is too easy to guess (a common word"));
  EXPECT_THAT(weak.err, HasSubstr("the passphrase was not changed"));
  EXPECT_THAT(weak.out, Not(HasSubstr("Passphrase changed")));
  EXPECT_EQ(Sotto("dr-rivera", "settings", "correct horse").exit_code, 0)
      << "the old passphrase still opens the profile";
  EXPECT_EQ(Sotto("dr-rivera", "settings", "password1234").exit_code, 1);

  const std::string strong = "tulip marble oxygen canyon";
  CliRun changed = Sotto("dr-rivera", "passwd", "correct horse", "",
                         absl::StrCat(kEnforce, " SOTTO_NEW_PASSPHRASE=", Quote(strong)));
  EXPECT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_EQ(Sotto("dr-rivera", "settings", strong).exit_code, 0);
}

}  // namespace
}  // namespace sotto

// The `sotto` command as a new user runs it, against the real server.

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli_fixture.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/status_matchers.h"
#include "testing/test_certs.h"

namespace sotto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(CliTest, WalkthroughFromTheReadme) {
  CliRun therapist = InitTherapist("dr-rivera");
  ASSERT_EQ(therapist.exit_code, 0) << therapist.err;
  EXPECT_THAT(therapist.out, HasSubstr("Registered dr-rivera as a therapist"));
  CliRun client = InitClient("sam", "dr-rivera");
  ASSERT_EQ(client.exit_code, 0) << client.err;
  EXPECT_THAT(client.out, HasSubstr("Linked with dr-rivera"));

  CliRun sent = Sotto("sam", "send dr-rivera 'I had a hard week.'");
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  EXPECT_THAT(sent.out, HasSubstr("Sent to dr-rivera"));
  EXPECT_THAT(sent.out, HasSubstr("Expect a reply from dr-rivera by"));
  EXPECT_THAT(sent.out, HasSubstr("988"));
  CliRun piped =
      Sotto("sam", "send dr-rivera", "correct horse", "A longer note\nover two lines.\n");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;

  CliRun sync = Sotto("dr-rivera", "sync");
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(sync.out, HasSubstr("2 new messages"));

  CliRun inbox = Sotto("dr-rivera", "inbox");
  ASSERT_EQ(inbox.exit_code, 0) << inbox.err;
  EXPECT_THAT(inbox.out, HasSubstr("sam"));
  EXPECT_THAT(inbox.out, HasSubstr("over two lines."));

  CliRun read = Sotto("dr-rivera", "read sam");
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_THAT(read.out, HasSubstr("I had a hard week."));
  EXPECT_THAT(read.out, HasSubstr("  A longer note\n  over two lines.\n"));

  ASSERT_EQ(Sotto("dr-rivera", "send sam 'Thank you for writing.'").exit_code, 0);
  ASSERT_EQ(Sotto("sam", "sync").exit_code, 0);
  CliRun reply = Sotto("sam", "read dr-rivera");
  EXPECT_THAT(reply.out, HasSubstr("Thank you for writing."));
  EXPECT_THAT(reply.out, HasSubstr("sam (you)"));
}

TEST_F(CliTest, TherapistWorksTheQueueAndAnswersALetterInItsThread) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  CliRun policy = Sotto("dr-rivera",
                        "policy set --tz Europe/Berlin --days mon-fri "
                        "--hours 09:00-17:00 --window 1d");
  ASSERT_EQ(policy.exit_code, 0) << policy.err;
  CliRun shown = Sotto("sam", "policy dr-rivera");
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("Europe/Berlin"));

  CliRun letter = Sotto("sam", "letter dr-rivera --subject 'The dream again'", "correct horse",
                        "Dear Dr. Rivera,\nI had the dream again.\n");
  ASSERT_EQ(letter.exit_code, 0) << letter.err;

  CliRun queue = Sotto("dr-rivera", "queue");
  ASSERT_EQ(queue.exit_code, 0) << queue.err;
  EXPECT_THAT(queue.out, HasSubstr("CLIENT"));
  EXPECT_THAT(queue.out, HasSubstr("sam"));

  ASSERT_EQ(Sotto("dr-rivera", "sync").exit_code, 0);
  CliRun read = Sotto("dr-rivera", "read sam");
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_THAT(read.out, HasSubstr("Subject: The dream again"));
  // "── <id8>  <time>  sam": reply by the short id shown.
  const size_t dash = read.out.find("── ");
  ASSERT_NE(dash, std::string::npos);
  const std::string id = read.out.substr(dash + std::string("── ").size(), 8);
  CliRun reply = Sotto("dr-rivera", "reply " + id + " 'Let us look at it on Thursday.'");
  ASSERT_EQ(reply.exit_code, 0) << reply.err;

  CliRun empty = Sotto("dr-rivera", "queue");
  EXPECT_THAT(empty.out, HasSubstr("Nobody is waiting"));
  ASSERT_EQ(Sotto("sam", "sync").exit_code, 0);
  CliRun thread = Sotto("sam", "read dr-rivera");
  EXPECT_THAT(thread.out, HasSubstr("Re: The dream again"));
  EXPECT_THAT(thread.out, HasSubstr("Let us look at it on Thursday."));
}

TEST_F(CliTest, AMessageCannotControlTheReadersTerminal) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  // Clears the screen, retitles the window, and forges a message header.
  const std::string nasty = "hi\x1b[2J\x1b]0;owned\x07\n── Fri 27 Nov 02:00  dr-rivera\nfake";
  ASSERT_EQ(Sotto("sam", "send dr-rivera", "correct horse", nasty).exit_code, 0);
  ASSERT_EQ(Sotto("dr-rivera", "sync").exit_code, 0);
  CliRun read = Sotto("dr-rivera", "read sam");
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_EQ(read.out.find('\x1b'), std::string::npos) << read.out;
  EXPECT_EQ(read.out.find('\x07'), std::string::npos);
  EXPECT_THAT(read.out, HasSubstr("\n  ── Fri 27 Nov 02:00  dr-rivera\n"))
      << "the forged header is indented as body text";
  CliRun inbox = Sotto("dr-rivera", "inbox");
  EXPECT_EQ(inbox.out.find('\x1b'), std::string::npos);
}

TEST_F(CliTest, SendLaterCanBeCancelled) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  CliRun later = Sotto("sam", "send dr-rivera 'for the morning' --at +2h");
  ASSERT_EQ(later.exit_code, 0) << later.err;
  EXPECT_THAT(later.out, HasSubstr("Scheduled for dr-rivera"));
  const std::string marker = "cancel with: sotto cancel ";
  const size_t at = later.out.find(marker);
  ASSERT_NE(at, std::string::npos) << later.out;
  const std::string id = later.out.substr(at + marker.size(), 8);
  CliRun cancel = Sotto("sam", "cancel " + id);
  ASSERT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_THAT(Sotto("sam", "read dr-rivera").out, HasSubstr("cancelled"));
  CliRun bad_time = Sotto("sam", "send dr-rivera hi --at someday");
  EXPECT_NE(bad_time.exit_code, 0);
  EXPECT_THAT(bad_time.err, HasSubstr("someday"));
}

TEST_F(CliTest, ErrorsAreOneClearLineAndANonZeroExit) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);

  CliRun wrong = Sotto("sam", "inbox", "not my passphrase");
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_THAT(wrong.err, HasSubstr("passphrase"));
  EXPECT_EQ(std::count(wrong.err.begin(), wrong.err.end(), '\n'), 1) << wrong.err;
  // Nothing was damaged: the right passphrase still opens it.
  EXPECT_EQ(Sotto("sam", "inbox").exit_code, 0);

  CliRun nobody = Sotto("sam", "send nobody-here hello");
  EXPECT_NE(nobody.exit_code, 0);
  EXPECT_THAT(nobody.err, HasSubstr("nobody-here"));

  CliRun no_profile = Sotto("someone-else", "inbox");
  EXPECT_NE(no_profile.exit_code, 0);
  EXPECT_THAT(no_profile.err, HasSubstr("sotto init"));

  CliRun twice = InitClient("sam", "dr-rivera");
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_THAT(twice.err, HasSubstr("already exists"));

  CliRun taken =
      Sotto("other", absl::StrCat("init --server ", server_->address(),
                                  " --role client --name sam --invite ", InviteCode("dr-rivera")));
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "other" / "CURRENT"))
      << "a failed init leaves no half-made profile";

  CliRun bad_role = Sotto("x", "init --server 127.0.0.1:1 --role admin --name x1");
  EXPECT_NE(bad_role.exit_code, 0);
  EXPECT_THAT(bad_role.err, HasSubstr("role"));

  CliRun no_invite = Sotto(
      "x", absl::StrCat("init --server ", server_->address(), " --role client --name newbie"));
  EXPECT_NE(no_invite.exit_code, 0);
  EXPECT_THAT(no_invite.err, HasSubstr("--invite"));

  CliRun client_queue = Sotto("sam", "queue");
  EXPECT_NE(client_queue.exit_code, 0);

  CliRun unreachable = Sotto("late",
                             "init --server 127.0.0.1:1 --role client --name late "
                             "--invite AAAA-BBBB-CCCC");
  EXPECT_NE(unreachable.exit_code, 0);
  EXPECT_THAT(unreachable.err, HasSubstr("unreachable"));
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const char* command :
       {"",      "init",   "send",   "letter",        "reply",    "cancel",        "sync",
        "inbox", "read",   "invite", "accept-invite", "links",    "unlink",        "policy",
        "queue", "snooze", "close",  "claim",         "settings", "delete-account"}) {
    CliRun help = Sotto("sam", absl::StrCat(command, " --help"));
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_THAT(help.out, HasSubstr("Usage")) << command;
  }
}

TEST_F(CliTest, DeleteAccountAsksForTheHandleThenWipesTheProfileAndTheServerForgets) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  ASSERT_EQ(Sotto("sam", "send dr-rivera 'before I go'").exit_code, 0);
  ASSERT_EQ(Sotto("dr-rivera", "sync").exit_code, 0);

  // Typing the wrong handle, or nothing, deletes nothing.
  CliRun wrong = Sotto("sam", "delete-account", "correct horse", "dr-rivera\n");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, HasSubstr("Type your handle (sam) to delete the account"));
  EXPECT_THAT(wrong.err, HasSubstr("sotto: to delete the account, confirm with its handle 'sam' "
                                   "(got 'dr-rivera'); nothing was deleted"));
  CliRun nothing = Sotto("sam", "delete-account", "correct horse", "");
  EXPECT_EQ(nothing.exit_code, 1);
  EXPECT_THAT(nothing.err, HasSubstr("nothing was deleted"));
  EXPECT_EQ(Sotto("sam", "delete-account --confirm someone").exit_code, 1);
  CliRun still = Sotto("sam", "read dr-rivera");
  ASSERT_EQ(still.exit_code, 0) << still.err;
  EXPECT_THAT(still.out, HasSubstr("before I go"));

  CliRun gone = Sotto("sam", "delete-account", "correct horse", "sam\n");
  ASSERT_EQ(gone.exit_code, 0) << gone.err;
  EXPECT_THAT(gone.out, HasSubstr("Deleted the account sam on " + server_->address()));
  EXPECT_THAT(gone.out, HasSubstr("was wiped: keys and message history are gone"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "sam"));
  CliRun reopen = Sotto("sam", "inbox");
  EXPECT_EQ(reopen.exit_code, 1);
  EXPECT_THAT(reopen.err, HasSubstr("sotto init"));

  // The therapist's side: sending fails with the one answer for a handle
  // without a link (issue 19); no link names sam any more (issue 22: it used
  // to show "ended by sam").
  CliRun to_nobody = Sotto("dr-rivera", "send sam 'are you there?'");
  EXPECT_EQ(to_nobody.exit_code, 1);
  EXPECT_THAT(to_nobody.err, HasSubstr("no care link"));
  EXPECT_THAT(Sotto("dr-rivera", "links").out, HasSubstr("No clients yet"));
  // The operator's audit trail.
  auto audit =
      sotto::testing::RunServerCommand("audit --data-dir '" + server_->data_dir() + "' --user sam");
  EXPECT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_THAT(audit.output, HasSubstr("account.deleted actor=sam.1 subject=sam"));

  // The handle is free again; the therapist is told the key changed, and
  // sending stops until they accept the new key (issue 22: every change is
  // held, verified contact or not).
  CliRun again = InitClient("sam", "dr-rivera");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  CliRun hello = Sotto("dr-rivera", "send sam 'welcome back'");
  EXPECT_EQ(hello.exit_code, 1);
  EXPECT_THAT(hello.err, HasSubstr("sam's safety number changed; messages are held"));
  // Scripts confirm with the flag.
  CliRun scripted = Sotto("sam", "delete-account --confirm sam");
  ASSERT_EQ(scripted.exit_code, 0) << scripted.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "sam"));
}

TEST_F(CliTest, ADeletedHandleRegisteredAgainListsNoLinkOfThePreviousPerson) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitTherapist("dr-lee").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  ASSERT_EQ(Sotto("sam", "delete-account --confirm sam").exit_code, 0);

  // Someone else takes the handle, invited by dr-lee.
  CliRun again = InitClient("sam", "dr-lee");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  CliRun links = Sotto("sam", "links");
  ASSERT_EQ(links.exit_code, 0) << links.err;
  EXPECT_THAT(links.out, HasSubstr("dr-lee"));
  EXPECT_THAT(links.out, Not(HasSubstr("dr-rivera")));
  EXPECT_THAT(links.out, Not(HasSubstr("ended")));
  // The former therapist sees no link to the handle.
  EXPECT_THAT(Sotto("dr-rivera", "links").out, HasSubstr("No clients yet"));
}

TEST_F(CliTest, ADeactivatedDevicesSyncWaitEndsAndReceivesNothing) {
  ASSERT_EQ(InitTherapist("dr-rivera").exit_code, 0);
  ASSERT_EQ(InitClient("sam", "dr-rivera").exit_code, 0);
  const std::string data_dir = server_->data_dir();
  const auto open_streams = [&] {
    auto stats = sotto::testing::RunServerCommand("stats --data-dir '" + data_dir + "'");
    return stats.output;
  };
  // sam's `sync --wait`, in the background with its own output files.
  const std::string out = (dir_ / "wait.out").string();
  const std::string err = (dir_ / "wait.err").string();
  const std::string command =
      absl::StrCat("SOTTO_ALLOW_WEAK_PASSPHRASE=1 SOTTO_PASSPHRASE='correct horse' ",
                   SOTTO_CLI_BINARY, " --profile ", Quote((dir_ / "sam").string()),
                   " sync --wait 60 </dev/null >", out, " 2>", err);
  int status = -1;
  absl::Time ended;
  std::thread waiter([&] {
    status = std::system(command.c_str());
    ended = absl::Now();
  });
  bool open = false;
  for (int i = 0; i < 200 && !open; ++i) {
    open = open_streams().find("subscriptions_open 1") != std::string::npos;
    if (!open) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(open) << open_streams();

  const absl::Time deactivated = absl::Now();
  auto off =
      sotto::testing::RunServerCommand("deactivate --data-dir '" + data_dir + "' --name sam");
  ASSERT_EQ(off.exit_code, 0) << off.output;
  // Reactivated at once and written to: the ended wait gets none of it.
  auto on = sotto::testing::RunServerCommand("reactivate --data-dir '" + data_dir + "' --name sam");
  ASSERT_EQ(on.exit_code, 0) << on.output;
  ASSERT_EQ(Sotto("dr-rivera", "send sam 'after the deactivation'").exit_code, 0);
  waiter.join();
  EXPECT_LT(ended - deactivated, absl::Seconds(20));
  EXPECT_NE(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
  EXPECT_THAT(Slurp(err), HasSubstr("account sam is deactivated"));
  EXPECT_THAT(Slurp(out), Not(HasSubstr("after the deactivation")));
}

// ---- the CLI against a TLS server (certificates made at run time) ----

TEST_F(CliTlsTest, WithTheCaTheWholeWalkthroughRunsOverTls) {
  ServeTls(certs_->server);
  const std::string ca = "--ca " + Quote(certs_->ca.cert_path);
  CliRun therapist = InitTherapist("dr-rivera", ca);
  ASSERT_EQ(therapist.exit_code, 0) << therapist.err;
  // The CA is stored in the profile: later commands need no --ca.
  CliRun client = InitClient("sam", "dr-rivera", ca);
  ASSERT_EQ(client.exit_code, 0) << client.err;
  EXPECT_THAT(client.out, HasSubstr("Linked with dr-rivera"));
  CliRun sent = Sotto("sam", "send dr-rivera 'over TLS, checked against our CA'");
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  CliRun sync = Sotto("dr-rivera", "sync");
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(sync.out, HasSubstr("1 new message"));
  CliRun read = Sotto("dr-rivera", "read sam");
  EXPECT_THAT(read.out, HasSubstr("over TLS, checked against our CA"));
  ASSERT_EQ(Sotto("dr-rivera", "send sam 'received'").exit_code, 0);
  ASSERT_EQ(Sotto("sam", "sync").exit_code, 0);
  EXPECT_THAT(Sotto("sam", "read dr-rivera").out, HasSubstr("received"));
}

TEST_F(CliTlsTest, AServerFromAnotherCaIsRefusedNamingTheProblem) {
  ServeTls(certs_->other_ca_server);
  CliRun refused = InitTherapist("dr-rivera", "--ca " + Quote(certs_->ca.cert_path));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err,
              HasSubstr("sotto: Register: TLS: the server's TLS certificate (CN=localhost) is "
                        "issued by CN=other_ca, which is not the CA this client trusts"));
  EXPECT_THAT(refused.err, HasSubstr("nothing was sent"));
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "dr-rivera" / "CURRENT"))
      << "a refused init leaves no profile";
  // With the server's real CA the same command works.
  CliRun right = InitTherapist("dr-rivera", "--ca " + Quote(certs_->other_ca.cert_path));
  ASSERT_EQ(right.exit_code, 0) << right.err;
  // A --ca on a later command overrides the stored one for that run.
  CliRun overridden = Sotto("dr-rivera", "--ca " + Quote(certs_->ca.cert_path) + " invite");
  EXPECT_EQ(overridden.exit_code, 1);
  EXPECT_THAT(overridden.err, HasSubstr("which is not the CA this client trusts"));
  EXPECT_EQ(Sotto("dr-rivera", "invite").exit_code, 0);
}

// --system-roots goes through the same TLS credentials; gRPC takes its
// system roots from GRPC_DEFAULT_SSL_ROOTS_FILE_PATH when set, which lets the
// test CA stand in for the system's.
TEST_F(CliTlsTest, SystemRootsAreTrustedAndOthersRefused) {
  ServeTls(certs_->server);
  CliRun refused =
      InitTherapist("dr-rivera", "--system-roots",
                    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=" + Quote(certs_->other_ca.cert_path));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("which is not one of the system's root CAs"));
  const std::string roots = "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=" + Quote(certs_->ca.cert_path);
  CliRun trusted = InitTherapist("dr-rivera", "--system-roots", roots);
  ASSERT_EQ(trusted.exit_code, 0) << trusted.err;
  // Stored in the profile like --ca.
  CliRun invite = Sotto("dr-rivera", "invite", "correct horse", "", roots);
  EXPECT_EQ(invite.exit_code, 0) << invite.err;
}

TEST_F(CliTlsTest, APlainProfileCannotTalkToATlsServer) {
  ServeTls(certs_->server);
  CliRun plain = InitTherapist("dr-rivera");
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_THAT(plain.err, HasSubstr("unreachable"));
}

TEST_F(CliTlsTest, CrlRefusesARevokedServerAndIsKeptInTheProfile) {
  ServeTls(certs_->revoked);
  auto empty = certs_->MakeCrl(certs_->ca, {}, 24 * 3600, 7 * 24 * 3600);
  auto revoking = certs_->MakeCrl(certs_->ca, {&certs_->revoked}, 24 * 3600, 60);
  ASSERT_TRUE(empty.ok() && revoking.ok());
  const std::string empty_file = certs_->WriteFile("empty.crl.pem", *empty);
  const std::string revoking_file = certs_->WriteFile("revoking.crl.pem", *revoking);

  CliRun init = InitTherapist(
      "dr-rivera", "--ca " + Quote(certs_->ca.cert_path) + " --crl " + Quote(empty_file));
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ASSERT_EQ(Sotto("dr-rivera", "invite").exit_code, 0);

  // The provider revokes the server's certificate and publishes a new list.
  CliRun refused = Sotto("dr-rivera", "--crl " + Quote(revoking_file) + " invite");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("has been revoked (listed in the CRL of CN=ca)"));
  // The newer list was stored; last week's cannot undo it.
  EXPECT_THAT(Sotto("dr-rivera", "invite").err, HasSubstr("has been revoked"));
  EXPECT_THAT(Sotto("dr-rivera", "--crl " + Quote(empty_file) + " invite").err,
              HasSubstr("has been revoked"));

  CliRun not_a_crl = Sotto("dr-rivera", "--crl " + Quote(certs_->ca.cert_path) + " invite");
  EXPECT_EQ(not_a_crl.exit_code, 1);
  EXPECT_THAT(not_a_crl.err, HasSubstr("no PEM certificate revocation list"));
}

}  // namespace
}  // namespace sotto

// The promise Sotto rests on: the server never holds a plaintext. Send
// messages with distinctive words, then read every byte the server wrote and
// look for them. The same scan must find the ciphertexts, so we know it
// actually reads the files the envelopes are in. On both stores: RocksDB in
// the data directory, and PostgreSQL's data directory (--store postgres://).

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "e2e_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/files.h"
#include "testing/postgres_instance.h"
#include "testing/server_process.h"
#include "testing/status_matchers.h"

namespace sotto {
namespace {

using ::sotto::testing::RawConnection;
using ::sotto::testing::ReadEverything;
using ::sotto::testing::RegisterClient;
using ::sotto::testing::RegisterTherapist;

std::string RandomWord() {
  std::string bytes(8, '\0');
  for (char& c : bytes) c = static_cast<char>(std::rand());
  return absl::BytesToHexString(bytes);
}

// Sends messages with distinctive words through `server` (a letter, a
// held message, both directions), then stops the server and, with
// `stop_storage`, whatever holds its data, and reads every file under
// `dirs`: the envelopes' ciphertexts must be there (in `dirs`, or the scan
// proves nothing), no plaintext anywhere.
void ExpectCiphertextButNoPlaintext(sotto::testing::ServerProcess& server,
                                    const std::function<absl::Status()>& stop_storage,
                                    const std::vector<std::string>& dirs) {
  ASSERT_OK_AND_ASSIGN(auto rivera, RegisterTherapist(server, "dr-rivera"));
  ASSERT_OK_AND_ASSIGN(auto sam, RegisterClient(server.address(), "sam", rivera));

  std::srand(static_cast<unsigned>(absl::ToUnixNanos(absl::Now())));
  std::vector<std::string> secrets;
  for (int i = 0; i < 20; ++i) {
    secrets.push_back(absl::StrCat("confidential-", RandomWord(), " I have not slept in days"));
    ASSERT_OK(sam.client->SendText("dr-rivera", secrets.back()));
  }
  // A letter, whose subject is as private as its body.
  secrets.push_back(absl::StrCat("subject-", RandomWord(), " about my father"));
  const std::string letter_body = absl::StrCat("letter-", RandomWord(), " He called again.");
  ASSERT_OK(sam.client->SendLetter("dr-rivera", secrets.back(), letter_body));
  // A message held for later delivery sits in the server's schedule.
  const std::string held = absl::StrCat("held-", RandomWord(), " for the morning");
  ASSERT_OK(sam.client->SendText("dr-rivera", held, {absl::Now() + absl::Hours(1)}));
  // And one from the therapist, which goes out on a continuing session.
  ASSERT_OK(rivera.client->Sync());
  secrets.push_back(absl::StrCat("confidential-", RandomWord(), " see you Thursday"));
  ASSERT_OK(rivera.client->SendText("sam", secrets.back()));

  // What the server queued for sam, as sam's device would fetch it.
  ASSERT_OK_AND_ASSIGN(auto queued, RawConnection(server.address(), sam)->Fetch(0, 100));
  // The therapist's message, and the delivery receipt for sam's.
  ASSERT_EQ(queued.envelopes_size(), 2);

  // A clean stop, so the store has written all it will write.
  ASSERT_OK(server.Stop());
  ASSERT_OK(stop_storage());
  std::string stored;
  for (const std::string& dir : dirs) stored += ReadEverything(dir);
  ASSERT_FALSE(stored.empty());
  for (const auto& envelope : queued.envelopes()) {
    EXPECT_NE(stored.find(envelope.ciphertext()), std::string::npos)
        << "the scan must see the envelope's ciphertext, or it proves nothing";
  }
  for (const std::string& secret : secrets) {
    EXPECT_EQ(stored.find(secret), std::string::npos) << "plaintext on the server: " << secret;
    // Not even the distinctive word alone.
    std::string word = secret.substr(0, secret.find(' '));
    EXPECT_EQ(stored.find(word), std::string::npos) << word;
  }
  EXPECT_EQ(stored.find("I have not slept"), std::string::npos);
  EXPECT_EQ(stored.find(letter_body), std::string::npos);
  EXPECT_EQ(stored.find(held), std::string::npos);
  EXPECT_EQ(stored.find("about my father"), std::string::npos);

  // And these were real messages: the therapist decrypted the client's.
  ASSERT_OK_AND_ASSIGN(auto view, rivera.client->ReadConversation("sam"));
  ASSERT_EQ(view.size(), secrets.size());
  for (size_t i = 0; i + 2 < view.size(); ++i) EXPECT_EQ(view[i].text, secrets[i]);
  EXPECT_EQ(view[secrets.size() - 2].subject, secrets[secrets.size() - 2]);
  EXPECT_EQ(view[secrets.size() - 2].text, letter_body);
  EXPECT_EQ(view.back().text, secrets.back());
}

TEST(PlaintextScanTest, ServerDataHoldsCiphertextButNoPlaintext) {
  ASSERT_OK_AND_ASSIGN(auto server, sotto::testing::ServerProcess::Start());
  ExpectCiphertextButNoPlaintext(*server, [] { return absl::OkStatus(); }, {server->data_dir()});
}

// With --store postgres://, the messages live in PostgreSQL's files (tables
// and WAL): the same scan over its whole data directory, and the server's
// own directory (key files, no database) too. The ciphertexts must be found
// in PostgreSQL's directory alone, which proves the data went there.
TEST(PlaintextScanTest, PostgresDataHoldsCiphertextButNoPlaintext) {
  ASSERT_OK_AND_ASSIGN(auto pg, sotto::testing::PostgresInstance::Start());
  ASSERT_OK_AND_ASSIGN(auto server,
                       sotto::testing::ServerProcess::Start(
                           sotto::testing::ServerProcess::kDefaultBinary, {"--store", pg->url()}));
  ExpectCiphertextButNoPlaintext(*server, [&pg] { return pg->Stop(); }, {pg->data_dir()});
  const std::string own = ReadEverything(server->data_dir());
  for (const std::string& secret : {"I have not slept", "about my father", "see you Thursday"}) {
    EXPECT_EQ(own.find(secret), std::string::npos) << secret;
  }
  EXPECT_FALSE(std::filesystem::exists(server->data_dir() + "/CURRENT"))
      << "with --store postgres:// no RocksDB may be made in the data directory";
}

}  // namespace
}  // namespace sotto

// A client of a therapist, in C++ against the installed libsotto
// (find_package(Sotto)). Two commands, each one process, as an app would be
// started twice:
//
//   sotto-example-cpp register SERVER PROFILE_DIR HANDLE INVITE THERAPIST TEXT
//       creates the profile with the therapist's invite and sends TEXT
//   sotto-example-cpp read PROFILE_DIR THERAPIST
//       opens the profile, fetches new messages, prints the conversation
//
// The passphrase comes from $SOTTO_EXAMPLE_PASSPHRASE. The profile is
// created with fast key derivation (KeyDerivation::kFastForTestsOnly) so
// that the test that runs this is quick; a real app keeps the default.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "sotto/client.h"

namespace {

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
  return 1;
}

std::string Passphrase() {
  const char* p = std::getenv("SOTTO_EXAMPLE_PASSPHRASE");
  return p != nullptr ? p : "";
}

int Register(char** argv) {
  sotto::RegisterOptions options;
  options.server_address = argv[0];
  options.profile_dir = argv[1];
  options.handle = argv[2];
  options.invite_code = argv[3];
  options.role = sotto::Role::kClient;
  options.passphrase = Passphrase();
  options.key_derivation = sotto::KeyDerivation::kFastForTestsOnly;
  absl::StatusOr<std::unique_ptr<sotto::Client>> client = sotto::Client::Register(options);
  if (!client.ok()) return Fail("register", client.status());
  std::printf("registered %s\n", (*client)->handle().c_str());

  absl::StatusOr<sotto::SendResult> sent = (*client)->SendText(argv[4], argv[5]);
  if (!sent.ok()) return Fail("send", sent.status());
  std::printf("sent to %s: %s\n", argv[4], argv[5]);
  return 0;
}

int Read(char** argv) {
  sotto::OpenOptions options;
  options.profile_dir = argv[0];
  options.passphrase = Passphrase();
  absl::StatusOr<std::unique_ptr<sotto::Client>> client = sotto::Client::Open(options);
  if (!client.ok()) return Fail("open", client.status());
  absl::StatusOr<sotto::SyncStats> synced = (*client)->Sync();
  if (!synced.ok()) return Fail("sync", synced.status());
  absl::StatusOr<std::vector<sotto::Message>> messages = (*client)->ReadConversation(argv[1]);
  if (!messages.ok()) return Fail("read", messages.status());
  for (const sotto::Message& m : *messages) {
    std::printf("%s %s: %s\n", m.outgoing ? "to" : "from", m.peer.c_str(), m.text.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "register" && argc == 8) return Register(argv + 2);
  if (command == "read" && argc == 4) return Read(argv + 2);
  std::fprintf(stderr,
               "usage: %s register SERVER PROFILE_DIR HANDLE INVITE THERAPIST TEXT\n"
               "       %s read PROFILE_DIR THERAPIST\n",
               argv[0], argv[0]);
  return 2;
}

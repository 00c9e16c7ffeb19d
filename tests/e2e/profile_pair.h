#ifndef SOTTO_TESTS_E2E_PROFILE_PAIR_H_
#define SOTTO_TESTS_E2E_PROFILE_PAIR_H_

// A therapist and a client of theirs, each with a real profile (encrypted
// RocksDB in its own directory, sealed under kPassphrase with the fast test
// key derivation, never auto-locked), registered on the real server: the
// fixture of tests that look at what a profile keeps on disk.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "e2e_support.h"
#include "gtest/gtest.h"
#include "sotto/client.h"
#include "testing/files.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto::testing {

using ::sotto::testing::AnyFileContains;
using ::sotto::testing::ReadFilesUnder;

class ProfilePairTest : public ::testing::Test {
 protected:
  static constexpr char kPassphrase[] = "a profile passphrase";
  static constexpr char kTherapist[] = "dr-rivera-okafor";
  static constexpr char kClient[] = "sam-whitfield";

  // Extra sotto-server flags for a fixture that needs them.
  virtual std::vector<std::string> ServerArgs() const { return {}; }

  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_,
                         ServerProcess::Start(ServerProcess::kDefaultBinary, ServerArgs()));
    ASSERT_OK_AND_ASSIGN(std::string code, EnrolmentCode(*server_, kTherapist));
    RegisterOptions options = Options(therapist_dir());
    options.handle = kTherapist;
    options.role = Role::kTherapist;
    options.enrolment_code = code;
    ASSERT_OK_AND_ASSIGN(therapist_, Client::Register(options));
    ASSERT_OK_AND_ASSIGN(Invite invite, therapist_->CreateInvite());
    options = Options(client_dir());
    options.handle = kClient;
    options.invite_code = invite.code;
    ASSERT_OK_AND_ASSIGN(client_, Client::Register(options));
  }

  // Registration options for a profile in `dir` on this server.
  RegisterOptions Options(const std::string& dir) const {
    RegisterOptions options;
    options.server_address = server_->address();
    options.profile_dir = dir;
    options.passphrase = kPassphrase;
    options.key_derivation = KeyDerivation::kFastForTestsOnly;
    options.auto_lock_after = absl::InfiniteDuration();
    return options;
  }

  // Opens the profile in `dir` again (its Client must be gone first).
  absl::StatusOr<std::unique_ptr<Client>> Reopen(const std::string& dir) const {
    OpenOptions options;
    options.profile_dir = dir;
    options.passphrase = kPassphrase;
    options.auto_lock_after = absl::InfiniteDuration();
    return Client::Open(options);
  }

  std::string therapist_dir() const { return dir_.sub("t"); }
  std::string client_dir() const { return dir_.sub("c"); }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> therapist_;
  std::unique_ptr<Client> client_;
};

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_E2E_PROFILE_PAIR_H_

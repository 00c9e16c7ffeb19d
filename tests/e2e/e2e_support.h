#ifndef SOTTO_TESTS_E2E_E2E_SUPPORT_H_
#define SOTTO_TESTS_E2E_E2E_SUPPORT_H_

// Helpers for end-to-end tests: register real clients against a real server
// and, where a test must play the network (reorder, redeliver), talk to the
// server as one of those devices with the same credentials.

#include <cstdio>
#include <memory>
#include <string>

#include "client-lib/storage/memory_store.h"
#include "client-lib/transport/connection.h"
#include "gtest/gtest.h"
#include "sotto/client.h"
#include "sotto/client/records.pb.h"
#include "sotto/local_store.h"
#include "testing/server_process.h"

namespace sotto::testing {

// A registered client whose store the test can still look into.
struct Party {
  std::unique_ptr<Client> client;
  client::storage::LocalStore* store = nullptr;  // owned by `client`
};

inline absl::StatusOr<Party> RegisterWith(RegisterOptions options) {
  auto store = client::storage::NewMemoryStore();
  client::storage::LocalStore* raw = store.get();
  auto registered = Client::Register(options, std::move(store));
  if (!registered.ok()) return registered.status();
  return Party{std::move(*registered), raw};
}

// Runs `sotto-server enrol-therapist --quiet` against `server`'s data
// directory, as an operator would, and returns the code it prints.
inline absl::StatusOr<std::string> EnrolmentCode(const ServerProcess& server,
                                                 const std::string& handle) {
  return IssueEnrolmentCode(server.data_dir(), handle, SOTTO_SERVER_BINARY);
}

// An operator-enrolled therapist.
inline absl::StatusOr<Party> RegisterTherapist(const ServerProcess& server,
                                               const std::string& handle) {
  auto code = EnrolmentCode(server, handle);
  if (!code.ok()) return code.status();
  RegisterOptions options;
  options.server_address = server.address();
  options.handle = handle;
  options.role = Role::kTherapist;
  options.enrolment_code = *code;
  return RegisterWith(options);
}

// A client who registered with `therapist`'s invite (and so is linked).
inline absl::StatusOr<Party> RegisterClient(const std::string& server_address,
                                            const std::string& handle, const Party& therapist) {
  auto invite = therapist.client->CreateInvite();
  if (!invite.ok()) return invite.status();
  RegisterOptions options;
  options.server_address = server_address;
  options.handle = handle;
  options.role = Role::kClient;
  options.invite_code = invite->code;
  return RegisterWith(options);
}

// A second connection to the server authenticated as `party`'s device, for
// tests that replay or reorder envelopes the way a network could.
inline std::unique_ptr<client::transport::Connection> RawConnection(
    const std::string& server_address, const Party& party,
    client::transport::Keepalive keepalive = {}) {
  auto profile_bytes = party.store->Get(client::storage::Space::kMeta, "profile");
  EXPECT_TRUE(profile_bytes.ok() && profile_bytes->has_value());
  sotto::client::Profile profile;
  EXPECT_TRUE(profile.ParseFromString(**profile_bytes));
  auto connection = std::make_unique<client::transport::Connection>(
      server_address, client::transport::TlsConfig{}, keepalive);
  connection->SetCredentials({profile.handle(), profile.device_id(), profile.device_secret()});
  return connection;
}

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_E2E_E2E_SUPPORT_H_

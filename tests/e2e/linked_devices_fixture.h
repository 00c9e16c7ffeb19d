#ifndef SOTTO_TESTS_E2E_LINKED_DEVICES_FIXTURE_H_
#define SOTTO_TESTS_E2E_LINKED_DEVICES_FIXTURE_H_

// A therapist and a client through the real server (ProfilePairTest), with
// helpers to link a second device of the therapist's account
// (linked_devices_test, own_devices_test).

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "profile_pair.h"
#include "sotto/devices.h"
#include "testing/status_matchers.h"

namespace sotto {

class LinkedDevicesTest : public sotto::testing::ProfilePairTest {
 protected:
  JoinOptions Joining(const std::string& code, const std::string& dir) const {
    JoinOptions options;
    options.code = code;
    options.device_name = "office desktop";
    options.profile_dir = dir;
    options.passphrase = kPassphrase;
    options.key_derivation = KeyDerivation::kFastForTestsOnly;
    options.server_address = server_->address();
    options.auto_lock_after = absl::InfiniteDuration();
    options.poll_interval = absl::Milliseconds(20);
    return options;
  }

  // The therapist's LinkDevice on a thread; `code` is set once shown.
  struct Linking {
    absl::Notification shown;
    std::string code;
    absl::Status result;
    std::thread thread;
  };
  std::unique_ptr<Linking> StartLinking(Client& from,
                                        absl::Duration poll_interval = absl::Milliseconds(20)) {
    auto linking = std::make_unique<Linking>();
    Linking* l = linking.get();
    l->thread = std::thread([&from, l, poll_interval] {
      LinkDeviceOptions options;
      options.poll_interval = poll_interval;
      options.on_code = [l](const std::string& code, absl::Time) {
        l->code = code;
        l->shown.Notify();
      };
      l->result = from.LinkDevice(options);
      if (!l->shown.HasBeenNotified()) l->shown.Notify();
    });
    l->shown.WaitForNotification();
    return linking;
  }

  // Links a second therapist device in `dir`; returns its Client.
  std::unique_ptr<Client> LinkSecond(const std::string& dir) {
    std::unique_ptr<Linking> linking = StartLinking(*therapist_);
    absl::StatusOr<JoinResult> joined = Client::JoinWithLinkCode(Joining(linking->code, dir));
    linking->thread.join();
    EXPECT_OK(linking->result);
    EXPECT_OK(joined.status());
    if (!joined.ok()) return nullptr;
    EXPECT_EQ(joined->contacts, 1);  // the client, with its pinned key
    return std::move(joined->client);
  }

  static std::vector<std::string> Names(Client& c) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<DeviceEntry>> devices = c.ListDevices();
    EXPECT_OK(devices.status());
    if (!devices.ok()) return out;
    for (const DeviceEntry& d : *devices) {
      out.push_back(absl::StrCat(d.device_id, ":", d.name, d.this_device ? " *" : ""));
    }
    return out;
  }

  static std::vector<std::string> Texts(Client& c, const std::string& peer) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<Message>> messages = c.ReadConversation(peer);
    EXPECT_OK(messages.status());
    if (!messages.ok()) return out;
    for (const Message& m : *messages) out.push_back((m.outgoing ? "> " : "< ") + m.text);
    return out;
  }

  // The client's first exchange, so that it has a session and a pin.
  void Greet() {
    ASSERT_OK(client_->SendText(kTherapist, "hello").status());
    ASSERT_OK(therapist_->Sync().status());
    ASSERT_OK(therapist_->SendText(kClient, "welcome").status());
    ASSERT_OK(client_->Sync().status());
  }
};

}  // namespace sotto

#endif  // SOTTO_TESTS_E2E_LINKED_DEVICES_FIXTURE_H_

// The C API's contract where it differs from sotto::Client's: every entry
// point refuses a NULL handle or argument with a status and a message that
// names it (and does not crash), a wrong passphrase is PERMISSION_DENIED,
// and a listener sees new messages and can be stopped from another thread
// or from its own callback. Uses only sotto/sotto.h against the real server.

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sotto/sotto.h"
#include "testing/server_process.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace {

using ::sotto::testing::ServerProcess;
using ::testing::HasSubstr;

constexpr char kPassphrase[] = "correct horse battery staple";

// A call's status and message (freed here).
struct Outcome {
  int status = -1;
  std::string message;
};

Outcome Capture(const std::function<int(char**)>& call) {
  char* err = reinterpret_cast<char*>(0x1);  // the call must overwrite it
  Outcome out;
  out.status = call(&err);
  if (err != nullptr) out.message = err;
  sotto_free_string(err);
  return out;
}

class CapiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start()); }
  void TearDown() override {
    for (sotto_client* c : clients_) sotto_client_close(c);
  }

  sotto_register_options* Options(const std::string& handle, sotto_role role,
                                  const std::string& code) {
    sotto_register_options* o = sotto_register_options_create();
    sotto_register_options_set_profile_dir(o, dir_.sub(handle).c_str());
    sotto_register_options_set_server_address(o, server_->address().c_str());
    sotto_register_options_set_handle(o, handle.c_str());
    sotto_register_options_set_role(o, role);
    sotto_register_options_set_passphrase(o, kPassphrase, strlen(kPassphrase));
    sotto_register_options_set_fast_key_derivation_for_tests(o, 1);
    if (role == SOTTO_ROLE_THERAPIST) sotto_register_options_set_enrolment_code(o, code.c_str());
    if (role == SOTTO_ROLE_CLIENT) sotto_register_options_set_invite_code(o, code.c_str());
    return o;
  }

  sotto_client* Register(const std::string& handle, sotto_role role, const std::string& code) {
    sotto_register_options* o = Options(handle, role, code);
    sotto_client* client = nullptr;
    Outcome r = Capture([&](char** err) { return sotto_client_register(o, &client, err); });
    sotto_register_options_destroy(o);
    EXPECT_EQ(r.status, SOTTO_OK) << r.message;
    if (client != nullptr) clients_.push_back(client);
    return client;
  }

  // "dr-x", enrolled, and "pat", linked to them by invite.
  void RegisterPair() {
    ASSERT_OK_AND_ASSIGN(std::string code,
                         sotto::testing::IssueEnrolmentCode(server_->data_dir(), "dr-x"));
    dr_ = Register("dr-x", SOTTO_ROLE_THERAPIST, code);
    ASSERT_NE(dr_, nullptr);
    char* invite = nullptr;
    Outcome r =
        Capture([&](char** err) { return sotto_create_invite(dr_, 0, &invite, nullptr, err); });
    ASSERT_EQ(r.status, SOTTO_OK) << r.message;
    pat_ = Register("pat", SOTTO_ROLE_CLIENT, invite);
    sotto_free_string(invite);
    ASSERT_NE(pat_, nullptr);
  }

  int SendToDr(const std::string& text) {
    return Capture([&](char** err) {
             return sotto_send_text(pat_, "dr-x", text.data(), text.size(), 0, nullptr, err);
           })
        .status;
  }

  std::unique_ptr<ServerProcess> server_;
  sotto::testing::TempDir dir_;
  std::vector<sotto_client*> clients_;
  sotto_client* dr_ = nullptr;
  sotto_client* pat_ = nullptr;
};

TEST(CapiBasicsTest, VersionAndStatusNames) {
  EXPECT_STREQ(sotto_version(), "0.1.0");
  EXPECT_STREQ(sotto_status_name(SOTTO_OK), "OK");
  EXPECT_STREQ(sotto_status_name(SOTTO_PERMISSION_DENIED), "PERMISSION_DENIED");
  EXPECT_STREQ(sotto_status_name(SOTTO_UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_STREQ(sotto_status_name(99), "UNKNOWN_CODE");
  EXPECT_STREQ(sotto_status_name(-1), "UNKNOWN_CODE");
}

// Every fallible call that takes a client, with NULL for it.
TEST(CapiBasicsTest, EveryCallRefusesANullClientByName) {
  sotto_client* none = nullptr;
  int n = 0;
  int64_t t = 0;
  char* s = nullptr;
  sotto_policy* policy = sotto_policy_create();
  const std::vector<std::pair<std::string, std::function<int(char**)>>> calls = {
      {"sotto_client_lock", [&](char** e) { return sotto_client_lock(none, e); }},
      {"sotto_client_unlock", [&](char** e) { return sotto_client_unlock(none, "x", 1, e); }},
      {"sotto_client_is_locked", [&](char** e) { return sotto_client_is_locked(none, &n, e); }},
      {"sotto_send_text",
       [&](char** e) { return sotto_send_text(none, "a", "b", 1, 0, nullptr, e); }},
      {"sotto_send_letter",
       [&](char** e) { return sotto_send_letter(none, "a", "s", 1, "b", 1, 0, nullptr, e); }},
      {"sotto_reply", [&](char** e) { return sotto_reply(none, "abcdef", "b", 1, 0, nullptr, e); }},
      {"sotto_send_to_care_team",
       [&](char** e) { return sotto_send_to_care_team(none, "b", 1, 0, nullptr, e); }},
      {"sotto_cancel_scheduled", [&](char** e) { return sotto_cancel_scheduled(none, "abc", e); }},
      {"sotto_retry_unsent", [&](char** e) { return sotto_retry_unsent(none, &n, e); }},
      {"sotto_sync", [&](char** e) { return sotto_sync(none, nullptr, e); }},
      {"sotto_listen",
       [&](char** e) { return sotto_listen(none, 1, nullptr, nullptr, nullptr, e); }},
      {"sotto_stop_listening", [&](char** e) { return sotto_stop_listening(none, e); }},
      {"sotto_list_conversations",
       [&](char** e) {
         sotto_conversation_list* l = nullptr;
         return sotto_list_conversations(none, &l, e);
       }},
      {"sotto_read_conversation",
       [&](char** e) {
         sotto_message_list* l = nullptr;
         return sotto_read_conversation(none, "a", &l, e);
       }},
      {"sotto_queue_list",
       [&](char** e) {
         sotto_queue* q = nullptr;
         return sotto_queue_list(none, 0, &q, e);
       }},
      {"sotto_queue_snooze", [&](char** e) { return sotto_queue_snooze(none, "a", 1, e); }},
      {"sotto_queue_close", [&](char** e) { return sotto_queue_close(none, "a", e); }},
      {"sotto_queue_claim", [&](char** e) { return sotto_queue_claim(none, "a", e); }},
      {"sotto_set_policy", [&](char** e) { return sotto_set_policy(none, policy, e); }},
      {"sotto_get_policy",
       [&](char** e) {
         sotto_policy* p = nullptr;
         return sotto_get_policy(none, "a", &p, e);
       }},
      {"sotto_create_invite", [&](char** e) { return sotto_create_invite(none, 0, &s, &t, e); }},
      {"sotto_accept_invite", [&](char** e) { return sotto_accept_invite(none, "a", &s, e); }},
      {"sotto_list_links",
       [&](char** e) {
         sotto_link_list* l = nullptr;
         return sotto_list_links(none, &l, e);
       }},
      {"sotto_end_link", [&](char** e) { return sotto_end_link(none, "a", e); }},
      {"sotto_safety_number_get",
       [&](char** e) {
         sotto_safety_number* sn = nullptr;
         return sotto_safety_number_get(none, "a", &sn, e);
       }},
      {"sotto_mark_verified", [&](char** e) { return sotto_mark_verified(none, "a", e); }},
      {"sotto_accept_identity_change",
       [&](char** e) { return sotto_accept_identity_change(none, "a", "1", e); }},
      {"sotto_set_read_receipts", [&](char** e) { return sotto_set_read_receipts(none, 1, e); }},
      {"sotto_get_read_receipts", [&](char** e) { return sotto_get_read_receipts(none, &n, e); }},
      {"sotto_set_email_notifications",
       [&](char** e) {
         return sotto_set_email_notifications(none, "a@b.c", SOTTO_NO_DIGEST, nullptr, e);
       }},
      {"sotto_disable_notifications",
       [&](char** e) { return sotto_disable_notifications(none, e); }},
      {"sotto_get_notification_settings",
       [&](char** e) {
         sotto_notification_settings* ns = nullptr;
         return sotto_get_notification_settings(none, &ns, e);
       }},
      {"sotto_change_passphrase",
       [&](char** e) { return sotto_change_passphrase(none, "a", 1, "b", 1, e); }},
      {"sotto_delete_account", [&](char** e) { return sotto_delete_account(none, "a", e); }},
  };
  for (const auto& [name, call] : calls) {
    Outcome r = Capture(call);
    EXPECT_EQ(r.status, SOTTO_INVALID_ARGUMENT) << name;
    EXPECT_EQ(r.message, name + ": client is NULL") << name;
  }
  sotto_policy_free(policy);
  // Getters and frees of NULL answer as empty; nothing crashes.
  sotto_client_close(nullptr);
  sotto_message_list_free(nullptr);
  EXPECT_EQ(sotto_client_handle(nullptr), nullptr);
  EXPECT_EQ(sotto_message_list_count(nullptr), 0u);
  EXPECT_EQ(sotto_message_list_get(nullptr, 0), nullptr);
  size_t len = 7;
  EXPECT_STREQ(sotto_message_text(nullptr, &len), "");
  EXPECT_EQ(len, 0u);
}

TEST(CapiBasicsTest, CallsWithoutAClientNameTheBadArgument) {
  sotto_client* out = reinterpret_cast<sotto_client*>(0x1);
  Outcome r = Capture([&](char** e) { return sotto_client_register(nullptr, &out, e); });
  EXPECT_EQ(r.status, SOTTO_INVALID_ARGUMENT);
  EXPECT_EQ(r.message, "sotto_client_register: options is NULL");
  EXPECT_EQ(out, nullptr);
  r = Capture([&](char** e) { return sotto_client_open(nullptr, nullptr, e); });
  EXPECT_EQ(r.message, "sotto_client_open: out is NULL");

  sotto_register_options* o = sotto_register_options_create();
  sotto_register_options_set_role(o, static_cast<sotto_role>(7));
  r = Capture([&](char** e) { return sotto_client_register(o, &out, e); });
  EXPECT_EQ(r.status, SOTTO_INVALID_ARGUMENT);
  EXPECT_THAT(r.message, HasSubstr("role 7 is neither"));
  sotto_register_options_destroy(o);

  r = Capture([&](char** e) { return sotto_check_passphrase_strength("short", 5, nullptr, 0, e); });
  EXPECT_EQ(r.status, SOTTO_INVALID_ARGUMENT);
  EXPECT_THAT(r.message, HasSubstr("too short"));
  r = Capture([&](char** e) { return sotto_check_passphrase_strength(nullptr, 3, nullptr, 0, e); });
  EXPECT_EQ(r.message, "sotto_check_passphrase_strength: passphrase is NULL but its length is 3");
  const char* inputs[] = {"pat", nullptr};
  r = Capture([&](char** e) {
    return sotto_check_passphrase_strength(kPassphrase, strlen(kPassphrase), inputs, 2, e);
  });
  EXPECT_EQ(r.message, "sotto_check_passphrase_strength: user_inputs[1] is NULL");
  r = Capture([&](char** e) {
    return sotto_check_passphrase_strength(kPassphrase, strlen(kPassphrase), inputs, 1, e);
  });
  EXPECT_EQ(r.status, SOTTO_OK) << r.message;
  EXPECT_EQ(r.message, "");  // errmsg is set to NULL on success

  r = Capture([&](char** e) { return sotto_parse_invite_code("ABC", nullptr, e); });
  EXPECT_EQ(r.status, SOTTO_INVALID_ARGUMENT);
  EXPECT_THAT(r.message, HasSubstr("sotto_parse_invite_code: "));
}

TEST_F(CapiTest, BadArgumentsToALiveClientAreNamedAndLoseNothing) {
  ASSERT_NO_FATAL_FAILURE(RegisterPair());
  Outcome r =
      Capture([&](char** e) { return sotto_send_text(pat_, nullptr, "x", 1, 0, nullptr, e); });
  EXPECT_EQ(r.status, SOTTO_INVALID_ARGUMENT);
  EXPECT_EQ(r.message, "sotto_send_text: to is NULL");
  r = Capture([&](char** e) { return sotto_send_text(pat_, "dr-x", nullptr, 5, 0, nullptr, e); });
  EXPECT_EQ(r.message, "sotto_send_text: text is NULL but its length is 5");
  r = Capture([&](char** e) { return sotto_send_text(pat_, "dr-x", "", 0, 0, nullptr, e); });
  EXPECT_EQ(r.status, SOTTO_INVALID_ARGUMENT);
  EXPECT_THAT(r.message, HasSubstr("sotto_send_text: "));
  r = Capture([&](char** e) { return sotto_read_conversation(pat_, "dr-x", nullptr, e); });
  EXPECT_EQ(r.message, "sotto_read_conversation: out is NULL");
  r = Capture([&](char** e) { return sotto_set_policy(dr_, nullptr, e); });
  EXPECT_EQ(r.message, "sotto_set_policy: policy is NULL");
  r = Capture([&](char** e) { return sotto_delete_account(pat_, "not-pat", e); });
  EXPECT_EQ(r.status, SOTTO_INVALID_ARGUMENT);

  // A client has no queue: the server's refusal comes through with its code.
  sotto_queue* queue = reinterpret_cast<sotto_queue*>(0x1);
  r = Capture([&](char** e) { return sotto_queue_list(pat_, 0, &queue, e); });
  EXPECT_EQ(r.status, SOTTO_PERMISSION_DENIED);
  EXPECT_EQ(queue, nullptr);

  // None of that lost or sent anything: the history holds just what was sent.
  ASSERT_EQ(SendToDr("still here"), SOTTO_OK);
  sotto_message_list* history = nullptr;
  r = Capture([&](char** e) { return sotto_read_conversation(pat_, "dr-x", &history, e); });
  ASSERT_EQ(r.status, SOTTO_OK) << r.message;
  ASSERT_EQ(sotto_message_list_count(history), 1u);
  EXPECT_STREQ(sotto_message_text(sotto_message_list_get(history, 0), nullptr), "still here");
  sotto_message_list_free(history);
}

TEST_F(CapiTest, WrongPassphraseOnOpenIsPermissionDenied) {
  ASSERT_NO_FATAL_FAILURE(RegisterPair());
  sotto_client_close(pat_);
  clients_.erase(std::find(clients_.begin(), clients_.end(), pat_));
  sotto_open_options* o = sotto_open_options_create();
  sotto_open_options_set_profile_dir(o, dir_.sub("pat").c_str());
  sotto_open_options_set_passphrase(o, "wrong", 5);
  sotto_client* opened = reinterpret_cast<sotto_client*>(0x1);
  Outcome r = Capture([&](char** e) { return sotto_client_open(o, &opened, e); });
  EXPECT_EQ(r.status, SOTTO_PERMISSION_DENIED) << r.message;
  EXPECT_THAT(r.message, HasSubstr("sotto_client_open: "));
  EXPECT_EQ(opened, nullptr);

  sotto_open_options_set_passphrase(o, kPassphrase, strlen(kPassphrase));
  r = Capture([&](char** e) { return sotto_client_open(o, &opened, e); });
  ASSERT_EQ(r.status, SOTTO_OK) << r.message;
  EXPECT_STREQ(sotto_client_handle(opened), "pat");
  sotto_client_close(opened);

  sotto_open_options_set_profile_dir(o, dir_.sub("nobody").c_str());
  r = Capture([&](char** e) { return sotto_client_open(o, &opened, e); });
  EXPECT_EQ(r.status, SOTTO_NOT_FOUND) << r.message;
  sotto_open_options_destroy(o);
}

// What a listener saw, shared with the test's thread.
struct Seen {
  std::atomic<int> messages{0};
  std::string first_text;
  bool stop_inside = false;
  sotto_client* client = nullptr;
};

int OnEvent(void* user_data, const sotto_event* event) {
  auto* seen = static_cast<Seen*>(user_data);
  if (sotto_event_kind_of(event) != SOTTO_EVENT_MESSAGE) return 1;
  size_t len = 0;
  const char* text = sotto_message_text(sotto_event_message(event), &len);
  if (seen->messages == 0) seen->first_text.assign(text, len);
  if (seen->stop_inside) {
    // From inside the callback: returns at once, the listen ends after us.
    if (sotto_stop_listening(seen->client, nullptr) != SOTTO_OK) return 0;
  }
  ++seen->messages;
  return 1;
}

TEST_F(CapiTest, ListenerSeesANewMessageAndStopsFromAnotherThread) {
  ASSERT_NO_FATAL_FAILURE(RegisterPair());
  Seen seen;
  Outcome listened;
  sotto_sync_stats* stats = nullptr;
  std::thread listener([&] {
    listened =
        Capture([&](char** e) { return sotto_listen(dr_, 60'000, OnEvent, &seen, &stats, e); });
  });
  ASSERT_EQ(SendToDr("are you there?"), SOTTO_OK);
  for (int i = 0; i < 200 && seen.messages == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(seen.messages, 1) << "the callback did not fire within 10 s";
  EXPECT_EQ(seen.first_text, "are you there?");

  // The listen now waits for the next message (idle timeout 60 s): the stop
  // must end it, and returns only once it has.
  auto start = std::chrono::steady_clock::now();
  Outcome stopped = Capture([&](char** e) { return sotto_stop_listening(dr_, e); });
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(stopped.status, SOTTO_OK) << stopped.message;
  listener.join();
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(listened.status, SOTTO_OK) << listened.message;
  ASSERT_NE(stats, nullptr);
  EXPECT_EQ(sotto_sync_stats_received(stats), 1);
  sotto_sync_stats_free(stats);

  // A stop ends only the listens running then: the next one still works.
  ASSERT_EQ(SendToDr("second"), SOTTO_OK);
  Outcome again =
      Capture([&](char** e) { return sotto_listen(dr_, 500, OnEvent, &seen, nullptr, e); });
  EXPECT_EQ(again.status, SOTTO_OK) << again.message;
  EXPECT_EQ(seen.messages, 2);
}

TEST_F(CapiTest, StopFromInsideTheCallbackEndsTheListen) {
  ASSERT_NO_FATAL_FAILURE(RegisterPair());
  ASSERT_EQ(SendToDr("one"), SOTTO_OK);
  ASSERT_EQ(SendToDr("two"), SOTTO_OK);
  Seen seen;
  seen.stop_inside = true;
  seen.client = dr_;
  Outcome r =
      Capture([&](char** e) { return sotto_listen(dr_, 60'000, OnEvent, &seen, nullptr, e); });
  EXPECT_EQ(r.status, SOTTO_OK) << r.message;
  EXPECT_EQ(seen.messages, 1) << "the listen went on after the stop";
  EXPECT_EQ(seen.first_text, "one");
}

TEST_F(CapiTest, CloseFromAnotherThreadEndsARunningListen) {
  ASSERT_NO_FATAL_FAILURE(RegisterPair());
  clients_.erase(std::find(clients_.begin(), clients_.end(), dr_));
  Outcome listened;
  std::atomic<bool> started{false};
  std::thread listener([&] {
    started = true;
    listened =
        Capture([&](char** e) { return sotto_listen(dr_, 60'000, nullptr, nullptr, nullptr, e); });
  });
  while (!started) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  sotto_client_close(dr_);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  listener.join();
  EXPECT_EQ(listened.status, SOTTO_OK) << listened.message;
}

}  // namespace

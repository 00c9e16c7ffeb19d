// The C API's contract where it differs from sotto::Client's: every entry
// point refuses a NULL handle or argument with a status and a message that
// names it (and does not crash), a wrong passphrase is PERMISSION_DENIED,
// and a listener sees new messages and can be stopped from another thread
// or from its own callback, and sees receipts and identity notices live.
// Uses only sotto/sotto.h against the real server.

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "capi/capi_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sotto/sotto.h"
#include "testing/server_process.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace {

using ::sotto::testing::Capture;
using ::sotto::testing::Outcome;
using ::sotto::testing::ServerProcess;
using ::testing::HasSubstr;

constexpr char kPassphrase[] = "correct horse battery staple";

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

// Every fallible call that takes a client, with NULL for it (`none`); the
// out-parameters are valid so that only the client is wrong.
sotto_client* const none = nullptr;
int int_out = 0;
int64_t time_out = 0;
char* string_out = nullptr;
const std::vector<std::pair<std::string, std::function<int(char**)>>> kNullClientCalls = {
    {"sotto_client_lock", [](char** e) { return sotto_client_lock(none, e); }},
    {"sotto_client_unlock", [](char** e) { return sotto_client_unlock(none, "x", 1, e); }},
    {"sotto_client_is_locked", [](char** e) { return sotto_client_is_locked(none, &int_out, e); }},
    {"sotto_send_text", [](char** e) { return sotto_send_text(none, "a", "b", 1, 0, nullptr, e); }},
    {"sotto_send_letter",
     [](char** e) { return sotto_send_letter(none, "a", "s", 1, "b", 1, 0, nullptr, e); }},
    {"sotto_reply", [](char** e) { return sotto_reply(none, "abcdef", "b", 1, 0, nullptr, e); }},
    {"sotto_send_to_care_team",
     [](char** e) { return sotto_send_to_care_team(none, "b", 1, 0, nullptr, e); }},
    {"sotto_cancel_scheduled", [](char** e) { return sotto_cancel_scheduled(none, "abc", e); }},
    {"sotto_retry_unsent", [](char** e) { return sotto_retry_unsent(none, &int_out, e); }},
    {"sotto_sync", [](char** e) { return sotto_sync(none, nullptr, e); }},
    {"sotto_listen", [](char** e) { return sotto_listen(none, 1, nullptr, nullptr, nullptr, e); }},
    {"sotto_stop_listening", [](char** e) { return sotto_stop_listening(none, e); }},
    {"sotto_list_conversations",
     [](char** e) {
       sotto_conversation_list* l = nullptr;
       return sotto_list_conversations(none, &l, e);
     }},
    {"sotto_read_conversation",
     [](char** e) {
       sotto_message_list* l = nullptr;
       return sotto_read_conversation(none, "a", &l, e);
     }},
    {"sotto_queue_list",
     [](char** e) {
       sotto_queue* q = nullptr;
       return sotto_queue_list(none, 0, &q, e);
     }},
    {"sotto_queue_snooze", [](char** e) { return sotto_queue_snooze(none, "a", 1, e); }},
    {"sotto_queue_close", [](char** e) { return sotto_queue_close(none, "a", e); }},
    {"sotto_queue_claim", [](char** e) { return sotto_queue_claim(none, "a", e); }},
    {"sotto_set_policy",
     [](char** e) {
       sotto_policy* policy = sotto_policy_create();
       int status = sotto_set_policy(none, policy, e);
       sotto_policy_free(policy);
       return status;
     }},
    {"sotto_get_policy",
     [](char** e) {
       sotto_policy* p = nullptr;
       return sotto_get_policy(none, "a", &p, e);
     }},
    {"sotto_create_invite",
     [](char** e) { return sotto_create_invite(none, 0, &string_out, &time_out, e); }},
    {"sotto_accept_invite",
     [](char** e) { return sotto_accept_invite(none, "a", &string_out, e); }},
    {"sotto_list_links",
     [](char** e) {
       sotto_link_list* l = nullptr;
       return sotto_list_links(none, &l, e);
     }},
    {"sotto_end_link", [](char** e) { return sotto_end_link(none, "a", e); }},
    {"sotto_safety_number_get",
     [](char** e) {
       sotto_safety_number* sn = nullptr;
       return sotto_safety_number_get(none, "a", &sn, e);
     }},
    {"sotto_mark_verified", [](char** e) { return sotto_mark_verified(none, "a", e); }},
    {"sotto_accept_identity_change",
     [](char** e) { return sotto_accept_identity_change(none, "a", "1", e); }},
    {"sotto_set_read_receipts", [](char** e) { return sotto_set_read_receipts(none, 1, e); }},
    {"sotto_get_read_receipts",
     [](char** e) { return sotto_get_read_receipts(none, &int_out, e); }},
    {"sotto_set_email_notifications",
     [](char** e) {
       return sotto_set_email_notifications(none, "a@b.c", SOTTO_NO_DIGEST, nullptr, e);
     }},
    {"sotto_disable_notifications", [](char** e) { return sotto_disable_notifications(none, e); }},
    {"sotto_get_notification_settings",
     [](char** e) {
       sotto_notification_settings* ns = nullptr;
       return sotto_get_notification_settings(none, &ns, e);
     }},
    {"sotto_change_passphrase",
     [](char** e) { return sotto_change_passphrase(none, "a", 1, "b", 1, e); }},
    {"sotto_delete_account", [](char** e) { return sotto_delete_account(none, "a", e); }},
};

TEST(CapiBasicsTest, EveryCallRefusesANullClientByName) {
  for (const auto& [name, call] : kNullClientCalls) {
    Outcome r = Capture(call);
    EXPECT_EQ(r.status, SOTTO_INVALID_ARGUMENT) << name;
    EXPECT_EQ(r.message, name + ": client is NULL") << name;
  }
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

// What a listener saw of receipts and identity notices, in order.
struct Events {
  std::mutex mu;
  std::vector<std::pair<std::string, int>> receipts;  // message id, state
  std::vector<std::string> notices;                   // peer
  std::atomic<bool> saw_delivered{false};
  std::atomic<bool> saw_read{false};
};

int OnReceiptOrNotice(void* user_data, const sotto_event* event) {
  auto* events = static_cast<Events*>(user_data);
  std::lock_guard<std::mutex> lock(events->mu);
  if (sotto_event_kind_of(event) == SOTTO_EVENT_RECEIPT) {
    const sotto_message* m = sotto_event_message(event);
    const int state = sotto_message_state(m);
    events->receipts.emplace_back(sotto_message_id(m), state);
    if (state == SOTTO_STATE_DELIVERED) events->saw_delivered = true;
    if (state == SOTTO_STATE_READ) events->saw_read = true;
    return 1;
  }
  if (sotto_event_kind_of(event) == SOTTO_EVENT_IDENTITY_NOTICE) {
    events->notices.push_back(sotto_identity_notice_peer(sotto_event_notice(event)));
    return 0;  // ends the listen: the notice must have come live
  }
  return 1;
}

bool WaitFor(const std::atomic<bool>& flag) {
  for (int i = 0; i < 200 && !flag; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return flag;
}

TEST_F(CapiTest, ListenerSeesReceiptsAndIdentityNoticesLive) {
  ASSERT_NO_FATAL_FAILURE(RegisterPair());
  sotto_send_result* sent = nullptr;
  const std::string text = "how was the week?";
  Outcome r = Capture(
      [&](char** e) { return sotto_send_text(dr_, "pat", text.data(), text.size(), 0, &sent, e); });
  ASSERT_EQ(r.status, SOTTO_OK) << r.message;
  const std::string id = sotto_message_id(sotto_send_result_message(sent));
  sotto_send_result_free(sent);

  Events events;
  Outcome listened;
  sotto_sync_stats* stats = nullptr;
  std::thread listener([&] {
    listened = Capture(
        [&](char** e) { return sotto_listen(dr_, 20'000, OnReceiptOrNotice, &events, &stats, e); });
  });
  // Pat's device stores it (a DELIVERED receipt goes back), then pat reads it.
  r = Capture([&](char** e) { return sotto_sync(pat_, nullptr, e); });
  ASSERT_EQ(r.status, SOTTO_OK) << r.message;
  EXPECT_TRUE(WaitFor(events.saw_delivered)) << "no live DELIVERED receipt within 10 s";
  sotto_message_list* read = nullptr;
  r = Capture([&](char** e) { return sotto_read_conversation(pat_, "dr-x", &read, e); });
  ASSERT_EQ(r.status, SOTTO_OK) << r.message;
  sotto_message_list_free(read);
  r = Capture([&](char** e) { return sotto_sync(pat_, nullptr, e); });
  ASSERT_EQ(r.status, SOTTO_OK) << r.message;
  EXPECT_TRUE(WaitFor(events.saw_read)) << "no live READ receipt within 10 s";

  // Pat re-registers (a new identity key) and writes: the notice comes live.
  r = Capture([&](char** e) { return sotto_delete_account(pat_, "pat", e); });
  ASSERT_EQ(r.status, SOTTO_OK) << r.message;
  char* invite = nullptr;
  r = Capture([&](char** e) { return sotto_create_invite(dr_, 0, &invite, nullptr, e); });
  ASSERT_EQ(r.status, SOTTO_OK) << r.message;
  sotto_register_options* o = Options("pat", SOTTO_ROLE_CLIENT, invite);
  sotto_free_string(invite);
  sotto_register_options_set_profile_dir(o, dir_.sub("pat-again").c_str());
  sotto_client* new_pat = nullptr;
  r = Capture([&](char** e) { return sotto_client_register(o, &new_pat, e); });
  sotto_register_options_destroy(o);
  ASSERT_EQ(r.status, SOTTO_OK) << r.message;
  clients_.push_back(new_pat);
  r = Capture(
      [&](char** e) { return sotto_send_text(new_pat, "dr-x", "it's me", 7, 0, nullptr, e); });
  ASSERT_EQ(r.status, SOTTO_OK) << r.message;
  listener.join();  // the callback ends the listen on the notice (else 20 s idle)
  EXPECT_EQ(listened.status, SOTTO_OK) << listened.message;

  std::lock_guard<std::mutex> lock(events.mu);
  ASSERT_EQ(events.receipts.size(), 2u);
  EXPECT_EQ(events.receipts[0], std::make_pair(id, static_cast<int>(SOTTO_STATE_DELIVERED)));
  EXPECT_EQ(events.receipts[1], std::make_pair(id, static_cast<int>(SOTTO_STATE_READ)));
  // Raised once, live; the returned stats hold it too.
  EXPECT_EQ(events.notices, std::vector<std::string>{"pat"});
  ASSERT_NE(stats, nullptr);
  EXPECT_EQ(sotto_sync_stats_notice_count(stats), 1u);
  sotto_sync_stats_free(stats);
}

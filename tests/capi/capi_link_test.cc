// Linking a new device through the C API (sotto_link_device on the device
// that has the account, sotto_client_join on the new one) against the real
// server: the code reaches the callback, the history arrives on the new
// device with progress on both sides, both devices list each other; giving
// up from the callback or by timeout stops the code working; a bad code or
// a NULL callback is refused by name and leaves no profile.
// Uses only sotto/sotto.h.

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
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

// Anything left in the directory (a failed join leaves it missing or empty).
bool HasProfile(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec);
}

// What a linking's callback saw, shared with the test's thread.
struct LinkSide {
  std::mutex mu;
  std::condition_variable cv;
  std::string code;                // guarded by mu
  int64_t expires_at_ms = 0;       // guarded by mu
  std::vector<int> kinds;          // guarded by mu
  uint64_t uploaded_messages = 0;  // guarded by mu
  int waiting = 0;                 // guarded by mu
  int give_up_after_waiting = -1;  // return 0 on this WAITING event (-1: never)
};

int OnLinkEvent(void* user_data, const sotto_link_event* e) {
  auto* side = static_cast<LinkSide*>(user_data);
  std::lock_guard<std::mutex> lock(side->mu);
  const sotto_link_event_kind kind = sotto_link_event_kind_of(e);
  if (side->kinds.empty() || side->kinds.back() != kind) side->kinds.push_back(kind);
  if (kind == SOTTO_LINK_EVENT_CODE) {
    side->code = sotto_link_event_code(e);
    side->expires_at_ms = sotto_link_event_expires_at_ms(e);
    side->cv.notify_all();
  } else if (kind == SOTTO_LINK_EVENT_WAITING) {
    if (side->waiting++ == side->give_up_after_waiting) return 0;
  } else if (kind == SOTTO_LINK_EVENT_HISTORY) {
    EXPECT_EQ(sotto_link_event_history_stage(e), SOTTO_HISTORY_UPLOADING);
    side->uploaded_messages = sotto_link_event_history_messages(e);
  }
  return 1;
}

// What a join's callback saw (on the joining thread only).
struct JoinSide {
  std::vector<int> stages;
  uint64_t imported = 0;
  uint64_t fetched_bytes = 0;
  uint64_t total_bytes = 0;
};

int OnJoinEvent(void* user_data, const sotto_link_event* e) {
  auto* side = static_cast<JoinSide*>(user_data);
  EXPECT_EQ(sotto_link_event_kind_of(e), SOTTO_LINK_EVENT_HISTORY);
  const int stage = sotto_link_event_history_stage(e);
  if (side->stages.empty() || side->stages.back() != stage) side->stages.push_back(stage);
  if (stage == SOTTO_HISTORY_DOWNLOADING) side->fetched_bytes = sotto_link_event_history_bytes(e);
  if (stage == SOTTO_HISTORY_IMPORTING) side->imported = sotto_link_event_history_messages(e);
  side->total_bytes = sotto_link_event_history_total_bytes(e);
  return 1;
}

class CapiLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start());
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
  void TearDown() override {
    for (sotto_client* c : clients_) sotto_client_close(c);
  }

  sotto_client* Register(const std::string& handle, sotto_role role, const std::string& code) {
    sotto_register_options* o = sotto_register_options_create();
    sotto_register_options_set_profile_dir(o, dir_.sub(handle).c_str());
    sotto_register_options_set_server_address(o, server_->address().c_str());
    sotto_register_options_set_handle(o, handle.c_str());
    sotto_register_options_set_role(o, role);
    sotto_register_options_set_passphrase(o, kPassphrase, strlen(kPassphrase));
    sotto_register_options_set_fast_key_derivation_for_tests(o, 1);
    if (role == SOTTO_ROLE_THERAPIST) sotto_register_options_set_enrolment_code(o, code.c_str());
    if (role == SOTTO_ROLE_CLIENT) sotto_register_options_set_invite_code(o, code.c_str());
    sotto_client* client = nullptr;
    Outcome r = Capture([&](char** err) { return sotto_client_register(o, &client, err); });
    sotto_register_options_destroy(o);
    EXPECT_EQ(r.status, SOTTO_OK) << r.message;
    if (client != nullptr) clients_.push_back(client);
    return client;
  }

  // Joins `code` as the device "laptop" in dir_/name.
  Outcome Join(const std::string& code, const std::string& name, JoinSide* side, sotto_client** out,
               sotto_join_result** result, int64_t wait_ms = 60'000) {
    sotto_join_options* o = sotto_join_options_create();
    sotto_join_options_set_code(o, code.c_str());
    sotto_join_options_set_device_name(o, "laptop");
    sotto_join_options_set_profile_dir(o, dir_.sub(name).c_str());
    sotto_join_options_set_passphrase(o, kPassphrase, strlen(kPassphrase));
    sotto_join_options_set_server_address(o, server_->address().c_str());
    sotto_join_options_set_fast_key_derivation_for_tests(o, 1);
    sotto_join_options_set_wait_at_most_ms(o, wait_ms);
    if (side != nullptr) sotto_join_options_set_callback(o, OnJoinEvent, side);
    Outcome r = Capture([&](char** err) { return sotto_client_join(o, out, result, err); });
    sotto_join_options_destroy(o);
    if (*out != nullptr) clients_.push_back(*out);
    return r;
  }

  // The code the linking thread's callback was given (waits for it).
  static std::string AwaitCode(LinkSide& side) {
    std::unique_lock<std::mutex> lock(side.mu);
    side.cv.wait_for(lock, std::chrono::seconds(30), [&] { return !side.code.empty(); });
    return side.code;
  }

  std::vector<std::string> Texts(sotto_client* c, const std::string& peer) {
    sotto_message_list* list = nullptr;
    Outcome r =
        Capture([&](char** e) { return sotto_read_conversation(c, peer.c_str(), &list, e); });
    EXPECT_EQ(r.status, SOTTO_OK) << r.message;
    std::vector<std::string> out;
    for (size_t i = 0; i < sotto_message_list_count(list); ++i) {
      size_t len = 0;
      const char* text = sotto_message_text(sotto_message_list_get(list, i), &len);
      out.emplace_back(text, len);
    }
    sotto_message_list_free(list);
    return out;
  }

  std::vector<uint32_t> DeviceIds(sotto_client* c) {
    sotto_device_list* list = nullptr;
    Outcome r = Capture([&](char** e) { return sotto_list_devices(c, &list, e); });
    EXPECT_EQ(r.status, SOTTO_OK) << r.message;
    std::vector<uint32_t> ids;
    for (size_t i = 0; i < sotto_device_list_count(list); ++i) {
      ids.push_back(sotto_device_id(sotto_device_list_get(list, i)));
    }
    sotto_device_list_free(list);
    return ids;
  }

  std::unique_ptr<ServerProcess> server_;
  sotto::testing::TempDir dir_;
  std::vector<sotto_client*> clients_;
  sotto_client* dr_ = nullptr;
  sotto_client* pat_ = nullptr;
};

TEST_F(CapiLinkTest, LinkedDeviceGetsTheHistoryAndBothListEachOther) {
  const std::vector<std::string> sent = {"first letter", "second", "third, with news"};
  for (const std::string& text : sent) {
    Outcome r = Capture([&](char** e) {
      return sotto_send_text(pat_, "dr-x", text.data(), text.size(), 0, nullptr, e);
    });
    ASSERT_EQ(r.status, SOTTO_OK) << r.message;
  }
  ASSERT_EQ(Capture([&](char** e) { return sotto_sync(dr_, nullptr, e); }).status, SOTTO_OK);
  ASSERT_EQ(Texts(dr_, "pat"), sent);

  LinkSide link;
  Outcome linked;
  std::thread linking([&] {
    linked = Capture([&](char** e) {
      return sotto_link_device(dr_, /*include_history=*/1, 60'000, OnLinkEvent, &link, e);
    });
  });
  const std::string code = AwaitCode(link);
  ASSERT_FALSE(code.empty()) << "the callback was not given a code within 30 s";
  JoinSide join;
  sotto_client* laptop = nullptr;
  sotto_join_result* result = nullptr;
  Outcome joined = Join(code, "dr-laptop", &join, &laptop, &result);
  linking.join();
  ASSERT_EQ(linked.status, SOTTO_OK) << linked.message;
  ASSERT_EQ(joined.status, SOTTO_OK) << joined.message;
  ASSERT_NE(laptop, nullptr);
  ASSERT_NE(result, nullptr);

  {
    std::lock_guard<std::mutex> lock(link.mu);
    EXPECT_GT(link.expires_at_ms, 0);
    EXPECT_EQ(link.kinds.front(), SOTTO_LINK_EVENT_CODE);
    EXPECT_EQ(link.kinds.back(), SOTTO_LINK_EVENT_SENT);
    EXPECT_THAT(link.kinds, ::testing::Contains(SOTTO_LINK_EVENT_HISTORY));
    EXPECT_THAT(link.kinds, ::testing::Contains(SOTTO_LINK_EVENT_SENDING_KEYS));
    EXPECT_EQ(link.uploaded_messages, sent.size());
  }
  EXPECT_EQ(sotto_join_result_had_history(result), 1);
  EXPECT_EQ(sotto_join_result_history_status(result), SOTTO_OK)
      << sotto_join_result_history_error(result);
  EXPECT_STREQ(sotto_join_result_history_error(result), "");
  EXPECT_EQ(sotto_join_result_history_messages(result), sent.size());
  EXPECT_GE(sotto_join_result_contacts(result), 1);  // pat, with the trusted key
  sotto_join_result_free(result);
  EXPECT_THAT(join.stages,
              ::testing::ElementsAre(SOTTO_HISTORY_DOWNLOADING, SOTTO_HISTORY_IMPORTING));
  EXPECT_EQ(join.imported, sent.size());
  EXPECT_GT(join.total_bytes, 0u);

  // The new device is the same account, with the whole conversation.
  EXPECT_STREQ(sotto_client_handle(laptop), "dr-x");
  EXPECT_NE(sotto_client_device_id(laptop), sotto_client_device_id(dr_));
  EXPECT_EQ(Texts(laptop, "pat"), sent);
  const std::vector<uint32_t> both = {sotto_client_device_id(dr_), sotto_client_device_id(laptop)};
  EXPECT_EQ(DeviceIds(dr_), both);
  EXPECT_EQ(DeviceIds(laptop), both);

  // The code worked once.
  sotto_client* again = nullptr;
  Outcome reused = Join(code, "dr-third", nullptr, &again, nullptr, 5'000);
  EXPECT_EQ(reused.status, SOTTO_NOT_FOUND) << reused.message;
  EXPECT_THAT(reused.message, HasSubstr("link code"));
  EXPECT_EQ(again, nullptr);
  EXPECT_FALSE(HasProfile(dir_.sub("dr-third")));
}

TEST_F(CapiLinkTest, WithoutHistoryTheNewDeviceStartsEmpty) {
  const std::string text = "before the laptop";
  ASSERT_EQ(Capture([&](char** e) {
              return sotto_send_text(pat_, "dr-x", text.data(), text.size(), 0, nullptr, e);
            }).status,
            SOTTO_OK);
  ASSERT_EQ(Capture([&](char** e) { return sotto_sync(dr_, nullptr, e); }).status, SOTTO_OK);
  LinkSide link;
  Outcome linked;
  std::thread linking([&] {
    linked = Capture([&](char** e) {
      return sotto_link_device(dr_, /*include_history=*/0, 60'000, OnLinkEvent, &link, e);
    });
  });
  const std::string code = AwaitCode(link);
  sotto_client* laptop = nullptr;
  sotto_join_result* result = nullptr;
  JoinSide join;
  Outcome joined = Join(code, "dr-laptop", &join, &laptop, &result);
  linking.join();
  ASSERT_EQ(linked.status, SOTTO_OK) << linked.message;
  ASSERT_EQ(joined.status, SOTTO_OK) << joined.message;
  EXPECT_EQ(sotto_join_result_had_history(result), 0);
  EXPECT_EQ(sotto_join_result_history_messages(result), 0u);
  sotto_join_result_free(result);
  EXPECT_TRUE(join.stages.empty());
  std::lock_guard<std::mutex> lock(link.mu);
  EXPECT_THAT(link.kinds, ::testing::Not(::testing::Contains(SOTTO_LINK_EVENT_HISTORY)));
  sotto_message_list* list = nullptr;
  Outcome read =
      Capture([&](char** e) { return sotto_read_conversation(laptop, "pat", &list, e); });
  EXPECT_EQ(read.status, SOTTO_NOT_FOUND) << "no history was asked for, none came";
  sotto_message_list_free(list);
}

TEST_F(CapiLinkTest, GivingUpFromTheCallbackEndsTheCode) {
  LinkSide link;
  link.give_up_after_waiting = 1;  // on the second WAITING event
  Outcome linked =
      Capture([&](char** e) { return sotto_link_device(dr_, 1, 60'000, OnLinkEvent, &link, e); });
  EXPECT_EQ(linked.status, SOTTO_CANCELLED) << linked.message;
  std::string code;
  {
    std::lock_guard<std::mutex> lock(link.mu);
    code = link.code;
    EXPECT_EQ(link.waiting, 2);
  }
  ASSERT_FALSE(code.empty());
  sotto_client* laptop = nullptr;
  Outcome joined = Join(code, "dr-laptop", nullptr, &laptop, nullptr, 5'000);
  EXPECT_EQ(joined.status, SOTTO_NOT_FOUND) << joined.message;
  EXPECT_EQ(laptop, nullptr);
  EXPECT_FALSE(HasProfile(dir_.sub("dr-laptop")));
  EXPECT_EQ(DeviceIds(dr_).size(), 1u);
}

TEST_F(CapiLinkTest, TimeoutIsDeadlineExceededAndEndsTheCode) {
  LinkSide link;
  Outcome linked =
      Capture([&](char** e) { return sotto_link_device(dr_, 0, 300, OnLinkEvent, &link, e); });
  EXPECT_EQ(linked.status, SOTTO_DEADLINE_EXCEEDED) << linked.message;
  EXPECT_THAT(linked.message, HasSubstr("timeout_ms"));
  sotto_client* laptop = nullptr;
  Outcome joined = Join(AwaitCode(link), "dr-laptop", nullptr, &laptop, nullptr, 5'000);
  EXPECT_EQ(joined.status, SOTTO_NOT_FOUND) << joined.message;
  EXPECT_FALSE(HasProfile(dir_.sub("dr-laptop")));
}

TEST_F(CapiLinkTest, BadArgumentsAreNamedAndLeaveNoProfile) {
  Outcome no_callback =
      Capture([&](char** e) { return sotto_link_device(dr_, 1, 1000, nullptr, nullptr, e); });
  EXPECT_EQ(no_callback.status, SOTTO_INVALID_ARGUMENT);
  EXPECT_THAT(no_callback.message, HasSubstr("callback"));
  Outcome no_client = Capture(
      [&](char** e) { return sotto_link_device(nullptr, 1, 1000, OnLinkEvent, nullptr, e); });
  EXPECT_EQ(no_client.status, SOTTO_INVALID_ARGUMENT);

  sotto_client* out = nullptr;
  Outcome no_options =
      Capture([&](char** e) { return sotto_client_join(nullptr, &out, nullptr, e); });
  EXPECT_EQ(no_options.status, SOTTO_INVALID_ARGUMENT);
  EXPECT_THAT(no_options.message, HasSubstr("options"));

  Outcome mistyped = Join("not-a-code", "dr-laptop", nullptr, &out, nullptr, 5'000);
  EXPECT_EQ(mistyped.status, SOTTO_INVALID_ARGUMENT) << mistyped.message;
  EXPECT_THAT(mistyped.message, HasSubstr("code"));
  EXPECT_EQ(out, nullptr);
  EXPECT_FALSE(HasProfile(dir_.sub("dr-laptop")));

  // The getters of a NULL event or result read as empty.
  EXPECT_STREQ(sotto_link_event_code(nullptr), "");
  EXPECT_EQ(sotto_link_event_history_bytes(nullptr), 0u);
  EXPECT_STREQ(sotto_join_result_history_error(nullptr), "");
  sotto_join_result_free(nullptr);
  sotto_join_options_destroy(nullptr);
}

// Not linking, but the other way to a new device: sotto_restore2 says when
// the restore could not reach the server (sotto_restore kept that to itself).
TEST_F(CapiLinkTest, RestoreTellsWhetherTheNewSessionsWentOut) {
  const std::string text = "kept in the backup";
  ASSERT_EQ(Capture([&](char** e) {
              return sotto_send_text(pat_, "dr-x", text.data(), text.size(), 0, nullptr, e);
            }).status,
            SOTTO_OK);
  const std::string file = dir_.sub("pat.sottobackup");
  char* key = nullptr;
  Outcome made = Capture([&](char** e) { return sotto_backup(pat_, file.c_str(), &key, e); });
  ASSERT_EQ(made.status, SOTTO_OK) << made.message;
  const std::string recovery_key = key;
  sotto_free_string(key);

  auto restore = [&](const std::string& dir, sotto_client** out, char** network_error) {
    return Capture([&](char** e) {
      return sotto_restore2(file.c_str(), recovery_key.c_str(), dir.c_str(), kPassphrase,
                            strlen(kPassphrase), 1, out, network_error, e);
    });
  };
  sotto_client* online = nullptr;
  char* online_error = reinterpret_cast<char*>(0x1);  // must be overwritten
  Outcome r = restore(dir_.sub("pat-online"), &online, &online_error);
  ASSERT_EQ(r.status, SOTTO_OK) << r.message;
  clients_.push_back(online);
  EXPECT_EQ(online_error, nullptr) << online_error;

  server_->Kill();
  sotto_client* offline = nullptr;
  char* offline_error = nullptr;
  r = restore(dir_.sub("pat-offline"), &offline, &offline_error);
  ASSERT_EQ(r.status, SOTTO_OK) << r.message;
  clients_.push_back(offline);
  ASSERT_NE(offline_error, nullptr) << "the server was down: the sessions cannot have gone out";
  EXPECT_GT(strlen(offline_error), 0u);
  sotto_free_string(offline_error);
  EXPECT_EQ(Texts(offline, "dr-x"), std::vector<std::string>{text}) << "restored all the same";
}

}  // namespace

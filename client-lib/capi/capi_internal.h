#ifndef SOTTO_CLIENT_LIB_CAPI_CAPI_INTERNAL_H_
#define SOTTO_CLIENT_LIB_CAPI_CAPI_INTERNAL_H_

// What the C API (sotto/sotto.h) is made of: the opaque structs behind its
// handles, and the one place where absl::Status and C++ exceptions turn
// into a status code and a malloc'd message (Guard). Internal to
// client-lib/capi/.

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "sotto/client.h"
#include "sotto/devices.h"
#include "sotto/sotto.h"
#include "sotto/status_macros.h"
#include "sotto/types.h"

struct sotto_register_options {
  sotto::RegisterOptions options;
};

struct sotto_open_options {
  sotto::OpenOptions options;
};

struct sotto_client {
  std::unique_ptr<sotto::Client> client;
  // Listens in progress, by the stop generation they started in: a stop
  // ends (and waits for) those that started before it. std::mutex rather
  // than absl::Mutex because sotto_client_close frees this struct as soon as
  // the last listen has signalled under it (pthread mutexes allow that).
  std::mutex listen_mu;
  std::condition_variable listen_cv;
  uint64_t stop_generation = 0;                   // guarded by listen_mu
  std::map<uint64_t, int> listens_by_generation;  // guarded by listen_mu
};

struct sotto_message {
  sotto::Message message;
};

struct sotto_message_list {
  std::vector<sotto_message> items;
};

struct sotto_send_result {
  sotto_message message;
  std::optional<sotto::ReplyExpectation> expectation;
};

struct sotto_send_result_list {
  std::vector<sotto_send_result> items;
};

struct sotto_identity_notice {
  sotto::IdentityNotice notice;
};

struct sotto_sync_stats {
  sotto::SyncStats stats;
  std::vector<sotto_identity_notice> notices;
};

struct sotto_event {
  sotto_event_kind kind = SOTTO_EVENT_MESSAGE;
  const sotto_message* message = nullptr;
  const sotto_identity_notice* notice = nullptr;
};

struct sotto_conversation {
  sotto::Conversation conversation;
};

struct sotto_conversation_list {
  std::vector<sotto_conversation> items;
};

struct sotto_queue_entry {
  sotto::QueueEntry entry;
};

struct sotto_queue {
  std::vector<sotto_queue_entry> items;
  int64_t now_ms = 0;
};

struct sotto_policy {
  sotto::ResponsePolicy policy;
  std::string emergency_note;
};

struct sotto_link {
  sotto::CareLink link;
};

struct sotto_link_list {
  std::vector<sotto_link> items;
};

struct sotto_device {
  sotto::DeviceEntry device;
};

struct sotto_device_list {
  std::vector<sotto_device> items;
};

struct sotto_safety_number {
  sotto::SafetyNumberInfo info;
};

struct sotto_draft {
  sotto::Draft draft;
};

struct sotto_draft_list {
  std::vector<sotto_draft> items;
};

struct sotto_invite_info {
  sotto::InviteInfo info;
};

struct sotto_invite_list {
  std::vector<sotto_invite_info> items;
};

struct sotto_notification_settings {
  sotto::NotificationSettings settings;
};

namespace sotto::capi {

// A malloc'd, NUL-terminated copy (freed by sotto_free_string); NULL when
// out of memory.
char* CopyString(absl::string_view s);

// Writes `status` to *errmsg (when errmsg is not NULL) prefixed with the
// function's name, and returns its code.
int Report(const char* function, const absl::Status& status, char** errmsg);

// Runs `body` (returning absl::Status) and reports its result: the only
// way a C entry point returns. Nothing thrown leaves it.
template <typename Body>
int Guard(const char* function, char** errmsg, Body&& body) {
  if (errmsg != nullptr) *errmsg = nullptr;
  try {
    return Report(function, body(), errmsg);
  } catch (const std::bad_alloc&) {
    return Report(function, absl::ResourceExhaustedError("out of memory"), errmsg);
  } catch (const std::exception& e) {
    return Report(function, absl::InternalError(absl::StrCat("unexpected error: ", e.what())),
                  errmsg);
  } catch (...) {
    return Report(function, absl::InternalError("unexpected error"), errmsg);
  }
}

// INVALID_ARGUMENT "`name` is NULL" for a NULL pointer.
absl::Status NotNull(const void* p, absl::string_view name);
// The bytes of (p, len): "" for NULL with len 0, INVALID_ARGUMENT for NULL
// with a length.
absl::StatusOr<absl::string_view> Bytes(const char* p, size_t len, absl::string_view name);
// A required NUL-terminated string argument.
absl::StatusOr<absl::string_view> Text(const char* p, absl::string_view name);
// The client behind a handle; INVALID_ARGUMENT for NULL.
absl::StatusOr<sotto::Client*> ClientOf(sotto_client* handle);

// Hands a new client to the caller as *out (or returns the error).
absl::Status Adopt(absl::StatusOr<std::unique_ptr<sotto::Client>> opened, sotto_client** out);

// A borrowed C string for a getter: "" never NULL for a live object.
inline const char* Str(const std::string& s) { return s.c_str(); }
inline const char* StrLen(const std::string& s, size_t* len) {
  if (len != nullptr) *len = s.size();
  return s.c_str();
}

// Unix ms to absl::Time; 0 or less is "now" (InfinitePast).
absl::Time DeliverAt(int64_t ms);
// A duration in ms; 0 or less is `none`.
absl::Duration MillisOr(int64_t ms, absl::Duration none);

}  // namespace sotto::capi

#endif  // SOTTO_CLIENT_LIB_CAPI_CAPI_INTERNAL_H_

// The C API (sotto/sotto.h) over linking a new device and the history
// transfer (sotto/devices.h): sotto_link_device on a device that has the
// account, sotto_client_join on the new one. One callback type serves both,
// as sotto_listen's does: the code to show, the waiting (where a C caller
// gives up), and the history's progress.

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client-lib/capi/capi_internal.h"
#include "client-lib/storage/wipe.h"
#include "sotto/devices.h"

struct sotto_link_event {
  sotto_link_event_kind kind = SOTTO_LINK_EVENT_CODE;
  const std::string* code = nullptr;
  int64_t expires_at_ms = 0;
  sotto::HistoryProgress history;
};

struct sotto_join_options {
  sotto::JoinOptions options;
  sotto_link_callback callback = nullptr;
  void* user_data = nullptr;
};

struct sotto_join_result {
  int contacts = 0;
  bool had_history = false;
  uint64_t history_messages = 0;
  absl::Status history_status;
  std::string history_error;
};

using namespace sotto::capi;  // NOLINT: the C entry points below are its users

namespace {

const sotto_link_event& E(const sotto_link_event* e) {
  static const sotto_link_event* const kEmpty = new sotto_link_event();
  return e == nullptr ? *kEmpty : *e;
}

sotto_history_stage StageOf(sotto::HistoryProgress::Stage stage) {
  switch (stage) {
    case sotto::HistoryProgress::Stage::kUploading:
      return SOTTO_HISTORY_UPLOADING;
    case sotto::HistoryProgress::Stage::kDownloading:
      return SOTTO_HISTORY_DOWNLOADING;
    case sotto::HistoryProgress::Stage::kImporting:
      return SOTTO_HISTORY_IMPORTING;
  }
  return SOTTO_HISTORY_UPLOADING;
}

// Calls `callback` with one event; true when it asked to give up.
bool Tell(sotto_link_callback callback, void* user_data, const sotto_link_event& event) {
  return callback != nullptr && callback(user_data, &event) == 0;
}

void TellHistory(sotto_link_callback callback, void* user_data, const sotto::HistoryProgress& p) {
  sotto_link_event event;
  event.kind = SOTTO_LINK_EVENT_HISTORY;
  event.history = p;
  Tell(callback, user_data, event);  // a transfer under way is not given up halfway
}

}  // namespace

extern "C" {

sotto_link_event_kind sotto_link_event_kind_of(const sotto_link_event* e) {
  return e == nullptr ? static_cast<sotto_link_event_kind>(0) : e->kind;
}
const char* sotto_link_event_code(const sotto_link_event* e) {
  return E(e).code == nullptr ? "" : E(e).code->c_str();
}
int64_t sotto_link_event_expires_at_ms(const sotto_link_event* e) { return E(e).expires_at_ms; }
sotto_history_stage sotto_link_event_history_stage(const sotto_link_event* e) {
  return E(e).kind == SOTTO_LINK_EVENT_HISTORY ? StageOf(e->history.stage)
                                               : static_cast<sotto_history_stage>(0);
}
uint64_t sotto_link_event_history_messages(const sotto_link_event* e) {
  return E(e).history.messages;
}
uint64_t sotto_link_event_history_bytes(const sotto_link_event* e) { return E(e).history.bytes; }
uint64_t sotto_link_event_history_total_bytes(const sotto_link_event* e) {
  return E(e).history.total_bytes;
}

int sotto_link_device(sotto_client* client, int include_history, int64_t timeout_ms,
                      sotto_link_callback callback, void* user_data, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    if (callback == nullptr) {
      return absl::InvalidArgumentError("`callback` is NULL: it is how the code gets shown");
    }
    const absl::Time give_up =
        timeout_ms > 0 ? absl::Now() + absl::Milliseconds(timeout_ms) : absl::InfiniteFuture();
    int64_t expires_at_ms = 0;
    bool gave_up = false;
    bool timed_out = false;
    sotto::LinkDeviceOptions options;
    options.include_history = include_history != 0;
    options.on_code = [&](const std::string& code, absl::Time expires_at) {
      expires_at_ms = absl::ToUnixMillis(expires_at);
      sotto_link_event event;
      event.kind = SOTTO_LINK_EVENT_CODE;
      event.code = &code;
      event.expires_at_ms = expires_at_ms;
      gave_up = Tell(callback, user_data, event);
    };
    options.on_progress = [&](sotto::LinkStage stage) {
      sotto_link_event event;
      switch (stage) {
        case sotto::LinkStage::kWaitingForNewDevice:
          return;  // the polls below say it, each in turn
        case sotto::LinkStage::kSendingKeys:
          event.kind = SOTTO_LINK_EVENT_SENDING_KEYS;
          break;
        case sotto::LinkStage::kSent:
          event.kind = SOTTO_LINK_EVENT_SENT;
          break;
      }
      Tell(callback, user_data, event);
    };
    // Polled before each check of the slot: the timeout, and the app's
    // WAITING event (a countdown and its way to give up).
    options.cancelled = [&]() {
      if (gave_up) return true;
      if (absl::Now() >= give_up) return timed_out = true;
      sotto_link_event event;
      event.kind = SOTTO_LINK_EVENT_WAITING;
      event.expires_at_ms = expires_at_ms;
      return gave_up = Tell(callback, user_data, event);
    };
    options.on_history_progress = [&](const sotto::HistoryProgress& p) {
      TellHistory(callback, user_data, p);
    };
    absl::Status linked = c->LinkDevice(options);
    if (timed_out && linked.code() == absl::StatusCode::kCancelled) {
      return absl::DeadlineExceededError(
          absl::StrCat("no new device used the link code within timeout_ms (", timeout_ms,
                       " ms); the code no longer works"));
    }
    return linked;
  });
}

sotto_join_options* sotto_join_options_create(void) {
  try {
    return new sotto_join_options();
  } catch (...) {
    return nullptr;
  }
}
void sotto_join_options_destroy(sotto_join_options* o) {
  if (o == nullptr) return;
  sotto::client::storage::Wipe(o->options.passphrase);
  sotto::client::storage::Wipe(o->options.code);
  delete o;
}

#define SOTTO_JOIN_SETTER(name, field)                                       \
  void sotto_join_options_set_##name(sotto_join_options* o, const char* v) { \
    if (o != nullptr) o->options.field = v == nullptr ? "" : v;              \
  }
SOTTO_JOIN_SETTER(code, code)
SOTTO_JOIN_SETTER(device_name, device_name)
SOTTO_JOIN_SETTER(profile_dir, profile_dir)
SOTTO_JOIN_SETTER(server_address, server_address)
SOTTO_JOIN_SETTER(tls_ca_pem, tls_ca_pem)
#undef SOTTO_JOIN_SETTER

void sotto_join_options_set_passphrase(sotto_join_options* o, const char* passphrase, size_t len) {
  if (o == nullptr) return;
  sotto::client::storage::Wipe(o->options.passphrase);
  o->options.passphrase = passphrase == nullptr ? std::string() : std::string(passphrase, len);
}
void sotto_join_options_set_tls_system_roots(sotto_join_options* o, int on) {
  if (o != nullptr) o->options.tls_system_roots = on != 0;
}
void sotto_join_options_set_auto_lock_after_ms(sotto_join_options* o, int64_t ms) {
  if (o != nullptr) o->options.auto_lock_after = MillisOr(ms, absl::InfiniteDuration());
}
void sotto_join_options_set_fast_key_derivation_for_tests(sotto_join_options* o, int on) {
  if (o == nullptr) return;
  o->options.key_derivation =
      on != 0 ? sotto::KeyDerivation::kFastForTestsOnly : sotto::KeyDerivation::kInteractive;
}
void sotto_join_options_set_wait_at_most_ms(sotto_join_options* o, int64_t ms) {
  if (o != nullptr) o->options.wait_at_most = MillisOr(ms, absl::Minutes(10));
}
void sotto_join_options_set_receive_history(sotto_join_options* o, int on) {
  if (o != nullptr) o->options.receive_history = on != 0;
}
void sotto_join_options_set_callback(sotto_join_options* o, sotto_link_callback callback,
                                     void* user_data) {
  if (o == nullptr) return;
  o->callback = callback;
  o->user_data = user_data;
}

int sotto_client_join(const sotto_join_options* options, sotto_client** out,
                      sotto_join_result** result, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = nullptr;
    if (result != nullptr) *result = nullptr;
    SOTTO_RETURN_IF_ERROR(NotNull(options, "options"));
    sotto::JoinOptions join = options->options;
    const sotto_link_callback callback = options->callback;
    void* const user_data = options->user_data;
    if (callback != nullptr) {
      join.on_history_progress = [callback, user_data](const sotto::HistoryProgress& p) {
        TellHistory(callback, user_data, p);
      };
    }
    absl::StatusOr<sotto::JoinResult> joined = sotto::Client::JoinWithLinkCode(join);
    sotto::client::storage::Wipe(join.passphrase);
    sotto::client::storage::Wipe(join.code);
    if (!joined.ok()) return joined.status();
    auto made = std::make_unique<sotto_join_result>();
    made->contacts = joined->contacts;
    made->had_history = joined->history.has_value();
    made->history_messages = joined->history_messages;
    made->history_status = joined->history_status;
    made->history_error = std::string(joined->history_status.message());
    if (joined->history) sotto::client::storage::Wipe(joined->history->key);
    SOTTO_RETURN_IF_ERROR(Adopt(std::move(joined->client), out));
    if (result != nullptr) *result = made.release();
    return absl::OkStatus();
  });
}

int sotto_join_result_contacts(const sotto_join_result* r) {
  return r == nullptr ? 0 : r->contacts;
}
int sotto_join_result_had_history(const sotto_join_result* r) {
  return r != nullptr && r->had_history ? 1 : 0;
}
uint64_t sotto_join_result_history_messages(const sotto_join_result* r) {
  return r == nullptr ? 0 : r->history_messages;
}
int sotto_join_result_history_status(const sotto_join_result* r) {
  return r == nullptr ? 0 : static_cast<int>(r->history_status.code());
}
const char* sotto_join_result_history_error(const sotto_join_result* r) {
  return r == nullptr ? "" : r->history_error.c_str();
}
void sotto_join_result_free(sotto_join_result* r) { delete r; }

}  // extern "C"

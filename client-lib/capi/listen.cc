// The C API (sotto/sotto.h), part 3: receiving — sync, listen and stopping
// a listen from another thread.
//
// A stop has to reach a Listen that is blocked waiting for the next
// message, where no callback runs to say "stop": sotto_stop_listening
// cancels the client's open Subscribe streams (Client::StopListening) until
// every listen that started before it has returned. Generations keep a stop
// from ending listens that start after it.

#include <chrono>

#include "client-lib/capi/capi_internal.h"

using namespace sotto::capi;  // NOLINT: the C entry points below are its users

namespace {

// The client whose listen callback this thread is running, if any: a stop
// from inside the callback must not wait for the listen it is part of.
thread_local const sotto_client* tls_in_callback = nullptr;

// Counts a listen in for the stops that start after it.
class ListenRegistration {
 public:
  explicit ListenRegistration(sotto_client& client) : client_(client) {
    std::lock_guard<std::mutex> lock(client_.listen_mu);
    generation_ = client_.stop_generation;
    ++client_.listens_by_generation[generation_];
  }
  ListenRegistration(const ListenRegistration&) = delete;
  ListenRegistration& operator=(const ListenRegistration&) = delete;
  ~ListenRegistration() {
    // Notified under the lock: sotto_client_close frees `client_` as soon
    // as it sees no listen left, which it can only after this unlocks.
    std::lock_guard<std::mutex> lock(client_.listen_mu);
    if (--client_.listens_by_generation[generation_] == 0) {
      client_.listens_by_generation.erase(generation_);
    }
    client_.listen_cv.notify_all();
  }

  bool stopped() const {
    std::lock_guard<std::mutex> lock(client_.listen_mu);
    return client_.stop_generation != generation_;
  }

 private:
  sotto_client& client_;
  uint64_t generation_ = 0;
};

int Call(sotto_listen_callback callback, void* user_data, const sotto_client* client,
         const sotto_event& event) {
  const sotto_client* outer = tls_in_callback;
  tls_in_callback = client;
  int go_on = callback(user_data, &event);
  tls_in_callback = outer;
  return go_on;
}

std::unique_ptr<sotto_sync_stats> ToC(sotto::SyncStats stats) {
  auto out = std::make_unique<sotto_sync_stats>();
  for (const sotto::IdentityNotice& notice : stats.notices) {
    out->notices.push_back(sotto_identity_notice{notice});
  }
  out->stats = std::move(stats);
  return out;
}

const sotto::SyncStats& S(const sotto_sync_stats* s) {
  static const sotto::SyncStats* const kEmpty = new sotto::SyncStats();
  return s == nullptr ? *kEmpty : s->stats;
}

const sotto::IdentityNotice& N(const sotto_identity_notice* n) {
  static const sotto::IdentityNotice* const kEmpty = new sotto::IdentityNotice();
  return n == nullptr ? *kEmpty : n->notice;
}

}  // namespace

extern "C" {

int sotto_sync_stats_received(const sotto_sync_stats* s) { return S(s).received; }
int sotto_sync_stats_duplicates(const sotto_sync_stats* s) { return S(s).duplicates; }
int sotto_sync_stats_undecryptable(const sotto_sync_stats* s) { return S(s).undecryptable; }
int sotto_sync_stats_asked_again(const sotto_sync_stats* s) { return S(s).asked_again; }
int sotto_sync_stats_held(const sotto_sync_stats* s) { return S(s).held; }
int sotto_sync_stats_resent(const sotto_sync_stats* s) { return S(s).resent; }
const char* sotto_sync_stats_maintenance_error(const sotto_sync_stats* s) {
  return Str(S(s).maintenance_error);
}
size_t sotto_sync_stats_held_from_count(const sotto_sync_stats* s) { return S(s).held_from.size(); }
const char* sotto_sync_stats_held_from(const sotto_sync_stats* s, size_t i) {
  return i < S(s).held_from.size() ? S(s).held_from[i].c_str() : nullptr;
}
size_t sotto_sync_stats_unreadable_from_count(const sotto_sync_stats* s) {
  return S(s).unreadable_from.size();
}
const char* sotto_sync_stats_unreadable_from(const sotto_sync_stats* s, size_t i) {
  return i < S(s).unreadable_from.size() ? S(s).unreadable_from[i].c_str() : nullptr;
}
size_t sotto_sync_stats_notice_count(const sotto_sync_stats* s) {
  return s == nullptr ? 0 : s->notices.size();
}
const sotto_identity_notice* sotto_sync_stats_notice(const sotto_sync_stats* s, size_t i) {
  return s == nullptr || i >= s->notices.size() ? nullptr : &s->notices[i];
}
void sotto_sync_stats_free(sotto_sync_stats* s) { delete s; }

const char* sotto_identity_notice_peer(const sotto_identity_notice* n) { return Str(N(n).peer); }
sotto_notice_kind sotto_identity_notice_kind(const sotto_identity_notice* n) {
  return static_cast<sotto_notice_kind>(N(n).kind);
}
const char* sotto_identity_notice_text(const sotto_identity_notice* n) { return Str(N(n).text); }

sotto_event_kind sotto_event_kind_of(const sotto_event* e) {
  return e == nullptr ? static_cast<sotto_event_kind>(0) : e->kind;
}
const sotto_message* sotto_event_message(const sotto_event* e) {
  return e == nullptr ? nullptr : e->message;
}
const sotto_identity_notice* sotto_event_notice(const sotto_event* e) {
  return e == nullptr ? nullptr : e->notice;
}

int sotto_sync(sotto_client* client, sotto_sync_stats** stats, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    if (stats != nullptr) *stats = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    SOTTO_ASSIGN_OR_RETURN(sotto::SyncStats result, c->Sync());
    if (stats != nullptr) *stats = ToC(std::move(result)).release();
    return absl::OkStatus();
  });
}

int sotto_listen(sotto_client* client, int64_t idle_timeout_ms, sotto_listen_callback callback,
                 void* user_data, sotto_sync_stats** stats, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    if (stats != nullptr) *stats = nullptr;
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    ListenRegistration registration(*client);
    int delivered = 0;
    // Each event is raised as the listen meets it (after it is stored).
    auto raise = [&](sotto_event& event) {
      if (registration.stopped()) return false;
      if (callback == nullptr) return true;
      return Call(callback, user_data, client, event) != 0 && !registration.stopped();
    };
    sotto::Client::ListenHandlers handlers;
    handlers.on_message = [&](const sotto::Message& message) {
      ++delivered;
      sotto_message m{message};
      sotto_event event;
      event.kind = SOTTO_EVENT_MESSAGE;
      event.message = &m;
      return raise(event);
    };
    handlers.on_receipt = [&](const sotto::ReceiptEvent& receipt) {
      sotto_message m{receipt.message};
      sotto_event event;
      event.kind = SOTTO_EVENT_RECEIPT;
      event.message = &m;
      return raise(event);
    };
    handlers.on_notice = [&](const sotto::IdentityNotice& notice) {
      sotto_identity_notice n{notice};
      sotto_event event;
      event.kind = SOTTO_EVENT_IDENTITY_NOTICE;
      event.notice = &n;
      return raise(event);
    };
    absl::StatusOr<sotto::SyncStats> result =
        registration.stopped()
            ? absl::StatusOr<sotto::SyncStats>(sotto::SyncStats())
            : c->Listen(MillisOr(idle_timeout_ms, absl::InfiniteDuration()), handlers);
    if (!result.ok()) {
      // Our own stop cancels the stream: that is the end the caller asked for.
      if (!registration.stopped() || !absl::IsCancelled(result.status())) return result.status();
      result = sotto::SyncStats();
      result->received = delivered;
    }
    // The notices were raised live (handlers.on_notice): not again here.
    if (stats != nullptr) *stats = ToC(std::move(*result)).release();
    return absl::OkStatus();
  });
}

int sotto_stop_listening(sotto_client* client, char** errmsg) {
  return Guard(__func__, errmsg, [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(sotto::Client * c, ClientOf(client));
    std::unique_lock<std::mutex> lock(client->listen_mu);
    const uint64_t stop = ++client->stop_generation;
    // Inside the callback: the listen sees the stop when the callback returns.
    if (tls_in_callback == client) return absl::OkStatus();
    auto earlier_running = [&] {
      return !client->listens_by_generation.empty() &&
             client->listens_by_generation.begin()->first < stop;
    };
    while (earlier_running()) {
      // Again and again: a listen still opening its stream misses a cancel.
      lock.unlock();
      c->StopListening();
      lock.lock();
      client->listen_cv.wait_for(lock, std::chrono::milliseconds(20),
                                 [&] { return !earlier_running(); });
    }
    return absl::OkStatus();
  });
}

}  // extern "C"

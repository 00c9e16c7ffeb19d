#include "events.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "json_output.h"
#include "json_writer.h"
#include "output.h"

namespace sotto::desk {
namespace {

constexpr size_t kMaxPendingBytes = 4 << 20;

std::string ReceiptJson(const ReceiptEvent& receipt) {
  return absl::StrCat("{\"message_id\": ", cli::JsonString(receipt.message_id),
                      ", \"peer\": ", cli::JsonString(receipt.peer),
                      ", \"state\": ", cli::JsonString(DeliveryStateName(receipt.state)), "}");
}

std::string NoticeJson(const IdentityNotice& notice) {
  return absl::StrCat(
      "{\"peer\": ", cli::JsonString(notice.peer), ", \"kind\": ",
      cli::JsonString(notice.kind == IdentityNotice::Kind::kAccepted ? "accepted" : "held"),
      ", \"text\": ", cli::JsonString(notice.text), "}");
}

}  // namespace

std::shared_ptr<EventHub::Subscriber> EventHub::Subscribe() {
  auto subscriber = std::make_shared<Subscriber>();
  absl::MutexLock lock(&mu_);
  subscriber->closed = closed_;
  subscribers_.push_back(subscriber);
  return subscriber;
}

void EventHub::Unsubscribe(const std::shared_ptr<Subscriber>& subscriber) {
  absl::MutexLock lock(&mu_);
  subscribers_.remove(subscriber);
}

void EventHub::Publish(absl::string_view name, absl::string_view data) {
  const std::string frame = absl::StrCat(
      "event: ", name, "\ndata: ", absl::StrReplaceAll(data, {{"\n", ""}, {"\r", ""}}), "\n\n");
  absl::MutexLock lock(&mu_);
  for (const std::shared_ptr<Subscriber>& s : subscribers_) {
    if (s->closed) continue;
    if (s->pending.size() + frame.size() > kMaxPendingBytes) {
      s->closed = true;
      s->pending.clear();
      continue;
    }
    s->pending += frame;
  }
}

std::optional<std::string> EventHub::Next(Subscriber& subscriber, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || subscriber.closed || !subscriber.pending.empty();
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (closed_ || subscriber.closed) return std::nullopt;
  return std::exchange(subscriber.pending, std::string());
}

void EventHub::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

Listener::Listener(Session& session, EventHub& hub) : session_(session), hub_(hub) {}

Listener::~Listener() { Stop(); }

void Listener::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Listener::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (!thread_.joinable()) return;
  // StopListening can miss a Listen whose stream is still being opened: ask
  // until the thread has seen it.
  for (;;) {
    if (Client* client = session_.client(); client != nullptr) client->StopListening();
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Milliseconds(20))) break;
  }
  thread_.join();
}

void Listener::StateChanged(DeskState state) {
  absl::MutexLock lock(&mu_);
  ++changes_;
  if (state == DeskState::kSetup || published_ == state) return;
  published_ = state;
  hub_.Publish(state == DeskState::kOpen ? "unlocked" : "locked", "{}");
}

bool Listener::AwaitOpen() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return false;
    }
    if (session_.state() == DeskState::kOpen) return true;
    // The Client's own auto-lock changes the state without telling us:
    // look again every second as well as on every change.
    absl::MutexLock lock(&mu_);
    const uint64_t seen = changes_;
    auto woken = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || changes_ != seen; };
    mu_.AwaitWithTimeout(absl::Condition(&woken), absl::Seconds(1));
  }
}

void Listener::Backoff(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  const uint64_t seen = changes_;
  auto woken = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || changes_ != seen; };
  mu_.AwaitWithTimeout(absl::Condition(&woken), delay);
}

void Listener::Run() {
  // Listening (and starting Listen again) is the desk's own work, not the
  // person's: it must not keep the profile from locking itself.
  Client::BackgroundCalls background;
  Client::ListenHandlers handlers;
  auto keep_going = [this] {
    absl::MutexLock lock(&mu_);
    return !stopping_;
  };
  handlers.on_message = [&](const Message& m) {
    hub_.Publish("message", cli::MessageJson(m));
    if (Client* client = session_.client();
        client != nullptr && client->role() == Role::kTherapist) {
      hub_.Publish("queue", "{}");
    }
    return keep_going();
  };
  handlers.on_receipt = [&](const ReceiptEvent& r) {
    hub_.Publish("receipt", ReceiptJson(r));
    return keep_going();
  };
  handlers.on_notice = [&](const IdentityNotice& n) {
    hub_.Publish("identity", NoticeJson(n));
    return keep_going();
  };
  absl::Duration backoff = absl::Seconds(1);
  while (AwaitOpen()) {
    absl::StatusOr<Client*> client = session_.OpenClient();
    if (!client.ok()) continue;
    StateChanged(DeskState::kOpen);
    const absl::Time started = absl::Now();
    absl::StatusOr<SyncStats> listened = (*client)->Listen(absl::InfiniteDuration(), handlers);
    // A Listen that ran a good while before it dropped was a working
    // connection: the next drop starts the backoff over, instead of
    // waiting the 30 s an earlier outage built up.
    if (absl::Now() - started > absl::Seconds(30)) backoff = absl::Seconds(1);
    if (!keep_going()) break;
    if ((*client)->IsLocked()) {
      StateChanged(DeskState::kLocked);
      continue;
    }
    if (listened.ok()) {
      backoff = absl::Seconds(1);
      continue;
    }
    Backoff(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(30));
  }
  absl::MutexLock lock(&mu_);
  done_ = true;
}

}  // namespace sotto::desk

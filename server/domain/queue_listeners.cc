#include "server/domain/queue_listeners.h"

#include <algorithm>
#include <utility>

namespace sotto::server {

QueueListeners::Id QueueListeners::Add(std::string queue_prefix, OnNew on_new) {
  absl::MutexLock lock(&mu_);
  Id id = next_id_++;
  by_queue_[queue_prefix].push_back(id);
  listeners_.emplace(id, Listener{std::move(queue_prefix), std::move(on_new)});
  count_.store(listeners_.size(), std::memory_order_relaxed);
  return id;
}

void QueueListeners::Remove(Id id) {
  absl::MutexLock lock(&mu_);
  auto it = listeners_.find(id);
  if (it == listeners_.end()) return;
  auto q = by_queue_.find(it->second.queue_prefix);
  if (q != by_queue_.end()) {
    std::vector<Id>& ids = q->second;
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
    if (ids.empty()) by_queue_.erase(q);
  }
  listeners_.erase(it);
  count_.store(listeners_.size(), std::memory_order_relaxed);
}

bool QueueListeners::Listened(absl::string_view queue_prefix) {
  if (!Any()) return false;
  absl::ReaderMutexLock lock(&mu_);
  return by_queue_.contains(queue_prefix);
}

QueueListeners::~QueueListeners() { bus_.reset(); }

QueueBus::Handlers QueueListeners::BusHandlers() {
  return QueueBus::Handlers{
      [this](absl::string_view queue_prefix) { NotifyLocal(queue_prefix, nullptr); },
      [this] { WakeAll(); }};
}

void QueueListeners::ConnectBus(std::unique_ptr<QueueBus> bus) { bus_ = std::move(bus); }

void QueueListeners::Notify(absl::string_view queue_prefix, const StoredEnvelope* added) {
  NotifyLocal(queue_prefix, added);
  if (bus_ != nullptr) bus_->Publish(queue_prefix);
}

void QueueListeners::WakeAll() {
  absl::MutexLock lock(&mu_);
  for (auto& [id, listener] : listeners_) listener.on_new(nullptr);
}

void QueueListeners::NotifyLocal(absl::string_view queue_prefix, const StoredEnvelope* added) {
  absl::MutexLock lock(&mu_);
  auto q = by_queue_.find(queue_prefix);
  if (q == by_queue_.end()) return;
  for (Id id : q->second) listeners_.at(id).on_new(added);
}

}  // namespace sotto::server

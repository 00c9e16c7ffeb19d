#ifndef SOTTO_CLIENT_LIB_STORAGE_DEFERRED_SYNC_H_
#define SOTTO_CLIENT_LIB_STORAGE_DEFERRED_SYNC_H_

// A span of LocalStore writes that share one sync of the disk
// (LocalStore::BeginDeferredSync): Finish() ends it and says whether they are
// durable; a span left without Finish (an error path) is ended by the
// destructor, which syncs too but has nobody to tell.
//
// Hold the profile's lock for the whole span, and call Finish before
// anything that depends on the writes leaves the device.

#include <utility>

#include "absl/status/status.h"
#include "sotto/local_store.h"

namespace sotto::client::storage {

class DeferredSync {
 public:
  explicit DeferredSync(LocalStore& store) : store_(&store) { store.BeginDeferredSync(); }
  ~DeferredSync() {
    if (store_ != nullptr) store_->EndDeferredSync().IgnoreError();
  }
  DeferredSync(const DeferredSync&) = delete;
  DeferredSync& operator=(const DeferredSync&) = delete;

  // Ends the span without syncing (LocalStore::EndDeferredSyncUnsynced):
  // OK once its writes are with the operating system.
  [[nodiscard]] absl::Status Release() {
    LocalStore* store = std::exchange(store_, nullptr);
    return store == nullptr ? absl::OkStatus() : store->EndDeferredSyncUnsynced();
  }

  // OK once every write of the span (and before it) is on disk.
  [[nodiscard]] absl::Status Finish() {
    LocalStore* store = std::exchange(store_, nullptr);
    return store == nullptr ? absl::OkStatus() : store->EndDeferredSync();
  }

 private:
  LocalStore* store_;
};

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_STORAGE_DEFERRED_SYNC_H_

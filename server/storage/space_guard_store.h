#ifndef SOTTO_SERVER_STORAGE_SPACE_GUARD_STORE_H_
#define SOTTO_SERVER_STORAGE_SPACE_GUARD_STORE_H_

#include "absl/status/status.h"
#include "server/storage/disk_space.h"
#include "server/storage/store.h"

namespace sotto::server {

// What a client is told when the server refuses a write for want of disk
// space (RESOURCE_EXHAUSTED): no server detail, what happened to the
// request, and what to do.
inline constexpr char kOutOfStorageMessage[] =
    "the server is out of storage space, so it accepts nothing new for now: this request was "
    "not stored; messages already waiting can still be fetched; try again later";

// The RESOURCE_EXHAUSTED status with kOutOfStorageMessage.
absl::Status OutOfStorageError();

// Refuses, while `space` is Low(), every write that adds data: a Write whose
// batch is not marked WriteBatch::frees_space() fails with
// OutOfStorageError() before it reaches `inner`. Acks (marked) and
// PopFirst (a delete) pass, so queues drain; reads always pass. Between
// polls a write may pass that a fresh measure would refuse: the reserve
// absorbs it; each write's bytes are charged to the free space until the
// next poll (DiskSpace::Charge), so a burst cannot outrun it. Does not own `inner` or `space`.
// Thread-safe.
class SpaceGuardStore final : public ForwardingStore {
 public:
  SpaceGuardStore(Store* inner, DiskSpace* space) : ForwardingStore(inner), space_(space) {}

  absl::Status Write(const WriteBatch& batch, Durability durability) override;

 private:
  DiskSpace* const space_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_SPACE_GUARD_STORE_H_

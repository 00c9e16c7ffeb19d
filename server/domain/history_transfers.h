#ifndef SOTTO_SERVER_DOMAIN_HISTORY_TRANSFERS_H_
#define SOTTO_SERVER_DOMAIN_HISTORY_TRANSFERS_H_

// The spool through which an existing device hands a newly linked device
// the account's history (devices.proto, docs/PROTOCOL.md "History
// transfer"). An archive is ciphertext under a key the server never sees.
//
// Kept in the store, so that an archive uploaded through one sotto-server
// node is fetched through another: a row per archive (Table::
// kHistoryTransfers: account, creating device, expiry, sealed, size) and one
// row per uploaded chunk (kHistoryChunks, keyed by the archive's id and the
// offset where the chunk ends, so that the chunk holding any offset is the
// first key after `id|offset`: one Scan of one row). Chunks are written
// kBuffered and the seal kSynced, which makes them all durable before the
// archive is offered. Every change expects the archive's row as read
// (conditional_write.h): two nodes appending, sealing or fetching the last
// chunk at once are ordered, and an archive is deleted once.
//
// Limits (limits.h): kMaxHistoryTransfersPerAccount at once, each at most
// kMaxHistoryTransferBytes, deleted kHistoryTransferTtlMs after creation
// unfetched, and at once when the answer carrying the last byte is made.
// Every call names a transfer by its random id AND is made by a device of
// its account: for another account a transfer does not exist (the same
// NOT_FOUND as an unknown id).
// Thread-safe.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/clock.h"
#include "server/domain/limits.h"
#include "server/domain/types.h"
#include "server/storage/store.h"

namespace sotto::server {

struct HistoryTransferLimits {
  int64_t ttl_ms = kHistoryTransferTtlMs;
  size_t max_per_account = kMaxHistoryTransfersPerAccount;
  uint64_t max_transfer_bytes = kMaxHistoryTransferBytes;
};

class HistoryTransfers {
 public:
  // Does not own `store` or `clock`.
  HistoryTransfers(Store* store, Clock* clock, HistoryTransferLimits limits = {});
  HistoryTransfers(const HistoryTransfers&) = delete;
  HistoryTransfers& operator=(const HistoryTransfers&) = delete;

  struct Created {
    std::string transfer_id;  // kHistoryTransferIdBytes random bytes
    int64_t expires_at_ms = 0;
  };
  // An empty archive of `owner`'s account. RESOURCE_EXHAUSTED past
  // max_per_account.
  absl::StatusOr<Created> Create(const AuthenticatedDevice& owner);

  // Appends `data` at `offset`; returns the archive's size after it.
  // INVALID_ARGUMENT (id size, empty or oversized chunk), NOT_FOUND,
  // FAILED_PRECONDITION (sealed; offset not at the end, unless the chunk
  // ends exactly at the end: a retry, accepted and ignored),
  // RESOURCE_EXHAUSTED (max_transfer_bytes).
  absl::StatusOr<uint64_t> Append(const AuthenticatedDevice& caller, absl::string_view id,
                                  uint64_t offset, absl::string_view data);

  // Marks the archive complete. FAILED_PRECONDITION when `total_bytes`
  // differs from what was received, or nothing was; OK if already sealed
  // with that size.
  absl::Status Seal(const AuthenticatedDevice& caller, absl::string_view id, uint64_t total_bytes);

  struct Chunk {
    std::string data;
    uint64_t total_bytes = 0;
    bool last = false;  // the archive was deleted with this answer
  };
  // Up to kMaxHistoryChunkBytes from `offset` of a sealed archive; the
  // chunk that reaches its end deletes it. INVALID_ARGUMENT (id size,
  // offset past the end), NOT_FOUND, FAILED_PRECONDITION (not sealed).
  absl::StatusOr<Chunk> Read(const AuthenticatedDevice& caller, absl::string_view id,
                             uint64_t offset);

  // Deletes the archive; OK if it is already gone.
  absl::Status Delete(const AuthenticatedDevice& caller, absl::string_view id);

  // Deletes every archive of `handle` (the account was deleted), or those
  // its device `device_id` created (the device was removed: what it
  // uploaded must not outlive it).
  // Best effort (the sweeper deletes what is left when it expires).
  void DropAccount(absl::string_view handle);
  void DropCreatedBy(absl::string_view handle, uint32_t device_id);

  // Deletes the archives expired by now (the sweeper); returns how many.
  absl::StatusOr<size_t> SweepExpired();

 private:
  struct Transfer {
    std::string handle;
    uint32_t created_by = 0;
    int64_t expires_at_ms = 0;
    bool sealed = false;
    uint64_t size = 0;
  };
  struct Found {
    std::string raw;  // the row as read
    Transfer t;
  };
  // The live archive `id` of `caller`'s account (any account when `caller`
  // is null), nullopt if none.
  absl::StatusOr<std::optional<Found>> Find(const AuthenticatedDevice* caller,
                                            absl::string_view id);
  // Deletes the archive's row (expecting `raw`) and its chunks.
  absl::Status Erase(absl::string_view id, const std::string& raw);
  static std::string Encode(const Transfer& t);
  static absl::StatusOr<Transfer> Decode(absl::string_view raw);

  Store* const store_;
  Clock* const clock_;
  const HistoryTransferLimits limits_;
  // Queues this node's racers, so an ABORTED means another node.
  absl::Mutex mu_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_HISTORY_TRANSFERS_H_

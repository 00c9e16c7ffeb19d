#ifndef SOTTO_SERVER_DOMAIN_HISTORY_TRANSFERS_H_
#define SOTTO_SERVER_DOMAIN_HISTORY_TRANSFERS_H_

// The spool through which an existing device hands a newly linked device
// the account's history (devices.proto, docs/PROTOCOL.md "History
// transfer"). An archive is ciphertext under a key the server never sees.
//
// Why a spool of files and not the Store: an archive is one large blob
// (tens of MiB for 100,000 messages) written once, read once and deleted;
// in RocksDB it would go through the write-ahead log, compaction and, with
// PostgreSQL, replication, for nothing. The spool is a directory of the
// data directory (`history-transfers/`, owner-only): per transfer a data
// file `<id hex>.data` appended chunk by chunk, and a small `<id hex>.meta`
// (written whole, then renamed) naming the account, the device that made
// it, its expiry and whether it is sealed. Open() reloads what a previous
// run left, so a restart between the linking and the fetch loses nothing;
// it deletes the expired ones and any file without its pair.
//
// Limits (limits.h): kMaxHistoryTransfersPerAccount at once, each at most
// kMaxHistoryTransferBytes, all of them at most kMaxHistorySpoolBytes,
// deleted kHistoryTransferTtlMs after creation unfetched, and at once when
// the answer carrying the last byte is made. Every call names a transfer
// by its random id AND is made by a device of its account: for another
// account a transfer does not exist (the same NOT_FOUND as an unknown id).
// Thread-safe; disk I/O happens under the lock (local files, at most one
// chunk per call).

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/clock.h"
#include "server/domain/limits.h"
#include "server/domain/types.h"

namespace sotto::server {

struct HistoryTransferLimits {
  int64_t ttl_ms = kHistoryTransferTtlMs;
  size_t max_per_account = kMaxHistoryTransfersPerAccount;
  uint64_t max_transfer_bytes = kMaxHistoryTransferBytes;
  uint64_t max_spool_bytes = kMaxHistorySpoolBytes;
};

class HistoryTransfers {
 public:
  // Opens (creating, mode 0700) the spool directory `dir` and reloads the
  // transfers a previous run left. INTERNAL naming the path if the
  // directory cannot be made or read. Does not own `clock`.
  static absl::StatusOr<std::unique_ptr<HistoryTransfers>> Open(std::string dir, Clock* clock,
                                                                HistoryTransferLimits limits = {});
  HistoryTransfers(const HistoryTransfers&) = delete;
  HistoryTransfers& operator=(const HistoryTransfers&) = delete;

  struct Created {
    std::string transfer_id;  // kHistoryTransferIdBytes random bytes
    int64_t expires_at_ms = 0;
  };
  // An empty archive of `owner`'s account. RESOURCE_EXHAUSTED past
  // max_per_account or a full spool.
  absl::StatusOr<Created> Create(const AuthenticatedDevice& owner);

  // Appends `data` at `offset`; returns the archive's size after it.
  // INVALID_ARGUMENT (id size, empty or oversized chunk), NOT_FOUND,
  // FAILED_PRECONDITION (sealed; offset not at the end, unless the chunk
  // ends exactly at the end: a retry, accepted and ignored),
  // RESOURCE_EXHAUSTED (max_transfer_bytes, max_spool_bytes).
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
  void DropAccount(absl::string_view handle);
  void DropCreatedBy(absl::string_view handle, uint32_t device_id);

  // Live archives and their bytes (tests, the operator's view).
  size_t size();
  uint64_t spool_bytes();

 private:
  struct Transfer {
    std::string handle;
    uint32_t created_by = 0;
    int64_t expires_at_ms = 0;
    bool sealed = false;
    uint64_t size = 0;
  };
  HistoryTransfers(std::string dir, Clock* clock, HistoryTransferLimits limits);
  // Reads the spool directory (Open).
  absl::Status Load() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Expire(int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The live transfer `id` of `caller`'s account, or null.
  Transfer* Find(const AuthenticatedDevice& caller, absl::string_view id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes the transfer and its files.
  void Erase(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteMeta(const std::string& id, const Transfer& t);
  std::string PathOf(const std::string& id, absl::string_view ext) const;

  const std::string dir_;
  Clock* const clock_;
  const HistoryTransferLimits limits_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Transfer> transfers_ ABSL_GUARDED_BY(mu_);
  uint64_t spool_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_HISTORY_TRANSFERS_H_

#ifndef SOTTO_SERVER_STORAGE_DISK_SPACE_H_
#define SOTTO_SERVER_STORAGE_DISK_SPACE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sotto::server {

struct DiskSpaceOptions {
  // The data directory: its file system is the one watched, and the
  // ballast file lives in it.
  std::string dir;
  // The reserve. With less free than this the server accepts nothing that
  // adds data (SpaceGuardStore); what removes data (Acks) still runs, and
  // so do reads. 0: never low.
  uint64_t min_free_bytes = 0;
  // A file of this size kept in `dir` (kBallastFileName), given back to the
  // file system when free space falls under half the reserve: something
  // other than our refused writes is filling the disk, and RocksDB needs
  // room to take Acks, flush and recover. Made again once free space is at
  // least min_free_bytes + ballast_bytes. 0: no ballast.
  uint64_t ballast_bytes = 0;
  // How often a thread asks the file system (statvfs: one system call, no
  // disk I/O). A write checks the last answer, an atomic load.
  absl::Duration poll_interval = absl::Milliseconds(200);
  // Tests only: free bytes from here instead of statvfs.
  std::function<absl::StatusOr<uint64_t>()> free_bytes_source;
};

// The ballast file's name inside the data directory. RocksDB ignores files
// whose names it does not know.
inline constexpr char kBallastFileName[] = "SOTTO-SPACE-BALLAST";

// Test-only fault injection for the real binary: when this environment
// variable names a file, free space is read from that file (a decimal byte
// count; unreadable or empty: statvfs) instead of the file system, so the
// disk-full logic can be driven without a small file system to fill.
inline constexpr char kFakeFreeBytesEnv[] = "SOTTO_TEST_FREE_BYTES_FILE";

// Watches the free space of the data directory's file system and keeps the
// ballast. Thread-safe; Low() is lock-free (every write asks it).
class DiskSpace {
 public:
  // Measures once, gives the ballast back at once if space is already short
  // (so that RocksDB can open on a full disk: it writes a new MANIFEST,
  // OPTIONS file and log), and starts the poller. Errors: INVALID_ARGUMENT
  // when `dir` is not a directory that statvfs can measure.
  static absl::StatusOr<std::unique_ptr<DiskSpace>> Start(DiskSpaceOptions options);

  DiskSpace(const DiskSpace&) = delete;
  DiskSpace& operator=(const DiskSpace&) = delete;
  // Stops the poller. The ballast stays on disk for the next start.
  ~DiskSpace();

  // True while free space is under the reserve (as of the last poll).
  bool Low() const { return low_.load(std::memory_order_relaxed); }
  // Free bytes at the last poll (for unprivileged users, as statvfs's
  // f_bavail), not counting the ballast, less what the store's next flush
  // will write (CountUnflushed).
  uint64_t free_bytes() const { return free_.load(std::memory_order_relaxed); }
  // Whether the ballast file is held now.
  bool ballast_held() const;

  // Counts `bytes` about to be written against the free space until the
  // next poll, so that a burst of writes between two polls cannot run
  // through the reserve (at 30 MB/s a 200 ms poll is 6 MB late). Lock-free.
  void Charge(uint64_t bytes);

  // Measures now, off the poll schedule: after RocksDB reported that it ran
  // out of space.
  void Poll();

  // From now on every measure counts `unflushed()` bytes as already used:
  // what the store holds in memory (Store::UnflushedBytes) is written to
  // disk again when it flushes, and a flush that finds no room stops every
  // write, Acks included, until a restart. Without it a queue could fill up
  // to the reserve with a memtable's worth still to come (the disk-full test
  // saw a 5 MiB-free disk fail a bigger flush). Set once the store is open.
  void CountUnflushed(std::function<uint64_t()> unflushed);

 private:
  explicit DiskSpace(DiskSpaceOptions options);
  void Run();
  absl::StatusOr<uint64_t> Measure() const;
  // Gives back or makes the ballast for `free` bytes free.
  void AdjustBallast(uint64_t& free) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const DiskSpaceOptions options_;
  const std::string ballast_path_;
  std::atomic<bool> low_{false};
  std::atomic<uint64_t> free_{0};
  mutable absl::Mutex mu_;
  bool ballast_held_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool warned_low_ ABSL_GUARDED_BY(mu_) = false;
  std::function<uint64_t()> unflushed_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_DISK_SPACE_H_

#include "server/storage/disk_space.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "sotto/log.h"

namespace sotto::server {
namespace {

std::string Mib(uint64_t bytes) { return absl::StrCat(bytes >> 20, " MiB"); }

// Allocates `bytes` to a new file at `path`; false (and no file) if the
// file system cannot. Real blocks, not a sparse file: giving it back must
// free space.
bool MakeBallast(const std::string& path, uint64_t bytes) {
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool ok = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes)) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) ::unlink(path.c_str());
  return ok;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DiskSpace>> DiskSpace::Start(DiskSpaceOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  struct statvfs st;
  if (::statvfs(options.dir.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot measure free space of ", options.dir, ": ", std::strerror(errno)));
  }
  std::unique_ptr<DiskSpace> space(new DiskSpace(std::move(options)));
  {
    absl::MutexLock lock(&space->mu_);
    space->ballast_held_ = std::filesystem::exists(space->ballast_path_, ec);
  }
  space->Poll();
  space->thread_ = std::thread([s = space.get()] { s->Run(); });
  return space;
}

DiskSpace::DiskSpace(DiskSpaceOptions options)
    : options_(std::move(options)),
      ballast_path_((std::filesystem::path(options_.dir) / kBallastFileName).string()) {}

DiskSpace::~DiskSpace() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool DiskSpace::ballast_held() const {
  absl::MutexLock lock(&mu_);
  return ballast_held_;
}

absl::StatusOr<uint64_t> DiskSpace::Measure() const {
  if (options_.free_bytes_source) return options_.free_bytes_source();
  struct statvfs st;
  if (::statvfs(options_.dir.c_str(), &st) != 0) {
    return absl::UnavailableError(std::strerror(errno));
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

void DiskSpace::AdjustBallast(uint64_t& free) {
  const uint64_t reserve = options_.min_free_bytes;
  if (ballast_held_ && free < reserve / 2) {
    std::error_code ec;
    std::filesystem::remove(ballast_path_, ec);
    ballast_held_ = false;
    if (!options_.free_bytes_source) free += options_.ballast_bytes;
    log::Warn(absl::StrCat("free space on ", options_.dir, " fell to ", Mib(free),
                           ", under half the reserve: gave back the ", Mib(options_.ballast_bytes),
                           " ballast file so that acknowledgements and recovery can still write"));
    return;
  }
  if (!ballast_held_ && options_.ballast_bytes > 0 && free >= reserve + options_.ballast_bytes) {
    if (MakeBallast(ballast_path_, options_.ballast_bytes)) {
      ballast_held_ = true;
      if (!options_.free_bytes_source) free -= options_.ballast_bytes;
    }
  }
}

void DiskSpace::CountUnflushed(std::function<uint64_t()> unflushed) {
  {
    absl::MutexLock lock(&mu_);
    unflushed_ = std::move(unflushed);
  }
  Poll();
}

void DiskSpace::Poll() {
  absl::StatusOr<uint64_t> measured = Measure();
  absl::MutexLock lock(&mu_);
  if (!measured.ok()) {
    // Keep the last answer: a failing statvfs says nothing about space.
    return;
  }
  uint64_t free = *measured;
  if (unflushed_) {
    // Called under mu_ on purpose: CountUnflushed(nullptr) then waits for a
    // call in flight, so the store can be destroyed after it (StoreStack).
    const uint64_t pending = unflushed_();
    free = free > pending ? free - pending : 0;
  }
  AdjustBallast(free);
  free_.store(free, std::memory_order_relaxed);
  const bool low = options_.min_free_bytes > 0 && free < options_.min_free_bytes;
  if (low && !warned_low_) {
    log::Error(absl::StrCat("free space on ", options_.dir, " is ", Mib(free),
                            ", under the reserve of ", Mib(options_.min_free_bytes),
                            " (--min-free-mib): refusing new messages, accounts and keys until "
                            "space is freed; fetches and acknowledgements go on"));
  } else if (!low && warned_low_) {
    log::Warn(absl::StrCat("free space on ", options_.dir, " is back to ", Mib(free),
                           ": accepting writes again"));
  }
  warned_low_ = low;
  low_.store(low, std::memory_order_relaxed);
}

void DiskSpace::Charge(uint64_t bytes) {
  uint64_t free = free_.load(std::memory_order_relaxed);
  uint64_t left = 0;
  do {
    left = free > bytes ? free - bytes : 0;
  } while (!free_.compare_exchange_weak(free, left, std::memory_order_relaxed));
  if (options_.min_free_bytes > 0 && left < options_.min_free_bytes) {
    low_.store(true, std::memory_order_relaxed);
  }
}

void DiskSpace::Run() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.poll_interval);
      if (stopping_) return;
    }
    Poll();
  }
}

}  // namespace sotto::server

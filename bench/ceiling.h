#ifndef SOTTO_BENCH_CEILING_H_
#define SOTTO_BENCH_CEILING_H_

// The durable-write ceiling in the same run: `batches` WriteBatches of one
// `value_size`-byte Put each, written with WriteOptions.sync = true by
// `writers` threads (one writer per thread) straight into a fresh RocksDB in
// a temporary directory under `tmp_dir`. RocksDB's own write groups let
// concurrent synced writes share a WAL sync, so this is what the disk gives a
// RocksDB user at this concurrency.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace sotto::bench {

struct CeilingResult {
  uint64_t batches = 0;
  double seconds = 0;
  double per_second = 0;
};

absl::StatusOr<CeilingResult> MeasureSyncedWriteCeiling(const std::string& tmp_dir,
                                                        uint64_t batches, size_t value_size,
                                                        size_t writers);

// $TMPDIR or /tmp: where the server's data dir is made too (same disk).
std::string TempRoot();

}  // namespace sotto::bench

#endif  // SOTTO_BENCH_CEILING_H_

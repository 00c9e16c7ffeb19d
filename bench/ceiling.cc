#include "bench/ceiling.h"

#include <openssl/rand.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/write_batch.h"

namespace sotto::bench {

std::string TempRoot() {
  const char* tmp = getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

absl::StatusOr<CeilingResult> MeasureSyncedWriteCeiling(const std::string& tmp_dir,
                                                        uint64_t batches, size_t value_size,
                                                        size_t writers) {
  std::string dir = tmp_dir + "/sotto-bench-ceiling-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  struct RemoveDir {
    std::string path;
    ~RemoveDir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } cleanup{dir};

  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return absl::InternalError("ceiling RocksDB open: " + s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);

  std::string value(value_size + 64, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(value.data()), static_cast<int>(value.size()));
  writers = std::max<size_t>(1, writers);
  std::mutex mu;
  std::string error;
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (size_t w = 0; w < writers; ++w) {
    const uint64_t n = batches / writers + (w < batches % writers ? 1 : 0);
    threads.emplace_back([&, w, n] {
      // As the server does (rocksdb_store.cc): no per-comparison perf
      // counters, so the ceiling pays for none of what sotto skips.
      rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
      rocksdb::WriteOptions wo;
      wo.sync = true;
      for (uint64_t i = 0; i < n; ++i) {
        char key[16];
        uint64_t hi = w, lo = i;
        std::memcpy(key, &hi, 8);
        std::memcpy(key + 8, &lo, 8);
        rocksdb::WriteBatch batch;
        batch.Put(rocksdb::Slice(key, sizeof(key)),
                  rocksdb::Slice(value.data() + i % 64, value_size));
        rocksdb::Status ws = db->Write(wo, &batch);
        if (!ws.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (error.empty()) error = ws.ToString();
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CeilingResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!error.empty()) return absl::InternalError("ceiling RocksDB write: " + error);
  r.batches = batches;
  r.per_second = r.seconds > 0 ? batches / r.seconds : 0;
  return r;
}

}  // namespace sotto::bench

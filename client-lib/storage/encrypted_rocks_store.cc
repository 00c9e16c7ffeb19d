#include "client-lib/storage/encrypted_rocks_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <system_error>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client-lib/storage/blind_memo.h"
#include "client-lib/storage/history_insert_hint.h"
#include "client-lib/storage/owner_only.h"
#include "client-lib/storage/pending_writes.h"
#include "client-lib/storage/prefault.h"
#include "client-lib/storage/store_header.h"
#include "client-lib/storage/store_manifest.h"
#include "client-lib/storage/value_sealer.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "sotto/status_macros.h"

namespace sotto::client::storage {
namespace {

// Space byte 0 is not a Space: it holds the store's own records.
const std::string kHeaderKey = std::string(1, '\0') + "header";
const std::string kManifestKey = std::string(1, '\0') + "manifest";

const unsigned char* U(const char* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* U(char* p) { return reinterpret_cast<unsigned char*>(p); }

absl::string_view View(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

void InitSodium() {
  // Idempotent and thread-safe; fails only without a source of randomness.
  if (sodium_init() < 0) std::abort();
}

// The one place a rocksdb::Status becomes an absl::Status on the client.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(msg);
  // A second open of the same directory fails to take the LOCK file: say
  // so in words (two `sotto` commands on one profile, or an app still
  // holding it), not only in RocksDB's.
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::UnavailableError(absl::StrCat(
        what, ": another process has this store open (a second sotto command, or an app, ",
        "using the same profile); retry when it has finished (", s.ToString(), ")"));
  }
  return absl::InternalError(msg);
}

// RocksDB's info log would otherwise be created (and old ones renamed) even by
// a read-only open; the passphrase check must not touch any file.
class NullLogger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

rocksdb::Options BaseOptions() {
  rocksdb::Options options;
  // Sealed values are random bytes: compression would only cost time.
  options.compression = rocksdb::kNoCompression;
  options.keep_log_file_num = 2;
  // Each received message looks up its id in kMessageIndex, which is absent
  // but for a duplicate: Bloom filters answer that without walking the
  // memtable's skip list or reading table blocks (as in the server's
  // rocksdb_store.cc; issue 21, ~5% of a sync's CPU before).
  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  // The memtable's filter is this share of write_buffer_size (64 MiB), and
  // RocksDB zeroes all of it when it makes a memtable, at every open and
  // after every flush: at 0.02 that was 1.3 MiB, ~330 first-touched pages
  // (~4 ms of CPU on the VM of docs/BENCHMARKS.md) per memtable, for a
  // filter sized for 1.3 million keys when a sync of 10,000 messages adds
  // ~40,000. 0.004 (256 KiB) still gives a full memtable (~250,000 rows)
  // ~8 bits a key.
  options.memtable_prefix_bloom_size_ratio = 0.004;
  options.memtable_whole_key_filtering = true;
  options.memtable_insert_with_hint_prefix_extractor = HistoryInsertHint();
  // The write-ahead log's buffer grows by doubling, up to this, to hold a
  // whole batch: a Sync page's ~0.7 MB batch grew a fresh one to 1 MiB
  // (~300 first-touched pages, ~4 ms of CPU on the VM of docs/BENCHMARKS.md)
  // in every process and after every memtable switch, the main part of a
  // small sync's fixed cost (issue 21). A larger batch now goes to the file
  // in 64 KiB writes, which cost the same as one write of the whole.
  options.writable_file_max_buffer_size = 64 << 10;
  // Every file RocksDB makes is 0600, whatever the umask (owner_only.h).
  options.env = OwnerOnlyEnv();
  return options;
}

// RocksDB's perf level is per thread and starts at kEnableCount: every key
// comparison in a memtable's skip list also bumps a thread-local counter
// behind __tls_get_addr. Nothing reads them (as in the server's
// rocksdb_store.cc); each thread that reads or writes turns them off once.
void PerfCountersOffOnThisThread() {
  thread_local bool off = false;  // constant-initialised: no TLS init wrapper
  if (!off) {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    off = true;
  }
}

// A WriteBatch's own bytes: its header, and per row a tag and two varint
// lengths; a sealed value's nonce and tag; the sealed manifest (a count and
// a digest per space in use: a dozen or so).
constexpr size_t kBatchOverhead = 12;
constexpr size_t kRowOverhead = 11;
constexpr size_t kSealBytes = 40;
constexpr size_t kManifestBytes = 1024;

class EncryptedRocksStore final : public LocalStore {
 public:
  // Takes the data key's three subkeys. Call Start() before any other use.
  EncryptedRocksStore(std::unique_ptr<rocksdb::DB> db, const SecretKey& data_key, std::string dir)
      : db_(std::move(db)), dir_(std::move(dir)), sealer_(data_key) {
    std::memcpy(data_key_.data(), data_key.data(), kKeyBytes);
    crypto_kdf_derive_from_key(blind_key_.data(), kKeyBytes, 2, "sottobln", data_key.data());
    crypto_kdf_derive_from_key(manifest_key_.data(), kKeyBytes, 3, "sottoman", data_key.data());
  }
  ~EncryptedRocksStore() override {
    // A deferred span left open (an error path): its writes go to disk now.
    {
      absl::MutexLock lock(&apply_mu_);
      WriteOut(pending_, /*sync=*/true).IgnoreError();
      pending_.Clear();
      if (durable_ < applied_.load()) db_->SyncWAL().PermitUncheckedError();
    }
    // The memtable goes to a table file now, so that the next open has no
    // write-ahead log to replay. Without this every open replayed (twice:
    // the read-only passphrase check, then the read-write open) everything
    // written since the last flush — a 64 MiB memtable holds a whole
    // week's sync — and opening a profile grew with its history (issue 21).
    // Best effort: the WAL is synced, so a failed flush loses nothing; the
    // next open replays it. Close() reports errors nobody is left to see.
    rocksdb::FlushOptions flush;
    flush.wait = true;
    db_->Flush(flush).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }
  EncryptedRocksStore(const EncryptedRocksStore&) = delete;
  EncryptedRocksStore& operator=(const EncryptedRocksStore&) = delete;

  // Brings the store to the current format and checks its manifest:
  //  - a new store (`header` empty) gets `new_header` and an empty manifest;
  //  - a format-1 store has every value sealed again for format 2, a
  //    manifest of what it holds, and `new_header`, in one synced write;
  //  - a format-2 store must match its manifest (DATA_LOSS if not).
  absl::Status Start(const StoreHeader& header, absl::string_view new_header) {
    absl::MutexLock lock(&apply_mu_);
    if (header.format == kCurrentFormat) return CheckManifest();
    rocksdb::WriteBatch batch;
    if (header.format == kLegacyFormat) SOTTO_RETURN_IF_ERROR(ResealLegacyValues(batch));
    SOTTO_RETURN_IF_ERROR(
        FromRocks(batch.Put(kManifestKey, sealer_.Seal(kManifestKey, manifest_.Encode())),
                  "building a write batch"));
    SOTTO_RETURN_IF_ERROR(
        FromRocks(batch.Put(kHeaderKey, rocksdb::Slice(new_header.data(), new_header.size())),
                  "building a write batch"));
    rocksdb::WriteOptions sync;
    sync.sync = true;
    return FromRocks(db_->Write(sync, &batch), absl::StrCat("upgrading the local store in ", dir_));
  }

  absl::StatusOr<std::optional<std::string>> Get(Space space, absl::string_view key) override {
    PerfCountersOffOnThisThread();
    const std::string full = FullKey(space, key);
    {
      absl::MutexLock lock(&apply_mu_);
      if (const std::optional<std::string>* pending = pending_.Find(full)) return *pending;
    }
    std::string sealed;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), full, &sealed);
    if (s.IsNotFound()) return std::optional<std::string>();
    SOTTO_RETURN_IF_ERROR(FromRocks(s, absl::StrCat("reading ", SpaceName(space))));
    SOTTO_ASSIGN_OR_RETURN(std::string value, sealer_.Open(SpaceName(space), full, sealed));
    return std::optional<std::string>(std::move(value));
  }

  // Inside a deferred span the writes join the span's pending writes
  // (pending_writes.h), written at its end; outside one they are written
  // and synced now. Either way in one RocksDB batch, with the manifest.
  absl::Status Apply(const std::vector<Write>& writes) override {
    PerfCountersOffOnThisThread();
    absl::MutexLock lock(&apply_mu_);
    if (deferred_depth_ > 0) {
      for (const Write& w : writes) pending_.Put(FullKey(w.space, w.key), w.value);
      return absl::OkStatus();
    }
    PendingWrites now;
    for (const Write& w : writes) now.Put(FullKey(w.space, w.key), w.value);
    return WriteOut(now, /*sync=*/true);
  }

  void BeginDeferredSync() override {
    absl::MutexLock lock(&apply_mu_);
    ++deferred_depth_;
  }

  // The span's writes reach the operating system (a killed process keeps
  // them), not yet the disk.
  absl::Status EndDeferredSyncUnsynced() override {
    absl::MutexLock lock(&apply_mu_);
    if (deferred_depth_ > 0) --deferred_depth_;
    if (deferred_depth_ > 0) return absl::OkStatus();
    absl::Status written = WriteOut(pending_, /*sync=*/false);
    pending_.Clear();
    return written;
  }

  // RocksDB's WAL keeps the order of writes, and its recovery (point in
  // time) keeps a prefix of them: one synced write (or SyncWAL) makes every
  // write before it durable, and a power failure before it loses only a
  // suffix of whole batches. A span's writes are one batch: a failed write
  // loses all of them, and the store reads as before the span.
  absl::Status EndDeferredSync() override {
    absl::MutexLock lock(&apply_mu_);
    if (deferred_depth_ > 0) --deferred_depth_;
    if (deferred_depth_ > 0) return absl::OkStatus();
    absl::Status written = WriteOut(pending_, /*sync=*/true);
    pending_.Clear();
    SOTTO_RETURN_IF_ERROR(written);
    const uint64_t applied = applied_.load();
    if (durable_ >= applied) return absl::OkStatus();
    SOTTO_RETURN_IF_ERROR(FromRocks(db_->SyncWAL(), "syncing the local store"));
    durable_ = applied;
    return absl::OkStatus();
  }

  // SyncWAL without apply_mu_: Apply goes on meanwhile (RocksDB orders a
  // WAL sync against concurrent writes itself), and every write counted in
  // `target` had returned from db_->Write before the sync began. Writes
  // still pending in an open span are not counted: nothing depends on them
  // until the span ends.
  absl::Status SyncApplied() override {
    const uint64_t target = applied_.load();
    {
      absl::MutexLock lock(&apply_mu_);
      if (durable_ >= target) return absl::OkStatus();
    }
    SOTTO_RETURN_IF_ERROR(FromRocks(db_->SyncWAL(), "syncing the local store"));
    absl::MutexLock lock(&apply_mu_);
    durable_ = std::max(durable_, target);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Entry>> Scan(Space space, absl::string_view prefix) override {
    PerfCountersOffOnThisThread();
    const std::string start = FullKey(space, prefix);
    std::vector<std::pair<std::string, std::optional<std::string>>> pending;
    {
      absl::MutexLock lock(&apply_mu_);
      pending = pending_.WithPrefix(start);
    }
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    std::vector<Entry> out;
    auto next_pending = pending.begin();
    // Pending writes before `key` (all, for an empty one) join `out` first.
    auto take_pending_before = [&](absl::string_view key) {
      for (; next_pending != pending.end() && (key.empty() || next_pending->first < key);
           ++next_pending) {
        if (next_pending->second)
          out.push_back(Entry{next_pending->first.substr(1), std::move(*next_pending->second)});
      }
    };
    for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
      const std::string full = it->key().ToString();
      take_pending_before(full);
      if (next_pending != pending.end() && next_pending->first == full) continue;  // replaced
      SOTTO_ASSIGN_OR_RETURN(std::string value,
                             sealer_.Open(SpaceName(space), full, View(it->value())));
      out.push_back(Entry{full.substr(1), std::move(value)});
    }
    SOTTO_RETURN_IF_ERROR(FromRocks(it->status(), absl::StrCat("scanning ", SpaceName(space))));
    take_pending_before("");
    return out;
  }

  // Re-wraps the data key (the values stay sealed under it): one synced Put
  // of the header, so a crash leaves either the old or the new header. The
  // old header is then compacted away so that the old passphrase cannot
  // unwrap the key from the live files (RocksDB unlinks, it does not
  // overwrite: a copy of the disk taken before may still hold it).
  absl::Status ChangePassphrase(absl::string_view old_passphrase,
                                absl::string_view new_passphrase) override {
    if (new_passphrase.empty()) {
      return absl::InvalidArgumentError("the new passphrase must not be empty");
    }
    absl::MutexLock lock(&passphrase_mu_);
    std::string raw;
    SOTTO_RETURN_IF_ERROR(
        FromRocks(db_->Get(rocksdb::ReadOptions(), kHeaderKey, &raw), "reading the header"));
    SOTTO_ASSIGN_OR_RETURN(StoreHeader old_header, ParseStoreHeader(raw));
    SecretKey data_key;
    SOTTO_RETURN_IF_ERROR(UnwrapStoreHeader(raw, old_passphrase, data_key));
    SOTTO_ASSIGN_OR_RETURN(std::string header, WrapStoreHeader(data_key, new_passphrase,
                                                               old_header.ops, old_header.mem));
    rocksdb::WriteOptions sync;
    sync.sync = true;
    SOTTO_RETURN_IF_ERROR(FromRocks(db_->Put(sync, kHeaderKey, header), "writing the header"));
    // Best effort: the new header is durable already.
    db_->Flush(rocksdb::FlushOptions()).PermitUncheckedError();
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    db_->CompactRange(compact, nullptr, nullptr).PermitUncheckedError();
    return absl::OkStatus();
  }

  // ForEachStoredRow (encrypted_rocks_store.h): one RocksDB iterator, one
  // row opened at a time. Pending writes of an open span are not seen.
  absl::Status ForEachRow(Space space, const RowVisitor& visit,
                          const rocksdb::Snapshot* snapshot = nullptr) {
    PerfCountersOffOnThisThread();
    const std::string start(1, static_cast<char>(space));
    rocksdb::ReadOptions read;
    read.snapshot = snapshot;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
    for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
      const absl::string_view full = View(it->key());
      SOTTO_ASSIGN_OR_RETURN(std::string value,
                             sealer_.Open(SpaceName(space), full, View(it->value())));
      absl::Status visited = visit(full.substr(1), value);
      sodium_memzero(value.data(), value.size());
      SOTTO_RETURN_IF_ERROR(visited);
    }
    return FromRocks(it->status(), absl::StrCat("scanning ", SpaceName(space)));
  }
  const SecretKey& data_key() const { return data_key_; }
  rocksdb::DB& db() { return *db_; }

  std::string Blind(absl::string_view identifier) const override {
    if (std::optional<std::string> known = blind_memo_.Find(identifier)) return *std::move(known);
    std::string out(kBlindBytes, '\0');
    crypto_generichash(U(out.data()), out.size(), U(identifier.data()), identifier.size(),
                       blind_key_.data(), kKeyBytes);
    blind_memo_.Remember(identifier, out);
    return out;
  }

 private:
  static std::string FullKey(Space space, absl::string_view key) {
    std::string full(1, static_cast<char>(space));
    full.append(key.data(), key.size());
    return full;
  }

  // Writes `writes` in one RocksDB batch with the manifest changed to match:
  // each protected row written leaves it (its old hash, kept in
  // row_hashes_ so that no write reads the disk) and enters it (the hash of
  // its new sealed bytes). Only once the batch is written do the manifest
  // and row_hashes_ in memory change.
  absl::Status WriteOut(const PendingWrites& writes, bool sync)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_) {
    if (writes.empty()) return absl::OkStatus();
    StoreManifest next = manifest_;
    std::vector<std::pair<const std::string*, std::optional<RowHash>>> hashes;
    // Sized once: grown by doubling, a Sync page's batch (~0.7 MB) was copied
    // and its fresh pages faulted in several times over, and a page fault
    // costs ~12 us of CPU on the VM of docs/BENCHMARKS.md (issue 21).
    size_t bytes = kBatchOverhead + kManifestBytes;
    for (const auto& [full, value] : writes.writes()) {
      bytes += kRowOverhead + full.size() + (value ? value->size() + kSealBytes : 0);
    }
    rocksdb::WriteBatch batch(bytes);
    // Its fresh pages in one call, not one fault each (prefault.h).
    PrefaultForWrite(batch.Data());
    for (const auto& [full, value] : writes.writes()) {
      std::optional<std::string> sealed;
      if (value.has_value()) sealed = sealer_.Seal(full, *value);
      const uint8_t space = static_cast<uint8_t>(full[0]);
      if (IsManifestSpace(space)) {
        if (auto held = row_hashes_.find(full); held != row_hashes_.end()) {
          next.Remove(space, held->second);
        }
        std::optional<RowHash> after;
        if (sealed) {
          after = HashRow(manifest_key_.data(), full, *sealed);
          next.Add(space, *after);
        }
        hashes.emplace_back(&full, after);
      }
      rocksdb::Status s = sealed ? batch.Put(full, *sealed) : batch.Delete(full);
      SOTTO_RETURN_IF_ERROR(FromRocks(s, "building a write batch"));
    }
    SOTTO_RETURN_IF_ERROR(
        FromRocks(batch.Put(kManifestKey, sealer_.Seal(kManifestKey, next.Encode())),
                  "building a write batch"));
    rocksdb::WriteOptions options;
    options.sync = sync;
    SOTTO_RETURN_IF_ERROR(FromRocks(db_->Write(options, &batch), "writing the local store"));
    // Counted once written: SyncApplied syncs past every write it counts.
    const uint64_t applied = applied_.fetch_add(1) + 1;
    if (sync) durable_ = applied;
    manifest_ = next;
    for (const auto& [key, hash] : hashes) {
      if (hash) {
        row_hashes_[*key] = *hash;
      } else {
        row_hashes_.erase(*key);
      }
    }
    return absl::OkStatus();
  }

  static std::string WhereIs(absl::string_view full_key) {
    if (full_key.empty() || full_key[0] == '\0') return "the store's own records";
    return std::string(SpaceName(static_cast<Space>(full_key[0])));
  }

  // Format 1 -> 2: every value sealed again, and the manifest of them.
  absl::Status ResealLegacyValues(rocksdb::WriteBatch& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(std::string(1, '\x01')); it->Valid(); it->Next()) {
      const std::string full = it->key().ToString();
      SOTTO_ASSIGN_OR_RETURN(std::string value,
                             sealer_.Open(WhereIs(full), full, View(it->value()), kLegacyFormat));
      std::string sealed = sealer_.Seal(full, value);
      sodium_memzero(value.data(), value.size());
      const uint8_t space = static_cast<uint8_t>(full[0]);
      if (IsManifestSpace(space)) {
        const RowHash row = HashRow(manifest_key_.data(), full, sealed);
        manifest_.Add(space, row);
        row_hashes_.emplace(full, row);
      }
      SOTTO_RETURN_IF_ERROR(FromRocks(batch.Put(full, sealed), "building a write batch"));
    }
    return FromRocks(it->status(), absl::StrCat("reading the local store in ", dir_));
  }

  // Loads the manifest and compares it with the rows.
  absl::Status CheckManifest() ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_) {
    std::string sealed;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kManifestKey, &sealed);
    if (s.IsNotFound()) {
      return absl::DataLossError(absl::StrCat("the local store in ", dir_,
                                              " was changed outside Sotto: its manifest is "
                                              "missing; refusing to use keys and contacts that "
                                              "may have been tampered with"));
    }
    SOTTO_RETURN_IF_ERROR(FromRocks(s, "reading the manifest"));
    SOTTO_ASSIGN_OR_RETURN(std::string encoded, sealer_.Open("the manifest", kManifestKey, sealed));
    SOTTO_ASSIGN_OR_RETURN(manifest_, StoreManifest::Decode(encoded));
    StoreManifest found;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (int b = 1; b < 256; ++b) {
      if (!IsManifestSpace(static_cast<uint8_t>(b))) continue;
      const std::string start(1, static_cast<char>(b));
      for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
        const RowHash row = HashRow(manifest_key_.data(), View(it->key()), View(it->value()));
        found.Add(static_cast<uint8_t>(b), row);
        row_hashes_.emplace(it->key().ToString(), row);
      }
    }
    SOTTO_RETURN_IF_ERROR(FromRocks(it->status(), absl::StrCat("reading ", dir_)));
    return manifest_.Check(found, dir_);
  }

  const std::unique_ptr<rocksdb::DB> db_;
  const std::string dir_;
  absl::Mutex passphrase_mu_;
  // Serializes writers: the manifest is read, changed and written with them.
  absl::Mutex apply_mu_;
  StoreManifest manifest_ ABSL_GUARDED_BY(apply_mu_);
  // The hash of every protected row (what the manifest XORs), read at open
  // with the check: a write learns what it replaces without a read.
  absl::flat_hash_map<std::string, RowHash> row_hashes_ ABSL_GUARDED_BY(apply_mu_);
  // Open BeginDeferredSync spans, and the writes they hold back.
  int deferred_depth_ ABSL_GUARDED_BY(apply_mu_) = 0;
  PendingWrites pending_ ABSL_GUARDED_BY(apply_mu_);
  // Writes applied so far (incremented under apply_mu_, read without it by
  // SyncApplied), and how many of them are known to be on disk: a WAL sync
  // covers every write that returned before it began.
  std::atomic<uint64_t> applied_{0};
  uint64_t durable_ ABSL_GUARDED_BY(apply_mu_) = 0;
  ValueSealer sealer_;
  SecretKey data_key_;
  SecretKey blind_key_;
  mutable BlindMemo blind_memo_;
  SecretKey manifest_key_;
};

absl::StatusOr<std::unique_ptr<rocksdb::DB>> OpenRocks(const std::string& dir,
                                                       const rocksdb::Options& options) {
  rocksdb::DB* raw = nullptr;
  SOTTO_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(options, dir, &raw), absl::StrCat("opening ", dir)));
  return std::unique_ptr<rocksdb::DB>(raw);
}

}  // namespace

KdfLimits KdfLimits::Interactive() {
  return KdfLimits{crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
KdfLimits KdfLimits::ForTesting() {
  return KdfLimits{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

bool EncryptedStoreExists(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec);
}

absl::Status DestroyEncryptedStore(const std::string& dir) {
  if (!EncryptedStoreExists(dir)) {
    return absl::NotFoundError(absl::StrCat("no local store in ", dir));
  }
  rocksdb::Options options = BaseOptions();
  options.info_log = std::make_shared<NullLogger>();
  return FromRocks(rocksdb::DestroyDB(dir, options), absl::StrCat("destroying ", dir));
}

absl::StatusOr<std::unique_ptr<LocalStore>> CreateEncryptedStore(const std::string& dir,
                                                                 absl::string_view passphrase,
                                                                 KdfLimits limits) {
  InitSodium();
  SecretKey data_key;
  randombytes_buf(data_key.data(), kKeyBytes);
  return CreateEncryptedStoreWithDataKey(dir, passphrase, data_key, limits);
}

absl::StatusOr<std::unique_ptr<LocalStore>> CreateEncryptedStoreWithDataKey(
    const std::string& dir, absl::string_view passphrase, const SecretKey& data_key,
    KdfLimits limits) {
  InitSodium();
  if (passphrase.empty()) return absl::InvalidArgumentError("passphrase must not be empty");
  if (EncryptedStoreExists(dir)) {
    return absl::AlreadyExistsError(absl::StrCat("a local store exists in ", dir));
  }
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    // A directory someone else can write may already hold their files.
    SOTTO_RETURN_IF_ERROR(CheckOwnerOnly(dir));
  } else {
    std::filesystem::create_directories(dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("creating ", dir, ": ", ec.message()));
  }
  SOTTO_RETURN_IF_ERROR(MakeOwnerOnly(dir));
  SOTTO_ASSIGN_OR_RETURN(std::string header,
                         WrapStoreHeader(data_key, passphrase, limits.ops, limits.mem));

  rocksdb::Options options = BaseOptions();
  options.create_if_missing = true;
  options.error_if_exists = true;
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenRocks(dir, options));
  auto store = std::make_unique<EncryptedRocksStore>(std::move(db), data_key, dir);
  SOTTO_RETURN_IF_ERROR(store->Start(StoreHeader{}, header));
  return std::unique_ptr<LocalStore>(std::move(store));
}

absl::StatusOr<std::unique_ptr<LocalStore>> OpenEncryptedStore(const std::string& dir,
                                                               absl::string_view passphrase) {
  InitSodium();
  if (!EncryptedStoreExists(dir)) {
    return absl::NotFoundError(absl::StrCat("no local store in ", dir));
  }
  SOTTO_RETURN_IF_ERROR(CheckOwnerOnly(dir));
  // Check the passphrase on a read-only open, so a wrong one changes nothing.
  std::string raw_header;
  {
    rocksdb::Options options = BaseOptions();
    options.info_log = std::make_shared<NullLogger>();
    // One Get: a filter for the replayed memtable would be zeroed for nothing.
    options.memtable_prefix_bloom_size_ratio = 0;
    options.memtable_whole_key_filtering = false;
    rocksdb::DB* raw = nullptr;
    SOTTO_RETURN_IF_ERROR(
        FromRocks(rocksdb::DB::OpenForReadOnly(options, dir, &raw), absl::StrCat("opening ", dir)));
    std::unique_ptr<rocksdb::DB> ro(raw);
    rocksdb::Status s = ro->Get(rocksdb::ReadOptions(), kHeaderKey, &raw_header);
    if (s.IsNotFound())
      return absl::DataLossError(absl::StrCat("local store in ", dir, " has no header"));
    SOTTO_RETURN_IF_ERROR(FromRocks(s, "reading the header"));
    ro->Close().PermitUncheckedError();
  }
  SecretKey data_key;
  SOTTO_RETURN_IF_ERROR(UnwrapStoreHeader(raw_header, passphrase, data_key));
  SOTTO_ASSIGN_OR_RETURN(StoreHeader header, ParseStoreHeader(raw_header));
  // A store of an older format is rewritten in the current one, under a
  // header that says so (which needs the passphrase: see store_header.h).
  std::string new_header;
  if (header.format != kCurrentFormat) {
    SOTTO_ASSIGN_OR_RETURN(new_header,
                           WrapStoreHeader(data_key, passphrase, header.ops, header.mem));
  }
  // Profiles made before files were owner-only (0755/0644) become so now.
  SOTTO_RETURN_IF_ERROR(MakeOwnerOnly(dir));
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenRocks(dir, BaseOptions()));
  auto store = std::make_unique<EncryptedRocksStore>(std::move(db), data_key, dir);
  SOTTO_RETURN_IF_ERROR(store->Start(header, new_header));
  return std::unique_ptr<LocalStore>(std::move(store));
}

absl::Status ForEachStoredRow(LocalStore& store, Space space, const RowVisitor& visit) {
  auto* rocks = dynamic_cast<EncryptedRocksStore*>(&store);
  if (rocks == nullptr) {
    return absl::FailedPreconditionError(
        "this profile is kept in a store the app provides; only a profile directory can be "
        "backed up");
  }
  return rocks->ForEachRow(space, visit);
}

namespace {

class RocksSnapshot final : public StoreSnapshot {
 public:
  explicit RocksSnapshot(EncryptedRocksStore& store)
      : store_(store), snapshot_(store.db().GetSnapshot()) {}
  RocksSnapshot(const RocksSnapshot&) = delete;
  RocksSnapshot& operator=(const RocksSnapshot&) = delete;
  ~RocksSnapshot() override { store_.db().ReleaseSnapshot(snapshot_); }

  absl::Status ForEachRow(Space space, const RowVisitor& visit) override {
    return store_.ForEachRow(space, visit, snapshot_);
  }
  const SecretKey& data_key() const override { return store_.data_key(); }

 private:
  EncryptedRocksStore& store_;
  const rocksdb::Snapshot* const snapshot_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<StoreSnapshot>> SnapshotStore(LocalStore& store) {
  auto* rocks = dynamic_cast<EncryptedRocksStore*>(&store);
  if (rocks == nullptr) {
    return absl::FailedPreconditionError(
        "this profile is kept in a store the app provides; only a profile directory can be "
        "backed up");
  }
  return std::unique_ptr<StoreSnapshot>(std::make_unique<RocksSnapshot>(*rocks));
}

absl::Status CopyStoreDataKey(LocalStore& store, const SecretKey& out) {
  auto* rocks = dynamic_cast<EncryptedRocksStore*>(&store);
  if (rocks == nullptr) {
    return absl::FailedPreconditionError(
        "this profile is kept in a store the app provides; only a profile directory can be "
        "backed up");
  }
  std::memcpy(out.data(), rocks->data_key().data(), kKeyBytes);
  return absl::OkStatus();
}

}  // namespace sotto::client::storage

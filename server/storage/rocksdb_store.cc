#include "server/storage/rocksdb_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/transaction_log.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "server/storage/key_codec.h"
#include "server/storage/schema_version.h"
#include "server/storage/space_guard_store.h"
#include "server/storage/error_log.h"
#include "sotto/log.h"

namespace sotto::server {

absl::string_view TableName(Table table) {
  switch (table) {
    case Table::kAccounts:
      return "accounts";
    case Table::kDevices:
      return "devices";
    case Table::kPreKeys:
      return "prekeys";
    case Table::kQueues:
      return "queues";
    case Table::kQueueMeta:
      return "queue_meta";
    case Table::kIdempotency:
      return "idempotency";
    case Table::kEnrolments:
      return "enrolments";
    case Table::kInvites:
      return "invites";
    case Table::kLinks:
      return "links";
    case Table::kLinksByClient:
      return "links_by_client";
    case Table::kConversations:
      return "conversations";
    case Table::kPolicies:
      return "policies";
    case Table::kScheduled:
      return "scheduled";
    case Table::kScheduledIndex:
      return "scheduled_index";
    case Table::kAudit:
      return "audit";
    case Table::kNotifications:
      return "notifications";
    case Table::kInviteLog:
      return "invite_log";
    case Table::kLinkSlots:
      return "link_slots";
    case Table::kLinkTokens:
      return "link_tokens";
    case Table::kHistoryTransfers:
      return "history_transfers";
    case Table::kHistoryChunks:
      return "history_chunks";
    case Table::kOpenByAccount:
      return "open_by_account";
    case Table::kLimits:
      return "limits";
  }
  return "unknown";
}

absl::Status ExpectationFailed(Table table, absl::string_view key, bool found) {
  return absl::AbortedError(absl::StrCat(
      "conditional write not applied: ", TableName(table), " key \"",
      absl::CEscape(key.substr(0, 64)), key.size() > 64 ? "..." : "", "\" ",
      found ? "holds another value" : "is absent",
      " (a concurrent writer changed it since it was read); read it again and retry"));
}

namespace {

#define SOTTO_STORAGE_RETURN_IF_ITER_ERROR(it, table)                                         \
  do {                                                                                        \
    if (!(it)->status().ok()) {                                                               \
      return FromRocksForRequest((it)->status(), absl::StrCat("scan of ", TableName(table))); \
    }                                                                                         \
  } while (0)

// The one place rocksdb::Status becomes absl::Status.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return absl::UnavailableError(msg);
  }
  if (s.IsIOError()) {
    // A held LOCK file means another process has the database open: the
    // operator must stop it first.
    if (absl::StrContains(s.ToString(), "lock")) {
      return absl::FailedPreconditionError(msg);
    }
    return absl::UnavailableError(msg);
  }
  return absl::InternalError(msg);
}

// A store error met while serving a request, for the client: RocksDB's
// text names files of the data directory ("While appending to file:
// /srv/sotto/000004.log"), which no client may see. The detail goes to the
// server's stderr (the first in full, then a count every 10 s while they
// go on: LogStorageError, so a failing disk cannot flood the log); the client gets the code
// and a sentence. Out of space is RESOURCE_EXHAUSTED, like the reserve's
// own refusal (space_guard_store.h).
absl::Status FromRocksForRequest(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  LogStorageError(what, s.ToString());
  if (s.IsNoSpace()) return OutOfStorageError();
  if (s.IsCorruption()) {
    return absl::DataLossError("the server's storage is damaged; the operator must restore it");
  }
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return absl::UnavailableError(
        "the server's storage failed, so this request was not stored; try again later");
  }
  return absl::InternalError("the server's storage refused the request (logged on the server)");
}

// RocksDB's own log, on the server's stderr, warnings and errors only
// (background errors, stalls, recovery), never a LOG file in the data
// directory. RocksDB's file logger aborts the process (Debian keeps its
// assertions) on the first line it writes after one failed for want of
// space: a full disk killed the server through its diagnostics
// (tests/reliability/disk_full_test.cc). The options dump written at each
// open (HEADER_LEVEL) is left out.
class StderrLogger final : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel() || level == rocksdb::InfoLogLevel::HEADER_LEVEL) return;
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    // A failed open is reported once, by OpenRocksDbStore's caller, with
    // what to do ("cannot open database in DIR: ..."): not twice.
    if (std::strstr(line, "DB::Open() failed") != nullptr) return;
    // A stopped database says the same for every write it refuses: one
    // line a second of each, with a count.
    const int64_t now_ms = absl::ToUnixMillis(absl::Now());
    absl::MutexLock lock(&mu_);
    if (last_ == line && now_ms - last_ms_ < 1000) {
      ++repeated_;
      return;
    }
    if (repeated_ > 0) {
      log::Warn(absl::StrCat("rocksdb: (the line before ", repeated_, " more times)"));
    }
    log::Warn(absl::StrCat("rocksdb: ", line));
    last_ = line;
    last_ms_ = now_ms;
    repeated_ = 0;
  }
  void LogHeader(const char*, va_list) override {}

 private:
  absl::Mutex mu_;
  std::string last_ ABSL_GUARDED_BY(mu_);
  int64_t last_ms_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t repeated_ ABSL_GUARDED_BY(mu_) = 0;
};

// RocksDB's perf level is per thread and starts at kEnableCount: every key
// comparison in a memtable's skip list then also increments a counter in a
// thread-local PerfContext, reached through __tls_get_addr in a shared
// library (a Send's four inserts and three reads make ~400 comparisons).
// Nothing reads those counters, so each thread that calls RocksDB turns
// them off the first time it does.
void PerfCountersOffOnThisThread() {
  thread_local bool off = false;  // constant-initialised: no TLS init wrapper
  if (!off) {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    off = true;
  }
}

constexpr size_t kTableCount = std::size(kAllTables);
// Pops under one prefix are serialised by one of these stripes, so the
// read-then-delete of PopFirst is atomic with respect to other pops.
constexpr size_t kPopStripes = 64;
constexpr size_t kExpectStripes = 256;

class RocksDbStore final : public Store {
 public:
  RocksDbStore(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
               bool read_only)
      : db_(std::move(db)), handles_(std::move(handles)), read_only_(read_only) {}
  RocksDbStore(const RocksDbStore&) = delete;
  RocksDbStore& operator=(const RocksDbStore&) = delete;

  ~RocksDbStore() override {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      // Ignore the error: closing a handle only fails for the default family,
      // and the DB is closed right after anyway.
      (void)db_->DestroyColumnFamilyHandle(h);
    }
    (void)db_->Close();
  }

  absl::StatusOr<std::optional<std::string>> Get(Table table, absl::string_view key) override {
    PerfCountersOffOnThisThread();
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Handle(table),
                                 rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) return FromRocksForRequest(s, absl::StrCat("get from ", TableName(table)));
    return value;
  }

  absl::Status Write(const WriteBatch& batch, Durability durability) override {
    PerfCountersOffOnThisThread();
    if (!batch.audit_events().empty()) {
      return absl::InternalError("a write with audit events reached a store without an audit log");
    }
    if (read_only_) return absl::FailedPreconditionError("the database is open read-only");
    // Sized up front: the batch's buffer is built once, not regrown per op
    // (12 bytes of header; per op a tag, column family and two lengths).
    size_t bytes = 12;
    for (const WriteBatch::Op& op : batch.ops()) {
      bytes += 16 + op.key.size() + (op.value ? op.value->size() : 0);
    }
    rocksdb::WriteBatch wb(bytes);
    for (const WriteBatch::Op& op : batch.ops()) {
      rocksdb::Status s = op.value ? wb.Put(Handle(op.table), op.key, *op.value)
                                   : wb.Delete(Handle(op.table), op.key);
      if (!s.ok()) return FromRocks(s, "build write batch");
    }
    if (batch.expectations().empty()) {
      return FromRocksForRequest(db_->Write(Options(durability), &wb), "write batch");
    }
    // A conditional batch: the stripes of its expected keys, taken in
    // ascending order (no deadlock between two batches), make check and
    // write one step against every other conditional write of those keys.
    const std::vector<size_t> stripes = LockExpectStripes(batch);
    absl::Status status = CheckExpectations(batch);
    if (status.ok()) {
      status = FromRocksForRequest(db_->Write(Options(durability), &wb), "write batch");
    }
    UnlockExpectStripes(stripes);
    return status;
  }

  absl::Status SyncLog() override {
    PerfCountersOffOnThisThread();
    if (read_only_) return absl::FailedPreconditionError("the database is open read-only");
    // Flushes RocksDB's WAL buffer to the file and fsyncs it: every write
    // that returned before covered, concurrent writes keep going.
    return FromRocksForRequest(db_->SyncWAL(), "sync write-ahead log");
  }

  absl::StatusOr<std::vector<KeyValue>> Scan(Table table, absl::string_view prefix,
                                             absl::string_view start_after, size_t limit) override {
    PerfCountersOffOnThisThread();
    std::vector<KeyValue> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Handle(table)));
    absl::string_view start = start_after.empty() ? prefix : start_after;
    for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid() && out.size() < limit;
         it->Next()) {
      absl::string_view key(it->key().data(), it->key().size());
      if (!absl::StartsWith(key, prefix)) break;
      if (!start_after.empty() && key == start_after) continue;
      out.push_back(KeyValue{std::string(key), it->value().ToString()});
    }
    SOTTO_STORAGE_RETURN_IF_ITER_ERROR(it, table);
    return out;
  }

  absl::StatusOr<std::optional<KeyValue>> PopFirst(Table table, absl::string_view prefix,
                                                   Durability durability) override {
    PerfCountersOffOnThisThread();
    if (read_only_) return absl::FailedPreconditionError("the database is open read-only");
    absl::MutexLock lock(&pop_stripes_[absl::Hash<absl::string_view>()(prefix) % kPopStripes]);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Handle(table)));
    it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
    if (!it->Valid() || !it->key().starts_with(rocksdb::Slice(prefix.data(), prefix.size()))) {
      SOTTO_STORAGE_RETURN_IF_ITER_ERROR(it, table);
      return std::nullopt;
    }
    KeyValue kv{it->key().ToString(), it->value().ToString()};
    rocksdb::Status s = db_->Delete(Options(durability), Handle(table), kv.key);
    if (!s.ok()) return FromRocksForRequest(s, absl::StrCat("pop from ", TableName(table)));
    return kv;
  }

  // The live write-ahead logs: they hold every write not yet in a table
  // file (and are kept until every table with data in them has flushed, so
  // this is an upper bound). Not the memtables' size: that counts their
  // arenas and Bloom filters, ~1.3 MiB per empty table here, none of which
  // reaches the disk.
  uint64_t UnflushedBytes() const override {
    rocksdb::VectorLogPtr logs;
    if (!db_->GetSortedWalFiles(logs).ok()) return 0;
    uint64_t bytes = 0;
    for (const std::unique_ptr<rocksdb::LogFile>& log : logs) {
      if (log->Type() == rocksdb::kAliveLogFile) bytes += log->SizeFileBytes();
    }
    return bytes;
  }

  absl::Status Checkpoint(const std::string& dir) override {
    std::error_code ec;
    if (std::filesystem::exists(dir, ec)) {
      return absl::FailedPreconditionError(absl::StrCat("checkpoint directory ", dir, " exists"));
    }
    rocksdb::Checkpoint* raw = nullptr;
    rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
    if (!s.ok()) return FromRocks(s, "start checkpoint");
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // log_size_for_flush 0: the memtables are flushed first, so the copy is
    // table files plus a short log (RocksDB copies the live logs, cut at
    // their size when it starts, and every write that returned is in them or
    // flushed). Table files are hard-linked on one filesystem; across two,
    // linking fails with EXDEV and RocksDB copies instead.
    return FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0),
                     absl::StrCat("checkpoint to ", dir));
  }

 private:
  rocksdb::ColumnFamilyHandle* Handle(Table table) const {
    return handles_[static_cast<size_t>(table)];
  }
  // The stripes are chosen at run time, which clang's thread-safety
  // analysis cannot name: these two are exempt, and nothing is
  // ABSL_GUARDED_BY a stripe.
  std::vector<size_t> LockExpectStripes(const WriteBatch& batch) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    std::vector<size_t> stripes;
    stripes.reserve(batch.expectations().size());
    for (const WriteBatch::Expectation& e : batch.expectations()) {
      stripes.push_back(absl::HashOf(static_cast<int>(e.table), e.key) % kExpectStripes);
    }
    std::sort(stripes.begin(), stripes.end());
    stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
    for (size_t i : stripes) expect_stripes_[i].Lock();
    return stripes;
  }
  void UnlockExpectStripes(const std::vector<size_t>& stripes) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (auto i = stripes.rbegin(); i != stripes.rend(); ++i) expect_stripes_[*i].Unlock();
  }
  // OK if every expectation of `batch` holds now, else ABORTED naming the
  // first that does not.
  absl::Status CheckExpectations(const WriteBatch& batch) {
    std::string value;
    for (const WriteBatch::Expectation& e : batch.expectations()) {
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Handle(e.table),
                                   rocksdb::Slice(e.key.data(), e.key.size()), &value);
      if (!s.ok() && !s.IsNotFound()) {
        return FromRocksForRequest(s, absl::StrCat("get from ", TableName(e.table)));
      }
      const bool found = s.ok();
      if (found != e.value.has_value() || (found && value != *e.value)) {
        return ExpectationFailed(e.table, e.key, found);
      }
    }
    return absl::OkStatus();
  }

  static rocksdb::WriteOptions Options(Durability durability) {
    rocksdb::WriteOptions wo;
    wo.sync = durability == Durability::kSynced;
    return wo;
  }

  std::unique_ptr<rocksdb::DB> db_;
  // Index = static_cast<size_t>(Table); handles_[kTableCount] is "default".
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::array<absl::Mutex, kPopStripes> pop_stripes_;
  // Conditional writes whose expected keys share a stripe are serialised.
  std::array<absl::Mutex, kExpectStripes> expect_stripes_;
  const bool read_only_;
};

// Memtable insert hints. A skip-list insert walks down from the top of
// the list, about seventy key comparisons in a full memtable; RocksDB can
// instead start from where the last insert with the same prefix went
// (memtable_insert_with_hint_prefix_extractor). That is at or next to the
// right place for three of the four keys every Send writes: the next seq of
// its recipient's queue, and a newer version of that queue's meta and of the
// conversation. Hints change only how an insert finds its place, never the
// order (the skip list checks a hint before it uses it), and apply to a
// writer inserting alone, which perf shows is nearly every insert here.
// Under callgrind, a Send's inserts cost about 30% fewer instructions
// (docs/BENCHMARKS.md). Cost: each prefix takes a ~224-byte hint from its
// memtable's budget (so a memtable of many one-off keys flushes sooner) and a
// small map entry outside it. Message ids get no hint: they are random, so a
// hint would only narrow the search to the sender's range, and one per sender
// device would cost more than the entry. RocksDB 7.8 mixes these hints up
// with range deletions (facebook/rocksdb#5118): no DeleteRange on these tables.

// The Device(handle, device) prefix of queue and queue meta keys.
class DevicePrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "sotto.DevicePrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    // RocksDB calls Transform only on keys InDomain accepts.
    return rocksdb::Slice(key.data(), keys::DevicePrefixSize(ToView(key)).value_or(key.size()));
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return keys::DevicePrefixSize(ToView(key)).has_value();
  }

 private:
  static absl::string_view ToView(const rocksdb::Slice& s) {
    return absl::string_view(s.data(), s.size());
  }
};

// The whole key: one hint per conversation.
class WholeKey final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "sotto.WholeKey"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override { return key; }
  bool InDomain(const rocksdb::Slice&) const override { return true; }
};

// Reads, checks and (read-write) writes the schema version record
// (schema_version.h) in the default column family `meta`, before anything
// reads: a database of another layout is not to be misread. On a refusal
// the caller closes the database again.
absl::Status CheckSchemaVersion(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta,
                                const std::string& path, bool read_only) {
  std::string stored;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, kSchemaVersionKey, &stored);
  uint64_t version = 1;  // absent: written before versioning, layout 1
  if (s.ok()) {
    if (!absl::SimpleAtoi(stored, &version) || version == 0) {
      return absl::DataLossError(absl::StrCat("the database in ", path,
                                              " has a malformed schema version \"", stored, "\""));
    }
  } else if (!s.IsNotFound()) {
    return FromRocks(s, absl::StrCat("read schema version in ", path));
  }
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the database in ", path, " has schema version ", version,
                     ", newer than this sotto-server ", "knows (", kSchemaVersion,
                     "): it was written by a newer sotto-server; run that one, or ",
                     "restore a backup taken before the upgrade"));
  }
  // No migrations yet: version 1 is the first. A later version adds its
  // step here, from `version` up, before the record is rewritten.
  if (version < kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the database in ", path, " has schema version ", version,
                     " and this sotto-server cannot migrate it to ", kSchemaVersion));
  }
  if (read_only || s.ok()) return absl::OkStatus();
  rocksdb::WriteOptions synced;
  synced.sync = true;
  return FromRocks(db->Put(synced, meta, kSchemaVersionKey, absl::StrCat(kSchemaVersion)),
                   absl::StrCat("write schema version in ", path));
}

// The database-wide options (column families get theirs in OpenRocksDbStore).
rocksdb::Options DbOptions() {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  // The server writes only unsynced; its log syncer's SyncWAL makes them
  // durable, many at once (log_syncer.h, group_commit_store.h). A kSynced
  // write (tools, tests) syncs in RocksDB's write group.
  db_options.enable_pipelined_write = true;
  db_options.IncreaseParallelism(2);
  // Required by in-place updates (queue meta, below). Concurrent memtable
  // inserts bought nothing measurable on two cores (docs/BENCHMARKS.md).
  db_options.allow_concurrent_memtable_write = false;
  // Opening replays the write-ahead logs into memtables and keeps them,
  // instead of writing them out as new table files first: a server
  // restarted on a full disk would otherwise need room for a copy of
  // everything its logs hold before it could serve a single Fetch
  // (tests/reliability/disk_full_test.cc). The logs stay until the
  // memtables flush as usual.
  db_options.avoid_flush_during_recovery = true;
  // Each open starts a new MANIFEST, preallocated to 4 MiB by default: on a
  // full disk that alone can take the ballast's room (disk_space.h) and
  // fail the open. The MANIFEST grows by a few hundred bytes per flush.
  db_options.manifest_preallocation_size = 64 << 10;
  db_options.info_log = std::make_shared<StderrLogger>();
  return db_options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStore(const std::string& path,
                                                        const RocksDbStoreOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data directory ", path, ": ", ec.message()));
  }

  rocksdb::Options db_options = DbOptions();

  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  // Most point reads on the Send path look for something absent (a message
  // id never used, a queue with no meta yet): Bloom filters answer those
  // without reading data blocks, in files and in the memtable.
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.memtable_prefix_bloom_size_ratio = 0.02;
  cf_options.memtable_whole_key_filtering = true;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));

  // Queue meta and the conversation index hold a record per queue / pair
  // that every Send rewrites: their memtables fill with old versions of a
  // few keys, and a read walks an ever larger skip list (with 1M Sends
  // queued, most of a Send's time). Small memtables flush those versions
  // away often, into tiny files the block cache keeps.
  rocksdb::ColumnFamilyOptions rewritten_options = cf_options;
  rewritten_options.write_buffer_size = 4 << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  const auto device_prefix = std::make_shared<DevicePrefix>();
  for (Table t : kAllTables) {
    const bool rewritten = t == Table::kQueueMeta || t == Table::kConversations;
    rocksdb::ColumnFamilyOptions options = rewritten ? rewritten_options : cf_options;
    // Queue meta is rewritten by every Send and Ack to the queue: RocksDB
    // overwrites the record in the memtable where it fits, instead of adding
    // a version, so the skip list keeps about one entry per queue and a
    // Send's read and write of it stay short. The price: an iterator over
    // this table can read a value while it is being overwritten (a Get
    // cannot: it takes the record's lock). Two scans read it: account
    // deletion uses only the keys, the sweeper checks what looks empty with
    // a Get (mailbox.cc). Not for the conversation index, whose scan is the
    // therapist's queue.
    if (t == Table::kQueueMeta) options.inplace_update_support = true;
    if (t == Table::kQueues || t == Table::kQueueMeta) {
      options.memtable_insert_with_hint_prefix_extractor = device_prefix;
    } else if (t == Table::kConversations) {
      options.memtable_insert_with_hint_prefix_extractor = std::make_shared<WholeKey>();
    }
    families.emplace_back(std::string(TableName(t)), std::move(options));
  }
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    // Takes no lock: works beside a running server, seeing what it has
    // written (its write-ahead log is replayed into this view).
    s = rocksdb::DB::OpenForReadOnly(db_options, path, families, &handles, &raw);
  } else {
    s = rocksdb::DB::Open(db_options, path, families, &handles, &raw);
  }
  if (!s.ok()) return FromRocks(s, absl::StrCat("cannot open database in ", path));
  static_assert(kTableCount > 0);
  auto store = std::unique_ptr<Store>(
      new RocksDbStore(std::unique_ptr<rocksdb::DB>(raw), handles, options.read_only));
  absl::Status version = CheckSchemaVersion(raw, handles[kTableCount], path, options.read_only);
  return version.ok() ? std::move(store) : absl::StatusOr<std::unique_ptr<Store>>(version);
}

}  // namespace sotto::server

#ifndef SOTTO_SERVER_STORAGE_STORE_H_
#define SOTTO_SERVER_STORAGE_STORE_H_

// The server's storage contract. Domain code talks only to this interface so
// that a distributed backend can later serve the same domain code; the
// RocksDB implementation lives in rocksdb_store.h.
//
// Keys are opaque byte strings built by key_codec.h; values are opaque blobs
// encoded by the domain layer. Every implementation must be thread-safe.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::server {

// One table per concern (a RocksDB column family).
enum class Table {
  kAccounts,     // handle -> account record
  kDevices,      // handle|device -> device record (credentials, registration id)
  kPreKeys,      // handle|device|kind[|id] -> identity, signed and one-time prekeys
  kQueues,       // handle|device|seq -> envelope
  kQueueMeta,    // handle|device -> next seq and depth (Scan may see a value mid-update: Get it)
  kIdempotency,  // sender handle|device|message id -> first Send result
  // Appended for issue 3 (the therapy workflow). A RocksDB opened by an older
  // build gains these column families on open.
  kEnrolments,      // SHA-256(enrolment code) -> therapist handle, expiry
  kInvites,         // SHA-256(invite code) -> therapist handle, expiry
  kLinks,           // therapist|client -> care link
  kLinksByClient,   // client|therapist -> the same care link (mirror)
  kConversations,   // therapist|client -> queue index entry
  kPolicies,        // therapist -> response policy
  kScheduled,       // deliver_at|sender|device|message id -> held Send
  kScheduledIndex,  // sender|device|message id -> its kScheduled key
  // Appended for issue 4 (security).
  kAudit,  // seq (8 bytes big-endian) -> hash-chained audit entry (audit_log.h)
  // Appended for issue 20 (notifications).
  kNotifications,  // handle -> notification setting, the address sealed
  // Appended for issue 18 (the desk).
  kInviteLog,  // therapist|invite id -> when made, expiry, who used it
  // Appended for issue 17 (several nodes): what was per node before.
  kLinkSlots,         // slot id -> device-linking slot (link_slots.h)
  kLinkTokens,        // SHA-256(link token) -> its slot id
  kHistoryTransfers,  // transfer id -> archive state (history_transfers.h)
  kHistoryChunks,     // transfer id|end offset -> archive bytes
  kOpenByAccount,     // handle|kind -> the account's open slots or archives
  kLimits,            // limiter|key|... -> guess-limit counts shared by the nodes (PostgreSQL)
};
inline constexpr Table kAllTables[] = {
    Table::kAccounts,      Table::kDevices,        Table::kPreKeys,       Table::kQueues,
    Table::kQueueMeta,     Table::kIdempotency,    Table::kEnrolments,    Table::kInvites,
    Table::kLinks,         Table::kLinksByClient,  Table::kConversations, Table::kPolicies,
    Table::kScheduled,     Table::kScheduledIndex, Table::kAudit,         Table::kNotifications,
    Table::kInviteLog,     Table::kLinkSlots,      Table::kLinkTokens,    Table::kHistoryTransfers,
    Table::kHistoryChunks, Table::kOpenByAccount,  Table::kLimits};
// The column family name of `table` ("accounts", "devices", ...).
absl::string_view TableName(Table table);

// Whether Write returns before or after the write-ahead log is on disk.
enum class Durability {
  // May be lost in a machine crash (not in a process crash).
  kBuffered,
  // Synced to disk before Write returns: use for anything acknowledged to a
  // client as stored.
  kSynced,
};

// A set of puts and deletes applied all-or-nothing by Store::Write, with
// optional preconditions (Expect) that make it a conditional write.
class WriteBatch {
 public:
  struct Op {
    Table table;
    std::string key;
    std::optional<std::string> value;  // nullopt: delete
  };
  // A precondition: `key` of `table` holds `value` (nullopt: is absent).
  struct Expectation {
    Table table;
    std::string key;
    std::optional<std::string> value;
  };

  void Put(Table table, std::string key, std::string value) {
    ops_.push_back(Op{table, std::move(key), std::move(value)});
  }
  void Delete(Table table, std::string key) {
    ops_.push_back(Op{table, std::move(key), std::nullopt});
  }
  // Makes the batch conditional: Store::Write applies it only if, at the
  // moment it is applied, `key` of `table` holds `value` (nullopt: no value
  // is stored under it), and otherwise writes nothing and returns ABORTED.
  // This is how a read-modify-write stays correct when several server
  // processes share one database: Expect what was read, write, and on
  // ABORTED read again and retry (conditional_write.h). The check is atomic
  // with respect to every other conditional write that Expects the same
  // key, not with respect to unconditional writes of it: a key guarded by
  // an Expect anywhere must be written with an Expect everywhere (or by one
  // writer only). A batch should also Put or Delete every key it Expects:
  // a cache (CachingStore) drops what a batch writes, so the retry reads
  // afresh.
  void Expect(Table table, std::string key, std::optional<std::string> value) {
    expectations_.push_back(Expectation{table, std::move(key), std::move(value)});
  }
  // Asks for an audit entry (an event encoded by server/domain/audit_log.h)
  // to be appended in the same atomic write. Only a Store that keeps the
  // audit chain (AuditLog) accepts a batch with these; a plain store refuses
  // it with INTERNAL rather than drop the record.
  void AddAuditEvent(std::string encoded_event) {
    audit_events_.push_back(std::move(encoded_event));
  }
  // Marks a batch that makes room rather than taking it (an Ack's deletes):
  // it is written even while the disk is short of space (SpaceGuardStore),
  // so that queues drain. Its tombstones are small; the reserve pays for
  // them.
  void MarkFreesSpace() { frees_space_ = true; }
  bool frees_space() const { return frees_space_; }
  bool empty() const { return ops_.empty() && audit_events_.empty(); }
  const std::vector<Op>& ops() const { return ops_; }
  const std::vector<Expectation>& expectations() const { return expectations_; }
  const std::vector<std::string>& audit_events() const { return audit_events_; }

 private:
  std::vector<Op> ops_;
  std::vector<Expectation> expectations_;
  std::vector<std::string> audit_events_;
  bool frees_space_ = false;
};

// The ABORTED a Store returns when an expectation of a conditional write
// fails: names the table and the key (escaped, cut at 64 bytes) and whether
// a value (another one) was found.
absl::Status ExpectationFailed(Table table, absl::string_view key, bool found);

// How the store's writes became durable, for the operator's stats (a store
// without group commit reports zeros).
struct DurabilityStats {
  uint64_t syncs = 0;              // log syncs performed
  uint64_t synced_calls = 0;       // WhenDurable hand-overs (and synced writes) they answered
  uint64_t sync_total_micros = 0;  // all syncs together
  uint64_t sync_max_micros = 0;    // the slowest
  uint64_t syncs_over_10ms = 0;
  uint64_t syncs_over_100ms = 0;
};

struct KeyValue {
  std::string key;
  std::string value;
};

// Reads for Store::Read, answered together: on PostgreSQL in one round trip
// instead of one per read. A Get or a Scan from the start of a prefix;
// each call returns its read's index among the results of its kind
// (ReadResult::values, ReadResult::scans).
class ReadBatch {
 public:
  struct GetOp {
    Table table;
    std::string key;
  };
  struct ScanOp {
    Table table;
    std::string prefix;
    size_t limit;
  };

  // The value under `key` of `table`: ReadResult::values[returned index].
  size_t Get(Table table, std::string key) {
    gets_.push_back(GetOp{table, std::move(key)});
    return gets_.size() - 1;
  }
  // Up to `limit` entries of `table` whose key starts with `prefix`, in
  // ascending key order (Store::Scan from the prefix's first key):
  // ReadResult::scans[returned index].
  size_t Scan(Table table, std::string prefix, size_t limit) {
    scans_.push_back(ScanOp{table, std::move(prefix), limit});
    return scans_.size() - 1;
  }
  bool empty() const { return gets_.empty() && scans_.empty(); }
  const std::vector<GetOp>& gets() const { return gets_; }
  const std::vector<ScanOp>& scans() const { return scans_; }

 private:
  std::vector<GetOp> gets_;
  std::vector<ScanOp> scans_;
};

// What Store::Read found, in the order the batch asked.
struct ReadResult {
  std::vector<std::optional<std::string>> values;  // per Get: nullopt if none
  std::vector<std::vector<KeyValue>> scans;        // per Scan
};

class Store {
 public:
  virtual ~Store() = default;

  // The value stored under `key`, nullopt if there is none. Errors: storage
  // failures only (UNAVAILABLE, DATA_LOSS, INTERNAL).
  virtual absl::StatusOr<std::optional<std::string>> Get(Table table, absl::string_view key) = 0;

  // Every read of `batch` (ReadBatch), each answered as Get or Scan would
  // answer it during this call; an empty batch reads nothing. Not promised
  // to be one snapshot: a write made meanwhile may be seen by some reads
  // and not others (a caller that writes on what it read Expects it,
  // WriteBatch::Expect). Errors: those of Get and Scan, for the first read
  // that failed; then no result. This default reads one by one (RocksDB,
  // whose reads are memory or local disk); PostgreSQL makes it one
  // statement.
  virtual absl::StatusOr<ReadResult> Read(const ReadBatch& batch) {
    ReadResult result;
    result.values.reserve(batch.gets().size());
    for (const ReadBatch::GetOp& g : batch.gets()) {
      absl::StatusOr<std::optional<std::string>> value = Get(g.table, g.key);
      if (!value.ok()) return value.status();
      result.values.push_back(*std::move(value));
    }
    result.scans.reserve(batch.scans().size());
    for (const ReadBatch::ScanOp& s : batch.scans()) {
      absl::StatusOr<std::vector<KeyValue>> rows = Scan(s.table, s.prefix, "", s.limit);
      if (!rows.ok()) return rows.status();
      result.scans.push_back(*std::move(rows));
    }
    return result;
  }

  // Applies every operation of `batch` atomically: after a crash either all
  // or none are visible. With kSynced the log is on disk when OK returns.
  // Readers may see the write before that (and after a failed sync): only
  // the caller's OK means durable. A batch with expectations
  // (WriteBatch::Expect) is written only if all of them hold; otherwise
  // nothing is written and the error is ABORTED (naming the table and key
  // that differed where the store knows it). ABORTED also reports a write
  // that met a concurrent one in the database (a serialization failure, a
  // deadlock): in both cases re-read and retry.
  virtual absl::Status Write(const WriteBatch& batch, Durability durability) = 0;

  // Up to `limit` entries whose key starts with `prefix`, in ascending key
  // order, starting after `start_after` (empty: from the first key under
  // the prefix). A consistent snapshot of the table.
  virtual absl::StatusOr<std::vector<KeyValue>> Scan(Table table, absl::string_view prefix,
                                                     absl::string_view start_after,
                                                     size_t limit) = 0;

  // Atomically removes and returns the first entry under `prefix`, nullopt if
  // there is none. Concurrent callers never receive the same entry: each
  // entry goes to exactly one caller (one-time prekey hand-out).
  virtual absl::StatusOr<std::optional<KeyValue>> PopFirst(Table table, absl::string_view prefix,
                                                           Durability durability) = 0;

  // Puts on disk every write that returned before this call, kBuffered ones
  // included: after OK they survive a machine crash as if written kSynced.
  // Group commit: many kBuffered writes, one SyncLog, then acknowledge them
  // all (LogSyncer). Writes made while it runs may or may not be covered.
  virtual absl::Status SyncLog() = 0;

  // Calls `done` once every write that returned before this call is on disk
  // (OK), or with the error that kept it off: the asynchronous SyncLog, for
  // a caller that wrote kBuffered and answers its client only once the write
  // is durable. `done` may run on another thread (group commit's syncer) or
  // before WhenDurable returns; it must be quick and must not call
  // WhenDurable. This default syncs on the calling thread.
  virtual void WhenDurable(std::function<void(absl::Status)> done) { done(SyncLog()); }

  // True while too many WhenDurable hand-overs wait (the disk stalls):
  // callers refuse new work instead of piling it up. This default: never.
  virtual bool Backlogged() const { return false; }

  // How syncs went so far (zeros for a store without group commit).
  virtual DurabilityStats durability_stats() const { return {}; }

  // Bytes written but held only in memory and the log (RocksDB's
  // memtables): the next flush writes them to disk again as table files, so
  // the disk must keep this much room beyond its reserve (DiskSpace). This
  // default: none.
  virtual uint64_t UnflushedBytes() const { return 0; }

  // Writes a copy of the whole database into `dir`, which must not exist
  // (its parent must): a point-in-time copy that holds every write that
  // returned before this call (later ones may or may not be in it), which
  // OpenRocksDbStore opens as it is. Writers are not held up. Where `dir` is
  // on the database's filesystem the immutable table files are hard-linked,
  // elsewhere copied. Errors: FAILED_PRECONDITION (`dir` exists),
  // UNIMPLEMENTED (a store without a database under it), I/O errors naming
  // `dir`.
  virtual absl::Status Checkpoint(const std::string& dir) {
    return absl::UnimplementedError("this store cannot write a checkpoint to " + dir);
  }
};

// The base of Store decorators (audit chain, cache, group commit, test
// gates): passes every call to `inner`, which it does not own; a decorator
// overrides only what it changes.
class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store* inner) : inner_(inner) {}

  absl::StatusOr<std::optional<std::string>> Get(Table table, absl::string_view key) override {
    return inner_->Get(table, key);
  }
  absl::StatusOr<ReadResult> Read(const ReadBatch& batch) override { return inner_->Read(batch); }
  absl::Status Write(const WriteBatch& batch, Durability durability) override {
    return inner_->Write(batch, durability);
  }
  absl::StatusOr<std::vector<KeyValue>> Scan(Table table, absl::string_view prefix,
                                             absl::string_view start_after, size_t limit) override {
    return inner_->Scan(table, prefix, start_after, limit);
  }
  absl::StatusOr<std::optional<KeyValue>> PopFirst(Table table, absl::string_view prefix,
                                                   Durability durability) override {
    return inner_->PopFirst(table, prefix, durability);
  }
  absl::Status SyncLog() override { return inner_->SyncLog(); }
  void WhenDurable(std::function<void(absl::Status)> done) override {
    inner_->WhenDurable(std::move(done));
  }
  bool Backlogged() const override { return inner_->Backlogged(); }
  DurabilityStats durability_stats() const override { return inner_->durability_stats(); }
  uint64_t UnflushedBytes() const override { return inner_->UnflushedBytes(); }
  absl::Status Checkpoint(const std::string& dir) override { return inner_->Checkpoint(dir); }

 protected:
  Store* inner() const { return inner_; }

 private:
  Store* const inner_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_STORAGE_STORE_H_

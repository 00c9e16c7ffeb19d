#include "server/domain/history_transfers.h"

#include <openssl/rand.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/domain/conditional_write.h"
#include "server/domain/open_by_account.h"
#include "server/domain/record_codec.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

// One answer for "never existed", "expired", "fetched" and "another
// account's": the id is the only thing that names an archive.
constexpr char kNoTransfer[] =
    "no such history transfer, or it expired or was fetched already";
// Chunk rows read at once when deleting an archive (each up to 1 MiB).
constexpr size_t kDeleteBatch = 16;
constexpr size_t kTransferSweepBatch = 500;

absl::Status CheckId(absl::string_view id) {
  if (id.size() == kHistoryTransferIdBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "transfer_id must be ", kHistoryTransferIdBytes, " bytes, got ", id.size()));
}

// A chunk's key: the archive id, then the offset where the chunk ends.
std::string ChunkKey(absl::string_view id, uint64_t end) {
  std::string key(id);
  keys::AppendBigEndian64(key, end);
  return key;
}

}  // namespace

HistoryTransfers::HistoryTransfers(Store* store, Clock* clock, HistoryTransferLimits limits)
    : store_(store), clock_(clock), limits_(limits) {}

std::string HistoryTransfers::Encode(const Transfer& t) {
  return RecordWriter()
      .Bytes(t.handle)
      .U32(t.created_by)
      .I64(t.expires_at_ms)
      .U32(t.sealed ? 1 : 0)
      .U64(t.size)
      .Finish();
}

absl::StatusOr<HistoryTransfers::Transfer> HistoryTransfers::Decode(absl::string_view raw) {
  RecordReader r(raw);
  Transfer t;
  t.handle = r.Bytes();
  t.created_by = r.U32();
  t.expires_at_ms = r.I64();
  t.sealed = r.U32() != 0;
  t.size = r.U64();
  if (!r.ok()) return absl::DataLossError("undecodable history transfer record");
  return t;
}

absl::StatusOr<std::optional<HistoryTransfers::Found>> HistoryTransfers::Find(
    const AuthenticatedDevice* caller, absl::string_view id) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> raw,
                         store_->Get(Table::kHistoryTransfers, id));
  if (!raw) return std::nullopt;
  SOTTO_ASSIGN_OR_RETURN(Transfer t, Decode(*raw));
  if (t.expires_at_ms <= clock_->NowMillis()) return std::nullopt;
  if (caller != nullptr && t.handle != caller->handle) return std::nullopt;
  return Found{*std::move(raw), std::move(t)};
}

absl::Status HistoryTransfers::Erase(absl::string_view id, const std::string& raw) {
  // The row first, expecting it as read: once it is gone nobody reads the
  // chunks, and of two erasers only one goes on to delete them.
  WriteBatch batch;
  batch.Expect(Table::kHistoryTransfers, std::string(id), raw);
  batch.Delete(Table::kHistoryTransfers, std::string(id));
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kBuffered));
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_->Scan(Table::kHistoryChunks, id, "", kDeleteBatch));
    if (rows.empty()) return absl::OkStatus();
    WriteBatch chunks;
    chunks.MarkFreesSpace();
    for (const KeyValue& row : rows) chunks.Delete(Table::kHistoryChunks, row.key);
    SOTTO_RETURN_IF_ERROR(store_->Write(chunks, Durability::kBuffered));
  }
}

absl::StatusOr<HistoryTransfers::Created> HistoryTransfers::Create(
    const AuthenticatedDevice& owner) {
  std::string id(kHistoryTransferIdBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), static_cast<int>(id.size())) != 1) {
    return absl::UnavailableError("random number generator failed");
  }
  Transfer t{owner.handle, owner.device_id, 0, false, 0};
  absl::MutexLock lock(&mu_);
  SOTTO_RETURN_IF_ERROR(RetryAborted("making a history transfer", [&]() -> absl::Status {
    const int64_t now = clock_->NowMillis();
    SOTTO_ASSIGN_OR_RETURN(OpenSet open, ReadOpenSet(store_, OpenKind::kHistoryTransfer,
                                                     owner.handle, Table::kHistoryTransfers, now));
    if (open.entries.size() >= limits_.max_per_account) {
      return absl::ResourceExhaustedError(
          absl::StrCat("account ", owner.handle, " already has ", open.entries.size(),
                       " history transfers waiting (at most ", limits_.max_per_account,
                       "); finish or delete one first"));
    }
    t.expires_at_ms = now + limits_.ttl_ms;
    WriteBatch batch;
    WriteOpenSet(open, OpenEntry{id, owner.device_id, t.expires_at_ms}, batch);
    batch.Put(Table::kHistoryTransfers, id, Encode(t));
    return store_->Write(batch, Durability::kSynced);
  }));
  return Created{id, t.expires_at_ms};
}

absl::StatusOr<uint64_t> HistoryTransfers::Append(const AuthenticatedDevice& caller,
                                                  absl::string_view id, uint64_t offset,
                                                  absl::string_view data) {
  if (absl::Status s = CheckId(id); !s.ok()) return s;
  if (data.empty() || data.size() > kMaxHistoryChunkBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a history chunk must be 1..",
                                                   kMaxHistoryChunkBytes, " bytes, got ",
                                                   data.size()));
  }
  absl::MutexLock lock(&mu_);
  return RetryAborted("storing a history chunk", [&]() -> absl::StatusOr<uint64_t> {
    SOTTO_ASSIGN_OR_RETURN(std::optional<Found> found, Find(&caller, id));
    if (!found) return absl::NotFoundError(kNoTransfer);
    Transfer& t = found->t;
    if (t.sealed) {
      return absl::FailedPreconditionError("the history transfer is sealed; nothing can be added");
    }
    if (offset != t.size) {
      if (offset + data.size() == t.size) return t.size;  // a retry of the last chunk
      return absl::FailedPreconditionError(absl::StrCat(
          "chunk at offset ", offset, " but the archive on the server ends at ", t.size));
    }
    if (t.size + data.size() > limits_.max_transfer_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat("a history archive may have at most ",
                                                       limits_.max_transfer_bytes, " bytes"));
    }
    t.size += data.size();
    WriteBatch batch;
    batch.Expect(Table::kHistoryTransfers, std::string(id), found->raw);
    batch.Put(Table::kHistoryTransfers, std::string(id), Encode(t));
    batch.Put(Table::kHistoryChunks, ChunkKey(id, t.size), std::string(data));
    SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kBuffered));
    return t.size;
  });
}

absl::Status HistoryTransfers::Seal(const AuthenticatedDevice& caller, absl::string_view id,
                                    uint64_t total_bytes) {
  if (absl::Status s = CheckId(id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return RetryAborted("sealing a history transfer", [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(std::optional<Found> found, Find(&caller, id));
    if (!found) return absl::NotFoundError(kNoTransfer);
    Transfer& t = found->t;
    if (t.size == 0) return absl::FailedPreconditionError("nothing was uploaded to seal");
    if (total_bytes != t.size) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the archive has ", t.size, " bytes on the server, not ", total_bytes));
    }
    if (t.sealed) return absl::OkStatus();
    t.sealed = true;
    WriteBatch batch;
    batch.Expect(Table::kHistoryTransfers, std::string(id), found->raw);
    batch.Put(Table::kHistoryTransfers, std::string(id), Encode(t));
    // Synced: the chunks, written kBuffered before, are durable with it.
    return store_->Write(batch, Durability::kSynced);
  });
}

absl::StatusOr<HistoryTransfers::Chunk> HistoryTransfers::Read(const AuthenticatedDevice& caller,
                                                               absl::string_view id,
                                                               uint64_t offset) {
  if (absl::Status s = CheckId(id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return RetryAborted("fetching a history chunk", [&]() -> absl::StatusOr<Chunk> {
    SOTTO_ASSIGN_OR_RETURN(std::optional<Found> found, Find(&caller, id));
    if (!found) return absl::NotFoundError(kNoTransfer);
    const Transfer& t = found->t;
    if (!t.sealed) {
      return absl::FailedPreconditionError(
          "the history archive is still being uploaded by the other device; ask again shortly");
    }
    if (offset >= t.size) {
      return absl::InvalidArgumentError(
          absl::StrCat("offset ", offset, " is past the archive's end (", t.size, " bytes)"));
    }
    // The first chunk ending after `offset` holds it.
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_->Scan(Table::kHistoryChunks, id, ChunkKey(id, offset), 1));
    const std::optional<uint64_t> end =
        rows.empty() ? std::nullopt : keys::ReadBigEndian64(rows[0].key.substr(id.size()));
    if (!end || *end > t.size || *end - rows[0].value.size() > offset) {
      return absl::DataLossError(absl::StrCat("history transfer chunk at offset ", offset,
                                              " is missing from the store"));
    }
    Chunk chunk;
    chunk.total_bytes = t.size;
    chunk.data = rows[0].value.substr(offset - (*end - rows[0].value.size()));
    chunk.last = *end == t.size;
    // Fetched whole: nothing of it stays on the server.
    if (chunk.last) SOTTO_RETURN_IF_ERROR(Erase(id, found->raw));
    return chunk;
  });
}

absl::Status HistoryTransfers::Delete(const AuthenticatedDevice& caller, absl::string_view id) {
  if (absl::Status s = CheckId(id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return RetryAborted("deleting a history transfer", [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(std::optional<Found> found, Find(&caller, id));
    if (!found) return absl::OkStatus();
    return Erase(id, found->raw);
  });
}

void HistoryTransfers::DropAccount(absl::string_view handle) {
  DropCreatedBy(handle, 0);
}

void HistoryTransfers::DropCreatedBy(absl::string_view handle, uint32_t device_id) {
  absl::StatusOr<OpenSet> open = ReadOpenSet(store_, OpenKind::kHistoryTransfer, handle,
                                             Table::kHistoryTransfers, clock_->NowMillis());
  if (!open.ok()) return;
  const AuthenticatedDevice owner{std::string(handle), device_id, Role::kClient};
  for (const OpenEntry& e : open->entries) {
    // Device 0 (no device has it): the whole account.
    if (device_id == 0 || e.created_by == device_id) (void)Delete(owner, e.id);
  }
}

absl::StatusOr<size_t> HistoryTransfers::SweepExpired() {
  size_t swept = 0;
  std::string after;
  const int64_t now = clock_->NowMillis();
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_->Scan(Table::kHistoryTransfers, "", after, kTransferSweepBatch));
    for (const KeyValue& row : rows) {
      absl::StatusOr<Transfer> t = Decode(row.value);
      if (t.ok() && t->expires_at_ms > now) continue;
      absl::Status s = Erase(row.key, row.value);
      if (s.ok()) ++swept;
      else if (s.code() != absl::StatusCode::kAborted) return s;
    }
    if (rows.size() < kTransferSweepBatch) return swept;
    after = rows.back().key;
  }
}

}  // namespace sotto::server

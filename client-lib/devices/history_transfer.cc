#include "client-lib/devices/history_transfer.h"

#include <sodium.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client-lib/backup/backup_records.h"
#include "client-lib/backup/backup_stream.h"
#include "client-lib/content/codec.h"
#include "client-lib/history/history_book.h"
#include "client-lib/storage/big_endian.h"
#include "client-lib/storage/encrypted_rocks_store.h"
#include "sotto/status_macros.h"

namespace sotto::client::devices {
namespace {

using backup::Record;
using backup::StreamKey;
using storage::Space;

constexpr char kTransferFact[] = "history_transfer";
constexpr uint8_t kMessageKind = static_cast<uint8_t>(Space::kHistory);
// Messages added per batch: one deferred-sync span under the profile's
// lock, released between batches so that the Client stays usable.
constexpr size_t kImportBatch = 1000;
// Archived messages between progress reports while uploading.
constexpr uint64_t kProgressEvery = 1000;
// Attempts per chunk: the server accepts a chunk sent again after a lost
// answer, so UNAVAILABLE is simply tried again.
constexpr int kChunkAttempts = 3;
constexpr char kWhat[] = "the history archive from your other device";

void Wipe(std::string& s) {
  sodium_memzero(s.data(), s.size());
  s.clear();
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

bool Retryable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

// Receives what StreamWriter writes (through fopencookie) and uploads it in
// chunks of the server's size as they fill, so that the archive is never
// whole in memory or on disk.
struct Uploader {
  transport::Connection* connection = nullptr;
  std::string id;
  size_t chunk_bytes = 0;
  std::string pending;
  uint64_t sent = 0;
  absl::Status status;
  HistoryProgress progress;
  const HistoryProgressFn* report = nullptr;

  absl::Status SendFront(size_t n) {
    v1::PutHistoryChunkRequest request;
    request.set_transfer_id(id);
    request.set_offset(sent);
    request.set_data(pending.substr(0, n));
    absl::StatusOr<uint64_t> put = connection->PutHistoryChunk(request);
    for (int i = 1; i < kChunkAttempts && !put.ok() && Retryable(put.status()); ++i) {
      put = connection->PutHistoryChunk(request);
    }
    if (!put.ok()) return put.status();
    sent += n;
    pending.erase(0, n);
    progress.bytes = sent;
    if (*report) (*report)(progress);
    return absl::OkStatus();
  }
};

ssize_t UploadWrite(void* cookie, const char* buf, size_t size) {
  auto* up = static_cast<Uploader*>(cookie);
  if (!up->status.ok()) return -1;
  up->pending.append(buf, size);
  while (up->pending.size() >= up->chunk_bytes) {
    up->status = up->SendFront(up->chunk_bytes);
    if (!up->status.ok()) return -1;
  }
  return static_cast<ssize_t>(size);
}

// Writes the archive of `snapshot`'s history to `file`.
absl::Status WriteArchive(storage::StoreSnapshot& snapshot, const std::string& handle, FILE* file,
                          const StreamKey& key, Uploader& up) {
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<backup::StreamWriter> writer,
                         backup::StreamWriter::Start(file, key));
  std::string buffer;
  backup::AppendRecord(backup::kFactKind, backup::kHandleFact, handle, buffer);
  backup::AppendRecord(backup::kFactKind, kTransferFact, "1", buffer);
  uint64_t records = 2;
  auto flush = [&]() -> absl::Status {
    absl::Status s = writer->Write(buffer);
    Wipe(buffer);
    return s;
  };
  SOTTO_RETURN_IF_ERROR(snapshot.ForEachRow(
      Space::kHistory, [&](absl::string_view, absl::string_view value) -> absl::Status {
        backup::AppendRecord(kMessageKind, "", value, buffer);
        ++records;
        if (++up.progress.messages % kProgressEvery == 0 && *up.report) (*up.report)(up.progress);
        return buffer.size() >= backup::kChunkBytes ? flush() : absl::OkStatus();
      }));
  std::string count;
  storage::PutU64(&count, records);
  backup::AppendRecord(backup::kEndKind, "end", count, buffer);
  SOTTO_RETURN_IF_ERROR(flush());
  return writer->Finish();
}

// Snapshots the store under the lock, then archives and uploads without it.
absl::Status UploadSnapshot(ProfileSession& s, const StreamKey& key, Uploader& up)
    ABSL_LOCKS_EXCLUDED(s.mu) {
  std::unique_ptr<storage::StoreSnapshot> snapshot;
  {
    absl::MutexLock lock(&s.mu);
    SOTTO_RETURN_IF_ERROR(s.CheckNotLocked());
    SOTTO_ASSIGN_OR_RETURN(snapshot, storage::SnapshotStore(s.store()));
    s.BeginOutsideRead();
  }
  absl::Status written;
  {
    cookie_io_functions_t io{nullptr, UploadWrite, nullptr, nullptr};
    File file(fopencookie(&up, "w", io));
    written = file ? WriteArchive(*snapshot, s.profile().handle(), file.get(), key, up)
                   : absl::InternalError("cannot open the upload stream");
    if (file && std::fflush(file.get()) != 0 && written.ok()) {
      written = absl::InternalError("uploading the history archive failed");
    }
  }
  if (!up.status.ok()) written = up.status;  // the server's word, not stdio's
  if (written.ok() && !up.pending.empty()) written = up.SendFront(up.pending.size());
  absl::MutexLock lock(&s.mu);
  snapshot.reset();
  s.EndOutsideRead();
  return written;
}

}  // namespace

absl::StatusOr<HistoryTicket> SendHistory(ProfileSession& s, const HistoryProgressFn& progress) {
  SOTTO_ASSIGN_OR_RETURN(v1::CreateHistoryTransferResponse created,
                         s.connection().CreateHistoryTransfer());
  HistoryTicket ticket{created.transfer_id(), std::string(backup::kRawKeyBytes, '\0')};
  randombytes_buf(ticket.key.data(), ticket.key.size());
  Uploader up;
  up.connection = &s.connection();
  up.id = created.transfer_id();
  up.chunk_bytes = created.max_chunk_bytes() > 0 ? created.max_chunk_bytes() : (1u << 20);
  up.report = &progress;
  up.progress.stage = HistoryProgress::Stage::kUploading;
  absl::Status sent = UploadSnapshot(s, StreamKey::Raw(ticket.key), up);
  if (sent.ok()) sent = s.connection().SealHistoryTransfer(up.id, up.sent);
  if (!sent.ok()) {
    Wipe(ticket.key);
    s.connection().DeleteHistoryTransfer(up.id).IgnoreError();
    return absl::Status(sent.code(),
                        absl::StrCat("sending the history failed: ", sent.message()));
  }
  up.progress.total_bytes = up.sent;
  if (progress) progress(up.progress);
  return ticket;
}

namespace {

// Fetches the whole archive into `file`; the server deletes it with the
// last chunk.
absl::Status Download(transport::Connection& connection, const std::string& id, FILE* file,
                      const HistoryProgressFn& progress) {
  HistoryProgress p;
  p.stage = HistoryProgress::Stage::kDownloading;
  for (;;) {
    absl::StatusOr<v1::FetchHistoryChunkResponse> chunk = connection.FetchHistoryChunk(id, p.bytes);
    for (int i = 1; i < kChunkAttempts && !chunk.ok() && Retryable(chunk.status()); ++i) {
      chunk = connection.FetchHistoryChunk(id, p.bytes);
    }
    if (!chunk.ok()) {
      if (chunk.status().code() == absl::StatusCode::kNotFound) {
        return absl::NotFoundError(absl::StrCat(
            kWhat, " is not on the server: it was fetched already, expired (24 hours), or is "
                   "not of this account"));
      }
      return chunk.status();
    }
    if (chunk->data().empty()) return absl::DataLossError(absl::StrCat(kWhat, ": empty chunk"));
    if (std::fwrite(chunk->data().data(), 1, chunk->data().size(), file) != chunk->data().size()) {
      return absl::InternalError("writing the history archive to a temporary file failed");
    }
    p.bytes += chunk->data().size();
    p.total_bytes = chunk->total_bytes();
    if (progress) progress(p);
    if (chunk->last()) break;
  }
  if (std::fflush(file) != 0) return absl::InternalError("writing the history archive failed");
  return absl::OkStatus();
}

using MessageVisitor = std::function<absl::Status(StoredMessage&)>;

// One pass over the archive in `file` (from its start): checks every
// record, gives each message to `visit`, checks the end record. Returns
// the number of messages.
absl::StatusOr<uint64_t> ReadArchive(FILE* file, const StreamKey& key, const std::string& handle,
                                     const MessageVisitor& visit) {
  std::rewind(file);
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<backup::StreamReader> reader,
                         backup::StreamReader::Open(file, kWhat, key));
  std::string buffer, chunk;
  bool final = false, ended = false, is_transfer = false;
  uint64_t records = 0, messages = 0;
  while (!final) {
    SOTTO_RETURN_IF_ERROR(reader->Next(chunk, final));
    buffer += chunk;
    Wipe(chunk);
    for (;;) {
      SOTTO_ASSIGN_OR_RETURN(std::optional<Record> r, backup::TakeRecord(buffer));
      if (!r) break;
      if (ended) return absl::DataLossError(absl::StrCat(kWhat, " has records after its end"));
      if (r->kind == backup::kEndKind) {
        if (r->value.size() != 8 || storage::GetU64(r->value) != records) {
          return absl::DataLossError(absl::StrCat(kWhat, ": its record count does not match"));
        }
        ended = true;
        continue;
      }
      ++records;
      if (r->kind == backup::kFactKind) {
        if (r->key == backup::kHandleFact && r->value != handle) {
          return absl::FailedPreconditionError(
              absl::StrCat(kWhat, " is of the account ", r->value, ", not ", handle));
        }
        if (r->key == kTransferFact) is_transfer = true;
        continue;
      }
      if (r->kind != kMessageKind || !is_transfer) {
        return absl::DataLossError(absl::StrCat(kWhat, " holds records other than messages"));
      }
      StoredMessage m;
      const bool parsed = m.ParseFromString(r->value);
      Wipe(r->value);
      if (!parsed) {
        return absl::DataLossError(absl::StrCat(kWhat, ": message ", messages + 1, " is malformed"));
      }
      ++messages;
      SOTTO_RETURN_IF_ERROR(visit(m));
    }
  }
  if (!ended || !buffer.empty()) {
    Wipe(buffer);
    return absl::DataLossError(absl::StrCat(kWhat, " ends without its end record"));
  }
  return messages;
}

// Adds `batch` to the history in one deferred-sync span; returns how many
// were new (a message whose id is indexed here already is skipped).
absl::StatusOr<uint64_t> ImportBatch(ProfileSession& s, std::vector<StoredMessage>& batch)
    ABSL_LOCKS_EXCLUDED(s.mu) {
  absl::MutexLock lock(&s.mu);
  SOTTO_RETURN_IF_ERROR(s.CheckNotLocked());
  storage::LocalStore& store = s.store();
  uint64_t added = 0;
  store.BeginDeferredSync();
  absl::Status status;
  for (StoredMessage& m : batch) {
    if (m.message_id().size() == content::kMessageIdBytes) {
      absl::StatusOr<std::optional<std::string>> known =
          store.Get(Space::kMessageIndex, history::MessageIdKey(store, m.message_id()));
      if (!known.ok()) {
        status = known.status();
        break;
      }
      if (known->has_value()) {
        Wipe(**known);
        continue;
      }
    }
    absl::StatusOr<std::vector<storage::Write>> writes = history::HistoryWrites(store, m);
    if (writes.ok()) status = store.Apply(*writes);
    if (!writes.ok()) status = writes.status();
    if (!status.ok()) break;
    ++added;
  }
  absl::Status synced = store.EndDeferredSync();
  batch.clear();
  SOTTO_RETURN_IF_ERROR(status);
  SOTTO_RETURN_IF_ERROR(synced);
  return added;
}

}  // namespace

absl::StatusOr<uint64_t> ReceiveHistory(ProfileSession& s, const HistoryTicket& ticket,
                                        const HistoryProgressFn& progress) {
  if (ticket.key.size() != backup::kRawKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a history ticket's key must be ",
                                                   backup::kRawKeyBytes, " bytes, got ",
                                                   ticket.key.size()));
  }
  SOTTO_RETURN_IF_ERROR(s.Check());
  // Unnamed (O_TMPFILE where it can), owner-only, gone when closed; holds
  // only ciphertext.
  File file(std::tmpfile());
  if (!file) return absl::InternalError("cannot create a temporary file for the history archive");
  SOTTO_RETURN_IF_ERROR(Download(s.connection(), ticket.transfer_id, file.get(), progress));
  const StreamKey key = StreamKey::Raw(ticket.key);
  const std::string handle = s.profile().handle();
  HistoryProgress p;
  p.stage = HistoryProgress::Stage::kImporting;
  p.bytes = p.total_bytes = static_cast<uint64_t>(std::ftell(file.get()));
  // Pass one: all of it checked before anything is added.
  SOTTO_RETURN_IF_ERROR(
      ReadArchive(file.get(), key, handle, [](StoredMessage&) { return absl::OkStatus(); })
          .status());
  // Pass two: added in batches. The file was checked; a failure now is
  // the local store's, and what was added stays (a second import skips it).
  std::vector<StoredMessage> batch;
  uint64_t added = 0;
  auto flush = [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(uint64_t n, ImportBatch(s, batch));
    added += n;
    p.messages = added;
    if (progress) progress(p);
    return absl::OkStatus();
  };
  SOTTO_RETURN_IF_ERROR(ReadArchive(file.get(), key, handle, [&](StoredMessage& m) {
                          batch.push_back(std::move(m));
                          return batch.size() >= kImportBatch ? flush() : absl::OkStatus();
                        }).status());
  SOTTO_RETURN_IF_ERROR(flush());
  return added;
}

}  // namespace sotto::client::devices

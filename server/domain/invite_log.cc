#include "server/domain/invite_log.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "server/domain/limits.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

constexpr size_t kInviteIdBytes = 8;

std::string RowKey(absl::string_view therapist, absl::string_view code_key) {
  return keys::Pair(therapist, code_key.substr(0, kInviteIdBytes));
}

}  // namespace

std::string InviteIdOf(absl::string_view code_key) {
  return absl::BytesToHexString(code_key.substr(0, kInviteIdBytes));
}

void LogInviteCreated(absl::string_view therapist, absl::string_view code_key, int64_t created_ms,
                      int64_t expires_at_ms, WriteBatch& batch) {
  records::InviteLog log;
  log.created_ms = created_ms;
  log.expires_at_ms = expires_at_ms;
  batch.Put(Table::kInviteLog, RowKey(therapist, code_key), records::Encode(log));
}

absl::Status LogInviteUsed(Store* store, absl::string_view therapist, absl::string_view code_key,
                           absl::string_view client, int64_t now_ms, WriteBatch& batch) {
  const std::string key = RowKey(therapist, code_key);
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value, store->Get(Table::kInviteLog, key));
  if (!value) return absl::OkStatus();
  SOTTO_ASSIGN_OR_RETURN(records::InviteLog log, records::DecodeInviteLog(*value));
  log.used_by = std::string(client);
  log.used_ms = now_ms;
  batch.Put(Table::kInviteLog, key, records::Encode(log));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<InviteLogEntry>> ListInviteLog(Store* store, absl::string_view therapist,
                                                          size_t max_results) {
  const std::string prefix = keys::UserPrefix(therapist);
  std::vector<InviteLogEntry> entries;
  std::string after;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store->Scan(Table::kInviteLog, prefix, after, kSweepBatch));
    for (const KeyValue& row : rows) {
      SOTTO_ASSIGN_OR_RETURN(records::InviteLog log, records::DecodeInviteLog(row.value));
      entries.push_back({InviteIdOf(absl::string_view(row.key).substr(prefix.size())), log});
    }
    if (rows.size() < kSweepBatch) break;
    after = rows.back().key;
  }
  std::sort(entries.begin(), entries.end(), [](const InviteLogEntry& a, const InviteLogEntry& b) {
    if (a.log.created_ms != b.log.created_ms) return a.log.created_ms > b.log.created_ms;
    return a.id < b.id;
  });
  if (entries.size() > max_results) entries.resize(max_results);
  return entries;
}

absl::StatusOr<size_t> SweepInviteLog(Store* store, int64_t now_ms) {
  size_t deleted = 0;
  std::string after;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store->Scan(Table::kInviteLog, "", after, kSweepBatch));
    WriteBatch batch;
    for (const KeyValue& row : rows) {
      SOTTO_ASSIGN_OR_RETURN(records::InviteLog log, records::DecodeInviteLog(row.value));
      const int64_t over = log.used_ms > 0 ? log.used_ms : log.expires_at_ms;
      if (now_ms - over <= kInviteLogKeepMs) continue;
      batch.Delete(Table::kInviteLog, row.key);
      ++deleted;
    }
    // Buffered: a delete lost in a machine crash is redone by the next sweep.
    if (!batch.empty()) SOTTO_RETURN_IF_ERROR(store->Write(batch, Durability::kBuffered));
    if (rows.size() < kSweepBatch) return deleted;
    after = rows.back().key;
  }
}

}  // namespace sotto::server

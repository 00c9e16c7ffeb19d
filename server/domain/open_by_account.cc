#include "server/domain/open_by_account.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/domain/record_codec.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

constexpr size_t kOpenSweepBatch = 500;

std::string Encode(const std::vector<OpenEntry>& entries) {
  RecordWriter w;
  w.U32(static_cast<uint32_t>(entries.size()));
  for (const OpenEntry& e : entries) w.Bytes(e.id).U32(e.created_by).I64(e.expires_at_ms);
  return w.Finish();
}

absl::StatusOr<std::vector<OpenEntry>> Decode(absl::string_view key, absl::string_view value) {
  RecordReader r(value);
  std::vector<OpenEntry> out(std::min<uint32_t>(r.U32(), 1000));
  for (OpenEntry& e : out) {
    e.id = r.Bytes();
    e.created_by = r.U32();
    e.expires_at_ms = r.I64();
  }
  if (!r.ok()) {
    return absl::DataLossError(
        absl::StrCat("undecodable open_by_account row of ", absl::CEscape(key.substr(0, 40))));
  }
  return out;
}

}  // namespace

absl::StatusOr<OpenSet> ReadOpenSet(Store* store, OpenKind kind, absl::string_view handle,
                                    Table records, int64_t now_ms) {
  OpenSet set;
  set.key = keys::UserPrefix(handle);
  set.key.push_back(static_cast<char>(kind));
  SOTTO_ASSIGN_OR_RETURN(set.read, store->Get(Table::kOpenByAccount, set.key));
  if (!set.read) return set;
  SOTTO_ASSIGN_OR_RETURN(std::vector<OpenEntry> entries, Decode(set.key, *set.read));
  for (OpenEntry& e : entries) {
    if (e.expires_at_ms <= now_ms) continue;
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> record, store->Get(records, e.id));
    if (record) set.entries.push_back(std::move(e));
  }
  return set;
}

void WriteOpenSet(const OpenSet& set, const OpenEntry& added, WriteBatch& batch) {
  std::vector<OpenEntry> entries = set.entries;
  entries.push_back(added);
  batch.Expect(Table::kOpenByAccount, set.key, set.read);
  batch.Put(Table::kOpenByAccount, set.key, Encode(entries));
}

absl::StatusOr<size_t> SweepOpenSets(Store* store, int64_t now_ms) {
  size_t swept = 0;
  std::string after;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store->Scan(Table::kOpenByAccount, "", after, kOpenSweepBatch));
    for (const KeyValue& row : rows) {
      if (row.key.empty() || (row.key.back() != static_cast<char>(OpenKind::kLinkSlot) &&
                              row.key.back() != static_cast<char>(OpenKind::kHistoryTransfer))) {
        continue;
      }
      absl::StatusOr<std::vector<OpenEntry>> entries = Decode(row.key, row.value);
      bool live = false;
      if (entries.ok()) {
        for (const OpenEntry& e : *entries) live = live || e.expires_at_ms > now_ms;
      }
      if (live) continue;
      WriteBatch batch;
      batch.Expect(Table::kOpenByAccount, row.key, row.value);
      batch.Delete(Table::kOpenByAccount, row.key);
      absl::Status s = store->Write(batch, Durability::kBuffered);
      // ABORTED: the account opened one meanwhile; the row stays.
      if (s.ok()) {
        ++swept;
      } else if (s.code() != absl::StatusCode::kAborted) {
        return s;
      }
    }
    if (rows.size() < kOpenSweepBatch) return swept;
    after = rows.back().key;
  }
}

}  // namespace sotto::server

#include "server/app/migrate.h"

#include <openssl/evp.h>

#include <filesystem>
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/app/key_files.h"
#include "server/domain/audit_log.h"
#include "server/storage/postgres_store.h"
#include "server/storage/rocksdb_store.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

// Rows read and written per page: big enough that round trips to the
// database do not dominate, small enough to hold envelopes in memory.
constexpr size_t kPage = 512;

// A running SHA-256 of a table's rows.
class TableDigest {
 public:
  TableDigest() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void Add(const KeyValue& row) {
    AddPart(row.key);
    AddPart(row.value);
    ++rows_;
  }
  uint64_t rows() const { return rows_; }
  std::string Hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), out, &len);
    return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(out), len));
  }

 private:
  void AddPart(absl::string_view part) {
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(part.size() >> (56 - 8 * i));
    EVP_DigestUpdate(ctx_.get(), len, sizeof len);
    EVP_DigestUpdate(ctx_.get(), part.data(), part.size());
  }
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
  uint64_t rows_ = 0;
};

// Calls `each` with every page of `table` in key order.
template <typename F>
absl::Status ForEachPage(Store& store, Table table, F each) {
  std::string after;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> page, store.Scan(table, "", after, kPage));
    if (page.empty()) return absl::OkStatus();
    after = page.back().key;
    const bool last = page.size() < kPage;
    SOTTO_RETURN_IF_ERROR(each(page));
    if (last) return absl::OkStatus();
  }
}

absl::StatusOr<MigratedTable> CopyTable(Store& from, Store& to, Table table) {
  TableDigest digest;
  SOTTO_RETURN_IF_ERROR(ForEachPage(from, table, [&](const std::vector<KeyValue>& page) {
    WriteBatch batch;
    for (const KeyValue& row : page) {
      batch.Put(table, row.key, row.value);
      digest.Add(row);
    }
    // Buffered: one synchronous commit at the end covers them all.
    return to.Write(batch, Durability::kBuffered);
  }));
  return MigratedTable{table, digest.rows(), digest.Hex()};
}

absl::Status CheckTarget(Store& to, const std::string& to_url) {
  for (Table table : kAllTables) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> any, to.Scan(table, "", "", 1));
    if (!any.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the target ", RedactPostgresUrl(to_url), " already holds data (table ", TableName(table),
          "); migrate only into an empty database: nothing was written"));
    }
  }
  return absl::OkStatus();
}

absl::Status VerifyAudit(Store& to, const std::string& audit_key_file, MigrationReport& report) {
  absl::StatusOr<SecretKey> key = LoadKeyFile(audit_key_file, /*create=*/false);
  if (!key.ok() && key.status().code() != absl::StatusCode::kNotFound) return key.status();
  AuditChainVerifier verifier(key.ok() ? &*key : nullptr);
  uint64_t after = 0;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> page, ReadAuditRaw(to, after, kPage));
    if (page.empty()) break;
    for (const KeyValue& row : page) SOTTO_RETURN_IF_ERROR(verifier.Add(row.key, row.value));
    after = verifier.head().seq;
  }
  SOTTO_RETURN_IF_ERROR(verifier.Finish());
  report.audit_entries = verifier.entries();
  report.audit_head = FormatAuditHead(verifier.head());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<MigrationReport> MigrateToPostgres(const std::string& from_dir,
                                                  const std::string& to_url,
                                                  const std::string& audit_key_file) {
  std::error_code ec;
  if (!std::filesystem::is_directory(from_dir, ec)) {
    return absl::NotFoundError(absl::StrCat("no database directory ", from_dir));
  }
  // The writable open takes RocksDB's lock: a running server refuses it,
  // and nothing can be sent meanwhile that the copy would miss.
  absl::StatusOr<std::unique_ptr<Store>> from = OpenRocksDbStore(from_dir);
  if (!from.ok()) {
    return absl::Status(
        from.status().code(),
        absl::StrCat(from.status().message(), " (stop the server before migrating its data)"));
  }
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<Store> to, OpenPostgresStore(to_url));
  SOTTO_RETURN_IF_ERROR(CheckTarget(*to, to_url));
  MigrationReport report;
  for (Table table : kAllTables) {
    SOTTO_ASSIGN_OR_RETURN(MigratedTable copied, CopyTable(**from, *to, table));
    report.rows += copied.rows;
    report.tables.push_back(std::move(copied));
  }
  SOTTO_RETURN_IF_ERROR(to->SyncLog());
  // Read back what the target now holds.
  for (const MigratedTable& copied : report.tables) {
    TableDigest digest;
    SOTTO_RETURN_IF_ERROR(ForEachPage(*to, copied.table, [&](const std::vector<KeyValue>& page) {
      for (const KeyValue& row : page) digest.Add(row);
      return absl::OkStatus();
    }));
    const std::string hex = digest.Hex();
    if (digest.rows() != copied.rows || hex != copied.sha256_hex) {
      return absl::DataLossError(absl::StrCat("table ", TableName(copied.table),
                                              " differs on the target: ", digest.rows(),
                                              " rows (sha256 ", hex, ") where the source has ",
                                              copied.rows, " (sha256 ", copied.sha256_hex, ")"));
    }
  }
  SOTTO_RETURN_IF_ERROR(VerifyAudit(*to, audit_key_file, report));
  return report;
}

}  // namespace sotto::server

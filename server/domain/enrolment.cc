#include "server/domain/enrolment.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/domain/audit_log.h"
#include "server/domain/codes.h"
#include "server/domain/limits.h"
#include "server/domain/records.h"
#include "sotto/status_macros.h"

namespace sotto::server {

Enrolment::Enrolment(Store* store, Accounts* accounts, Clock* clock, SecretKey code_pepper)
    : store_(store), accounts_(accounts), clock_(clock), pepper_(std::move(code_pepper)) {}

absl::StatusOr<IssuedCode> Enrolment::IssueTherapistCode(absl::string_view handle,
                                                         uint32_t valid_hours) {
  SOTTO_RETURN_IF_ERROR(Accounts::ValidateHandle(handle));
  if (valid_hours > kMaxCodeValidHours) {
    return absl::InvalidArgumentError(
        absl::StrCat("valid_hours ", valid_hours, " is above the maximum of ", kMaxCodeValidHours));
  }
  if (valid_hours == 0) valid_hours = kDefaultCodeValidHours;
  SOTTO_ASSIGN_OR_RETURN(std::optional<Role> role, accounts_->RoleOf(handle));
  if (role) {
    return absl::AlreadyExistsError(absl::StrCat("handle ", handle, " is already registered"));
  }
  SOTTO_ASSIGN_OR_RETURN(std::string code, GenerateCode());
  IssuedCode issued{code, clock_->NowMillis() + int64_t{valid_hours} * 3600 * 1000};
  WriteBatch batch;
  batch.Put(Table::kEnrolments, CodeKey(*NormalizeCode(code)),
            records::Encode(records::Code{std::string(handle), issued.expires_at_ms}));
  AddAudit(batch,
           {audit::kEnrolmentIssued, audit::kOperator, std::string(handle),
            absl::StrCat("valid_hours=", valid_hours)},
           CallContext{});
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kSynced));
  return issued;
}

absl::Status Enrolment::ConsumeInto(absl::string_view handle, absl::string_view code,
                                    int64_t now_ms, WriteBatch& batch, const CallContext& call) {
  std::optional<std::string> normalized = NormalizeCode(code);
  if (!normalized) return absl::PermissionDeniedError(kBadEnrolmentCode);
  std::string key = CodeKey(*normalized);
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value, store_->Get(Table::kEnrolments, key));
  if (!value) return absl::PermissionDeniedError(kBadEnrolmentCode);
  SOTTO_ASSIGN_OR_RETURN(records::Code record, records::DecodeCode(*value));
  if (record.handle != handle || now_ms >= record.expires_at_ms) {
    return absl::PermissionDeniedError(kBadEnrolmentCode);
  }
  // Used through another node meanwhile: ABORTED, and the retry finds it gone.
  batch.Expect(Table::kEnrolments, key, std::move(value));
  batch.Delete(Table::kEnrolments, std::move(key));
  AddAudit(batch, {audit::kEnrolmentUsed, absl::StrCat(handle, ".1"), std::string(handle), ""},
           call);
  return absl::OkStatus();
}

absl::StatusOr<size_t> SweepExpiredCodes(Store* store, Table table, int64_t now_ms) {
  size_t deleted = 0;
  std::string after;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows, store->Scan(table, "", after, kSweepBatch));
    WriteBatch batch;
    for (const KeyValue& row : rows) {
      SOTTO_ASSIGN_OR_RETURN(records::Code code, records::DecodeCode(row.value));
      if (now_ms < code.expires_at_ms) continue;
      batch.Delete(table, row.key);
      ++deleted;
    }
    // Buffered: a delete lost in a machine crash is redone by the next sweep.
    if (!batch.empty()) SOTTO_RETURN_IF_ERROR(store->Write(batch, Durability::kBuffered));
    if (rows.size() < kSweepBatch) return deleted;
    after = rows.back().key;
  }
}

absl::StatusOr<size_t> MigrateLegacyCodeKeys(Store* store, const SecretKey& pepper) {
  size_t moved = 0;
  for (Table table : {Table::kEnrolments, Table::kInvites}) {
    std::string after;
    while (true) {
      SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                             store->Scan(table, "", after, kSweepBatch));
      WriteBatch batch;
      for (const KeyValue& row : rows) {
        if (row.key.size() != kLegacyCodeKeyBytes) continue;
        std::string key = PepperLegacyCodeKey(pepper, row.key);
        if (key.empty()) return absl::InternalError("HMAC-SHA256 failed re-keying a code");
        batch.Delete(table, row.key);
        batch.Put(table, std::move(key), row.value);
        ++moved;
      }
      // Synced: a code re-keyed but lost in a crash would be re-keyed again
      // next start anyway, but the unpeppered row should not outlive this.
      if (!batch.empty()) SOTTO_RETURN_IF_ERROR(store->Write(batch, Durability::kSynced));
      if (rows.size() < kSweepBatch) break;
      after = rows.back().key;
    }
  }
  return moved;
}

absl::StatusOr<size_t> Enrolment::SweepExpired() {
  return SweepExpiredCodes(store_, Table::kEnrolments, clock_->NowMillis());
}

}  // namespace sotto::server

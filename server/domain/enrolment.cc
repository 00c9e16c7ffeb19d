#include "server/domain/enrolment.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "server/domain/codes.h"
#include "server/domain/limits.h"
#include "server/domain/records.h"
#include "sotto/status_macros.h"

namespace sotto::server {

Enrolment::Enrolment(Store* store, Accounts* accounts, Clock* clock)
    : store_(store), accounts_(accounts), clock_(clock) {}

absl::StatusOr<IssuedCode> Enrolment::IssueTherapistCode(absl::string_view handle,
                                                         uint32_t valid_hours) {
  SOTTO_RETURN_IF_ERROR(Accounts::ValidateHandle(handle));
  if (valid_hours > kMaxCodeValidHours) {
    return absl::InvalidArgumentError(absl::StrCat(
        "valid_hours ", valid_hours, " is above the maximum of ", kMaxCodeValidHours));
  }
  if (valid_hours == 0) valid_hours = kDefaultCodeValidHours;
  SOTTO_ASSIGN_OR_RETURN(std::optional<Role> role, accounts_->RoleOf(handle));
  if (role) {
    return absl::AlreadyExistsError(
        absl::StrCat("handle ", handle, " is already registered"));
  }
  SOTTO_ASSIGN_OR_RETURN(std::string code, GenerateCode());
  IssuedCode issued{code, clock_->NowMillis() + int64_t{valid_hours} * 3600 * 1000};
  WriteBatch batch;
  batch.Put(Table::kEnrolments, HashCode(*NormalizeCode(code)),
            records::Encode(records::Code{std::string(handle), issued.expires_at_ms}));
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kSynced));
  return issued;
}

absl::Status Enrolment::ConsumeInto(absl::string_view handle, absl::string_view code,
                                    int64_t now_ms, WriteBatch& batch) {
  std::optional<std::string> normalized = NormalizeCode(code);
  if (!normalized) return absl::PermissionDeniedError(kBadEnrolmentCode);
  std::string key = HashCode(*normalized);
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_->Get(Table::kEnrolments, key));
  if (!value) return absl::PermissionDeniedError(kBadEnrolmentCode);
  SOTTO_ASSIGN_OR_RETURN(records::Code record, records::DecodeCode(*value));
  if (record.handle != handle || now_ms >= record.expires_at_ms) {
    return absl::PermissionDeniedError(kBadEnrolmentCode);
  }
  batch.Delete(Table::kEnrolments, std::move(key));
  return absl::OkStatus();
}

}  // namespace sotto::server

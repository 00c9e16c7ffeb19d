#ifndef SOTTO_SERVER_DOMAIN_ENROLMENT_H_
#define SOTTO_SERVER_DOMAIN_ENROLMENT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/accounts.h"
#include "server/domain/call_context.h"
#include "server/domain/clock.h"
#include "server/domain/codes.h"
#include "server/domain/secret_key.h"
#include "server/storage/store.h"

namespace sotto::server {

// A one-time code as handed to a person, and when it stops working.
struct IssuedCode {
  std::string code;  // "K7QF-2M9X-TR4C"
  int64_t expires_at_ms = 0;
  std::string invite_id;  // invites only: the id in ListInvites (invite_log.h)
};

// The one message for a wrong, used or expired enrolment code: which of the
// three it was is not revealed.
inline constexpr char kBadEnrolmentCode[] = "enrolment code is not valid";

// Re-keys the code rows of kEnrolments and kInvites stored before the
// pepper (key = SHA-256(code)) under `pepper` (codes.h), each in one atomic
// write with its deletion, so every outstanding code keeps working and the
// database no longer holds an unpeppered hash. Rows already peppered are
// left alone, so a second run does nothing. Returns how many were re-keyed.
// Errors: those of the store.
absl::StatusOr<size_t> MigrateLegacyCodeKeys(Store* store, const SecretKey& pepper);

// Deletes the codes of `table` (kEnrolments or kInvites) that expired at
// `now_ms`; returns how many. Expired codes are never accepted, so a
// consumer racing with this only ever fails as it would have anyway.
absl::StatusOr<size_t> SweepExpiredCodes(Store* store, Table table, int64_t now_ms);

// The operator's enrolment of therapists: one-time codes bound to a handle,
// stored only as a peppered hash (codes.h) with the handle and expiry. It
// holds the pepper, which invites (Care) use too. Thread-safe. Does not own
// its pointer arguments, which must outlive it.
class Enrolment {
 public:
  Enrolment(Store* store, Accounts* accounts, Clock* clock, SecretKey code_pepper);
  Enrolment(const Enrolment&) = delete;
  Enrolment& operator=(const Enrolment&) = delete;

  // A new code with which `handle` can register as a therapist, valid for
  // `valid_hours` (0: kDefaultCodeValidHours). Earlier codes for the handle
  // stay valid. Errors: INVALID_ARGUMENT (handle, valid_hours above
  // kMaxCodeValidHours), ALREADY_EXISTS (the handle is registered).
  absl::StatusOr<IssuedCode> IssueTherapistCode(absl::string_view handle, uint32_t valid_hours);

  // Checks that `code` was issued for `handle`, is unused and unexpired at
  // `now_ms`, and adds its deletion to `batch` (so it is consumed exactly when
  // the batch commits). The caller serialises registrations of `handle`.
  // Errors: PERMISSION_DENIED kBadEnrolmentCode.
  // `call` (the registration's) is recorded in the audit trail.
  absl::Status ConsumeInto(absl::string_view handle, absl::string_view code, int64_t now_ms,
                           WriteBatch& batch, const CallContext& call);

  // Deletes every enrolment code expired at the clock's now (an expired code
  // can never be consumed, so nothing races with this); returns how many.
  absl::StatusOr<size_t> SweepExpired();

  // The stored key of a normalised enrolment or invite code (codes.h).
  std::string CodeKey(absl::string_view normalized_code) const {
    return PepperedCodeKey(pepper_, normalized_code);
  }

 private:
  Store* const store_;
  Accounts* const accounts_;
  Clock* const clock_;
  const SecretKey pepper_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_ENROLMENT_H_

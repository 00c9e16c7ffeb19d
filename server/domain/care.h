#ifndef SOTTO_SERVER_DOMAIN_CARE_H_
#define SOTTO_SERVER_DOMAIN_CARE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/accounts.h"
#include "server/domain/call_context.h"
#include "server/domain/clock.h"
#include "server/domain/enrolment.h"
#include "server/domain/invite_log.h"
#include "server/domain/limits.h"
#include "server/domain/rate_limiter.h"
#include "server/domain/records.h"
#include "server/domain/response_policy.h"
#include "server/domain/striped_mutex.h"
#include "server/domain/types.h"
#include "server/storage/store.h"

namespace sotto::server {

// The operator's default note that Sotto is not for emergencies.
inline constexpr char kDefaultEmergencyNote[] =
    "Sotto is not for emergencies. If you are in crisis or thinking about "
    "suicide, call or text 988 (Suicide & Crisis Lifeline, US) or your local "
    "emergency number.";

// The one message for a wrong, used or expired invite code.
inline constexpr char kBadInviteCode[] = "invite code is not valid";

// How many invites ListInvites returns by default, and at most.
inline constexpr uint32_t kDefaultListedInvites = 100;
inline constexpr uint32_t kMaxListedInvites = 1000;

// Same numbers as sotto.v1.LinkState.
enum class LinkState : uint32_t { kActive = 1, kEnded = 2 };

struct CareLink {
  std::string peer;  // the other party
  LinkState state = LinkState::kActive;
  int64_t since_ms = 0;
  int64_t ended_ms = 0;
  std::string ended_by;
};

struct RegisterResult {
  uint32_t device_id = 0;
  std::string linked_therapist;  // for a client: whose invite linked them
};

// Who a permitted message goes between.
struct Route {
  // True for every Send Care permits (self-sends are refused); false only
  // where no Care routes (a Mailbox built without one, in tests).
  bool between_care_parties = false;
  bool from_client = false;
  std::string therapist;
  std::string client;
  // The link row as CheckCanMessage read it, to decide: a Send that starts
  // a conversation expects it (ConversationQueue::AddMessageInto), so an
  // end through another node after this read makes that write ABORTED.
  std::optional<std::string> link_read;
};

struct PolicyView {
  ResponsePolicy policy;
  std::string emergency_note;
};

struct CareOptions {
  // Active care links one account may have; tests lower it.
  size_t max_links_per_user = kMaxLinksPerUser;
  // Invite creations per therapist (RateLimits::invites_per_therapist).
  // Null: unlimited (domain tests). Not owned.
  RateLimiter* invite_limiter = nullptr;
};

// Care links (who may write to whom), invites, therapist registration with an
// enrolment code and response policies. A care link joins one therapist and
// one client; a client may have several therapists (a care team), a
// therapist sees only their own clients. Thread-safe. Does not own its
// arguments, which must outlive it.
class Care {
 public:
  Care(Store* store, Accounts* accounts, Enrolment* enrolment, Clock* clock,
       std::string emergency_note = kDefaultEmergencyNote, CareOptions options = {});
  Care(const Care&) = delete;
  Care& operator=(const Care&) = delete;

  // Registers an account (Accounts::Register) under the care rules, in one
  // atomic write: a therapist consumes an enrolment code issued for the
  // handle; a client consumes an invite code and is linked to its therapist.
  // Errors: those of Accounts::Register; INVALID_ARGUMENT for a code of the
  // wrong kind for the role (names the field); PERMISSION_DENIED for a
  // missing, wrong, used or expired code (one message per kind of code,
  // whatever the reason; also an invite whose therapist is gone);
  // FAILED_PRECONDITION when the invite's therapist already has
  // max_links_per_user active links (the code is not consumed).
  absl::StatusOr<RegisterResult> Register(const Registration& registration,
                                          absl::string_view enrolment_code,
                                          absl::string_view invite_code,
                                          const CallContext& call = {});

  // Therapist only: a one-time invite code valid for `valid_hours` (0:
  // kDefaultCodeValidHours). Errors: PERMISSION_DENIED (a client caller),
  // INVALID_ARGUMENT (valid_hours above kMaxCodeValidHours),
  // RESOURCE_EXHAUSTED naming the cap when the caller already has
  // max_links_per_user active links, or when the caller created too many
  // invites lately (the invite limiter; says when to retry). A refused call
  // takes nothing from the limiter.
  absl::StatusOr<IssuedCode> CreateInvite(const AuthenticatedDevice& caller, uint32_t valid_hours,
                                          const CallContext& call = {});

  // An existing client redeems an invite: links them to its therapist (again,
  // if an earlier link ended) and consumes the code, atomically. Returns the
  // therapist. Errors: INVALID_ARGUMENT (empty code), PERMISSION_DENIED
  // (therapist caller; wrong, used or expired code, or its therapist is
  // gone), ALREADY_EXISTS (already actively linked), RESOURCE_EXHAUSTED (the
  // caller already has max_links_per_user active links),
  // FAILED_PRECONDITION (the therapist has); the code is consumed only on
  // success.
  absl::StatusOr<std::string> AcceptInvite(const AuthenticatedDevice& caller,
                                           absl::string_view code, const CallContext& call = {});

  // The caller's links (active and ended), by peer handle.
  absl::StatusOr<std::vector<CareLink>> ListLinks(const AuthenticatedDevice& caller);

  // Ends the active link between the caller and `peer`, recording who and
  // when, and drops the conversation's queue entry in the same write.
  // Errors: INVALID_ARGUMENT (malformed peer), NOT_FOUND (no active link).
  absl::Status EndLink(const AuthenticatedDevice& caller, absl::string_view peer,
                       const CallContext& call = {});

  // Therapist only: replaces the caller's policy. Errors: PERMISSION_DENIED
  // (client caller), INVALID_ARGUMENT from ValidatePolicy.
  absl::Status SetPolicy(const AuthenticatedDevice& caller, const ResponsePolicy& policy);

  // `therapist`'s policy (DefaultPolicy if never set) and the emergency note,
  // for the therapist themself or a client with an active link. Errors:
  // INVALID_ARGUMENT (malformed handle), PERMISSION_DENIED otherwise (also
  // for an unknown handle, so a client learns nothing about accounts).
  absl::StatusOr<PolicyView> GetPolicy(const AuthenticatedDevice& caller,
                                       absl::string_view therapist);

  // The stored policy of `therapist`, DefaultPolicy if none. No access check.
  absl::StatusOr<ResponsePolicy> PolicyOf(absl::string_view therapist);

  // Whether `sender` may send to `recipient` now: a client and a therapist
  // with an ACTIVE link. Errors: INVALID_ARGUMENT (malformed handle; the
  // recipient is the sender: Sotto has no self-sends); PERMISSION_DENIED
  // "no care link between A and B" for every recipient the sender has never
  // been linked with, whether the handle is free, a client or a therapist
  // (the one answer, reached by the same reads, so no caller can probe for
  // accounts or roles); FAILED_PRECONDITION naming who ended the link and
  // when (the two know each other).
  absl::StatusOr<Route> CheckCanMessage(const AuthenticatedDevice& sender,
                                        absl::string_view recipient);

  // CheckCanMessage in two halves, for a Send that reads the link together
  // with its other reads (one Store::Read; every read is a round trip on
  // PostgreSQL). AddMessageLinkRead adds the one read CheckCanMessage makes
  // to `batch` and returns its index in ReadResult::values, or the errors
  // CheckCanMessage finds before reading (INVALID_ARGUMENT). RouteFromLink
  // answers as CheckCanMessage from the link's stored bytes as read, and
  // sets `link` (if given) to the decoded link.
  static absl::StatusOr<size_t> AddMessageLinkRead(const AuthenticatedDevice& sender,
                                                   absl::string_view recipient, ReadBatch& batch);
  static absl::StatusOr<Route> RouteFromLink(const AuthenticatedDevice& sender,
                                             absl::string_view recipient,
                                             const std::optional<std::string>& stored,
                                             std::optional<records::Link>* link = nullptr);

  // PolicyOf in two halves, as above: the read's index in
  // ReadResult::values, and the policy from what it found.
  static size_t AddPolicyRead(absl::string_view therapist, ReadBatch& batch);
  static absl::StatusOr<ResponsePolicy> PolicyFrom(const std::optional<std::string>& stored);

  // Whether `caller` may fetch `handle`'s prekey bundles: an active care
  // link. Errors as for CheckCanMessage (also for the caller's own handle).
  absl::Status CheckCanFetchBundle(const AuthenticatedDevice& caller, absl::string_view handle);

  // The therapists with an active link to `client`, ascending.
  absl::StatusOr<std::vector<std::string>> CareTeam(absl::string_view client);

  // The link between the two, nullopt if there never was one.
  absl::StatusOr<std::optional<records::Link>> GetLink(absl::string_view therapist,
                                                       absl::string_view client);

  // Deletes every invite code expired at the clock's now, and the invite
  // log's rows used or expired over 30 days ago; returns how many.
  absl::StatusOr<size_t> SweepExpiredInvites();

  // Therapist only: the caller's own invites (invite_log.h), newest first,
  // at most `max_results` (0: kDefaultListedInvites). Errors:
  // PERMISSION_DENIED (a client caller), INVALID_ARGUMENT (max_results over
  // kMaxListedInvites).
  absl::StatusOr<std::vector<InviteLogEntry>> ListInvites(const AuthenticatedDevice& caller,
                                                          uint32_t max_results);

  const std::string& emergency_note() const { return emergency_note_; }

 private:
  // Adds the writes linking `therapist` and `client` from `now_ms`.
  static void LinkInto(absl::string_view therapist, absl::string_view client, int64_t now_ms,
                       WriteBatch& batch);
  // One attempt of AcceptInvite under the invite's lock: ABORTED when the
  // invite or the link changed (another node) since it was read.
  absl::StatusOr<std::string> AcceptInviteLocked(const AuthenticatedDevice& caller,
                                                 const std::string& invite_key,
                                                 const CallContext& call);
  // EndLink's write of `link` (as `read` from kLinks) between therapist `t`
  // and client `c`, expecting `read`: ABORTED if it changed since.
  absl::Status EndLinkWrite(const AuthenticatedDevice& caller, absl::string_view peer,
                            const std::string& t, const std::string& c, records::Link link,
                            std::optional<std::string> read, const CallContext& call);
  absl::StatusOr<std::vector<CareLink>> LinksOf(Table table, absl::string_view handle);
  // How many active links `handle` has in `table` (kLinks for a therapist,
  // kLinksByClient for a client); reads every row, ended ones too.
  absl::StatusOr<size_t> ActiveLinks(Table table, absl::string_view handle);
  // OK if both may take one more active link; the caller holds link_locks_
  // for both. RESOURCE_EXHAUSTED for the client's own cap,
  // FAILED_PRECONDITION for the therapist's. Adds to `batch` (the one that
  // makes the link) a conditional write of both accounts' link stamps
  // (kOpenByAccount, OpenKind::kCareLinkStamp): the count is a scan of a set,
  // so two nodes linking one account at once would each count the old set;
  // with the stamps, the second write is ABORTED and its retry recounts.
  // Ending a link leaves the stamps: it only makes room.
  absl::Status CheckLinkRoom(absl::string_view therapist, absl::string_view client,
                             WriteBatch& batch);

  Store* const store_;
  Accounts* const accounts_;
  Enrolment* const enrolment_;
  Clock* const clock_;
  const std::string emergency_note_;
  const CareOptions options_;
  // Serialises the check-then-write of an invite (by code hash) and of a
  // link (by pair key).
  StripedMutex locks_;
  // Serialises the count-then-link of the link cap (by handle), held until
  // the link is written. Taken last: after locks_ and (in Register)
  // Accounts' handle lock, never before either.
  StripedMutex link_locks_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_CARE_H_

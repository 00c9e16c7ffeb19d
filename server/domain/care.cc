#include "server/domain/care.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/domain/audit_log.h"
#include "server/domain/codes.h"
#include "server/domain/conditional_write.h"
#include "server/domain/limits.h"
#include "server/domain/open_by_account.h"
#include "server/storage/key_codec.h"
#include "sotto/metrics.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

std::string FormatMs(int64_t ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

absl::Status NoLink(absl::string_view a, absl::string_view b) {
  return absl::PermissionDeniedError(absl::StrCat("no care link between ", a, " and ", b));
}

absl::Status SelfSendError(absl::string_view handle) {
  return absl::InvalidArgumentError(absl::StrCat(
      "recipient ", handle, " is the caller: Sotto carries messages between a client and their ",
      "therapists, not to oneself (notes to self stay in your own history)"));
}

absl::Status ValidPeer(absl::string_view handle, absl::string_view field) {
  absl::Status s = Accounts::ValidateHandle(handle);
  if (s.ok()) return s;
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", s.message()));
}

}  // namespace

Care::Care(Store* store, Accounts* accounts, Enrolment* enrolment, Clock* clock,
           std::string emergency_note, CareOptions options)
    : store_(store),
      accounts_(accounts),
      enrolment_(enrolment),
      clock_(clock),
      emergency_note_(std::move(emergency_note)),
      options_(options) {}

absl::StatusOr<size_t> Care::ActiveLinks(Table table, absl::string_view handle) {
  constexpr size_t kBatch = 1000;
  size_t active = 0;
  std::string after;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_->Scan(table, keys::UserPrefix(handle), after, kBatch));
    for (const KeyValue& row : rows) {
      SOTTO_ASSIGN_OR_RETURN(records::Link l, records::DecodeLink(row.value));
      if (l.state == static_cast<uint32_t>(LinkState::kActive)) ++active;
    }
    if (rows.size() < kBatch) return active;
    after = rows.back().key;
  }
}

absl::Status Care::CheckLinkRoom(absl::string_view therapist, absl::string_view client,
                                 WriteBatch& batch) {
  const size_t cap = options_.max_links_per_user;
  // Read before counting: a link another node makes after this read moves
  // the stamp, so this batch's Expect fails and the retry counts it.
  for (absl::string_view handle : {therapist, client}) {
    std::string key = keys::UserPrefix(handle);
    key.push_back(static_cast<char>(OpenKind::kCareLinkStamp));
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> stamp,
                           store_->Get(Table::kOpenByAccount, key));
    const uint64_t next = (stamp ? keys::ReadBigEndian64(*stamp).value_or(0) : 0) + 1;
    std::string value;
    keys::AppendBigEndian64(value, next);
    batch.Expect(Table::kOpenByAccount, key, std::move(stamp));
    batch.Put(Table::kOpenByAccount, std::move(key), std::move(value));
  }
  SOTTO_ASSIGN_OR_RETURN(size_t client_links, ActiveLinks(Table::kLinksByClient, client));
  if (client_links >= cap) {
    metrics::CountRefusal("links_per_user");
    return absl::ResourceExhaustedError(
        absl::StrCat(client, " already has ", client_links, " active care links, the most one ",
                     "account may have (link cap ", cap, "); end one first"));
  }
  SOTTO_ASSIGN_OR_RETURN(size_t therapist_links, ActiveLinks(Table::kLinks, therapist));
  if (therapist_links >= cap) {
    return absl::FailedPreconditionError(
        absl::StrCat("therapist ", therapist, " already has ", therapist_links,
                     " active care links, the most one account may have (link cap ", cap,
                     "); the invite can be used once they end one"));
  }
  return absl::OkStatus();
}

void Care::LinkInto(absl::string_view therapist, absl::string_view client, int64_t now_ms,
                    WriteBatch& batch) {
  std::string value =
      records::Encode(records::Link{static_cast<uint32_t>(LinkState::kActive), now_ms, 0, ""});
  batch.Put(Table::kLinks, keys::Pair(therapist, client), value);
  batch.Put(Table::kLinksByClient, keys::Pair(client, therapist), std::move(value));
}

absl::StatusOr<RegisterResult> Care::Register(const Registration& reg,
                                              absl::string_view enrolment_code,
                                              absl::string_view invite_code,
                                              const CallContext& call) {
  RegisterResult result;
  if (reg.role == Role::kTherapist) {
    if (!invite_code.empty()) {
      return absl::InvalidArgumentError(
          "an invite code is for registering a client, not a therapist");
    }
    if (enrolment_code.empty()) {
      return absl::PermissionDeniedError(
          "a therapist registers with an enrolment code (ask the operator)");
    }
    SOTTO_ASSIGN_OR_RETURN(result.device_id, accounts_->Register(
                                                 reg,
                                                 [&](WriteBatch& batch) {
                                                   return enrolment_->ConsumeInto(
                                                       reg.handle, enrolment_code,
                                                       clock_->NowMillis(), batch, call);
                                                 },
                                                 call));
    return result;
  }
  if (reg.role != Role::kClient) {
    // Accounts::Register names the bad role.
    SOTTO_ASSIGN_OR_RETURN(result.device_id, accounts_->Register(reg, call));
    return result;
  }
  if (!enrolment_code.empty()) {
    return absl::InvalidArgumentError(
        "an enrolment code is for registering a therapist, not a client");
  }
  if (invite_code.empty()) {
    return absl::PermissionDeniedError(
        "a client registers with an invite code (ask your therapist)");
  }
  std::optional<std::string> normalized = NormalizeCode(invite_code);
  std::string invite_key = normalized ? enrolment_->CodeKey(*normalized) : std::string();
  // Invite lock before the handle lock inside Accounts::Register; nothing
  // takes them in the other order.
  StripedLock lock(locks_, {invite_key});
  std::unique_ptr<StripedLock> room_lock;  // the link cap's, taken in the hook
  SOTTO_ASSIGN_OR_RETURN(
      result.device_id,
      accounts_->Register(
          reg,
          [&](WriteBatch& batch) -> absl::Status {
            if (!normalized) return absl::PermissionDeniedError(kBadInviteCode);
            SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                                   store_->Get(Table::kInvites, invite_key));
            if (!value) return absl::PermissionDeniedError(kBadInviteCode);
            SOTTO_ASSIGN_OR_RETURN(records::Code invite, records::DecodeCode(*value));
            const int64_t now = clock_->NowMillis();
            if (now >= invite.expires_at_ms) return absl::PermissionDeniedError(kBadInviteCode);
            SOTTO_ASSIGN_OR_RETURN(std::optional<Role> inviter, accounts_->RoleOf(invite.handle));
            if (inviter != Role::kTherapist) return absl::PermissionDeniedError(kBadInviteCode);
            // Held until the account and link are written (past the hook);
            // let go first when the hook runs again (a retried write).
            room_lock.reset();
            room_lock = std::make_unique<StripedLock>(
                link_locks_, std::vector<std::string>{invite.handle, reg.handle});
            SOTTO_RETURN_IF_ERROR(CheckLinkRoom(invite.handle, reg.handle, batch));
            // Redeemed through another node meanwhile: ABORTED, and the
            // retry finds the invite gone.
            batch.Expect(Table::kInvites, invite_key, std::move(value));
            batch.Delete(Table::kInvites, invite_key);
            SOTTO_RETURN_IF_ERROR(
                LogInviteUsed(store_, invite.handle, invite_key, reg.handle, now, batch));
            LinkInto(invite.handle, reg.handle, now, batch);
            const std::string actor = absl::StrCat(reg.handle, ".1");
            AddAudit(batch,
                     {audit::kInviteRedeemed, actor, reg.handle,
                      absl::StrCat("therapist=", invite.handle, " at=registration")},
                     call);
            AddAudit(batch,
                     {audit::kLinkMade, actor, reg.handle,
                      absl::StrCat("therapist=", invite.handle, " client=", reg.handle)},
                     call);
            result.linked_therapist = invite.handle;
            return absl::OkStatus();
          },
          call));
  return result;
}

absl::StatusOr<IssuedCode> Care::CreateInvite(const AuthenticatedDevice& caller,
                                              uint32_t valid_hours, const CallContext& call) {
  if (caller.role != Role::kTherapist) {
    return absl::PermissionDeniedError("only a therapist can create invites");
  }
  if (valid_hours > kMaxCodeValidHours) {
    return absl::InvalidArgumentError(
        absl::StrCat("valid_hours ", valid_hours, " is above the maximum of ", kMaxCodeValidHours));
  }
  if (valid_hours == 0) valid_hours = kDefaultCodeValidHours;
  // Not held until redemption (an invite is not a link): AcceptInvite and
  // Register check again. This only spares the client a code that cannot
  // be used.
  SOTTO_ASSIGN_OR_RETURN(size_t links, ActiveLinks(Table::kLinks, caller.handle));
  if (links >= options_.max_links_per_user) {
    metrics::CountRefusal("links_per_user");
    return absl::ResourceExhaustedError(absl::StrCat(
        caller.handle, " already has ", links, " active care links, the most one account may have ",
        "(link cap ", options_.max_links_per_user, "); end one before inviting"));
  }
  if (options_.invite_limiter != nullptr) {
    if (absl::Status s = options_.invite_limiter->Take(caller.handle); !s.ok()) {
      metrics::CountRefusal("invites_per_therapist");
      return s;
    }
  }
  SOTTO_ASSIGN_OR_RETURN(std::string code, GenerateCode());
  const int64_t now_ms = clock_->NowMillis();
  IssuedCode issued{code, now_ms + int64_t{valid_hours} * 3600 * 1000};
  const std::string code_key = enrolment_->CodeKey(*NormalizeCode(code));
  issued.invite_id = InviteIdOf(code_key);
  WriteBatch batch;
  batch.Put(Table::kInvites, code_key,
            records::Encode(records::Code{caller.handle, issued.expires_at_ms}));
  LogInviteCreated(caller.handle, code_key, now_ms, issued.expires_at_ms, batch);
  AddAudit(batch,
           {audit::kInviteCreated, AuditActor(caller), caller.handle,
            absl::StrCat("valid_hours=", valid_hours)},
           call);
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kSynced));
  return issued;
}

absl::StatusOr<std::string> Care::AcceptInvite(const AuthenticatedDevice& caller,
                                               absl::string_view code, const CallContext& call) {
  if (code.empty()) return absl::InvalidArgumentError("code is required");
  if (caller.role != Role::kClient) {
    return absl::PermissionDeniedError("only a client can accept an invite");
  }
  std::optional<std::string> normalized = NormalizeCode(code);
  if (!normalized) return absl::PermissionDeniedError(kBadInviteCode);
  std::string invite_key = enrolment_->CodeKey(*normalized);
  StripedLock invite_lock(locks_, {invite_key});
  // The write expects the invite and the link as read: an invite redeemed
  // (or a link changed) through another node meanwhile makes it ABORTED,
  // and the next attempt sees what that node wrote.
  return RetryAborted("accepting the invite", [&] {
    return AcceptInviteLocked(caller, invite_key, call);
  });
}

absl::StatusOr<std::string> Care::AcceptInviteLocked(const AuthenticatedDevice& caller,
                                                     const std::string& invite_key,
                                                     const CallContext& call) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_->Get(Table::kInvites, invite_key));
  if (!value) return absl::PermissionDeniedError(kBadInviteCode);
  SOTTO_ASSIGN_OR_RETURN(records::Code invite, records::DecodeCode(*value));
  const int64_t now = clock_->NowMillis();
  if (now >= invite.expires_at_ms) return absl::PermissionDeniedError(kBadInviteCode);
  SOTTO_ASSIGN_OR_RETURN(std::optional<Role> inviter, accounts_->RoleOf(invite.handle));
  if (inviter != Role::kTherapist) return absl::PermissionDeniedError(kBadInviteCode);
  const std::string pair = keys::Pair(invite.handle, caller.handle);
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> link_value, store_->Get(Table::kLinks, pair));
  std::optional<records::Link> link;
  if (link_value) {
    SOTTO_ASSIGN_OR_RETURN(link, records::DecodeLink(*link_value));
  }
  if (link && link->state == static_cast<uint32_t>(LinkState::kActive)) {
    return absl::AlreadyExistsError(
        absl::StrCat(caller.handle, " is already linked to ", invite.handle));
  }
  StripedLock room_lock(link_locks_, {invite.handle, caller.handle});
  WriteBatch batch;
  SOTTO_RETURN_IF_ERROR(CheckLinkRoom(invite.handle, caller.handle, batch));
  // A link made again gets a since_ms after the old one's, even within one
  // millisecond: send-later messages written under the old link are told
  // apart by it (Mailbox::ReleaseDue).
  int64_t since = now;
  if (link) since = std::max({now, link->since_ms + 1, link->ended_ms + 1});
  batch.Expect(Table::kInvites, invite_key, std::move(value));
  batch.Expect(Table::kLinks, pair, std::move(link_value));
  batch.Delete(Table::kInvites, invite_key);
  SOTTO_RETURN_IF_ERROR(
      LogInviteUsed(store_, invite.handle, invite_key, caller.handle, since, batch));
  LinkInto(invite.handle, caller.handle, since, batch);
  AddAudit(batch,
           {audit::kInviteRedeemed, AuditActor(caller), caller.handle,
            absl::StrCat("therapist=", invite.handle)},
           call);
  AddAudit(batch,
           {audit::kLinkMade, AuditActor(caller), caller.handle,
            absl::StrCat("therapist=", invite.handle, " client=", caller.handle)},
           call);
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kSynced));
  return invite.handle;
}

absl::StatusOr<std::vector<CareLink>> Care::LinksOf(Table table, absl::string_view handle) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                         store_->Scan(table, keys::UserPrefix(handle), "", kMaxLinksPerUser));
  std::vector<CareLink> links;
  for (const KeyValue& row : rows) {
    std::optional<std::string> peer = keys::SecondOfPair(row.key);
    if (!peer) return records::Corrupt("link key");
    SOTTO_ASSIGN_OR_RETURN(records::Link l, records::DecodeLink(row.value));
    links.push_back(CareLink{*std::move(peer), static_cast<LinkState>(l.state), l.since_ms,
                             l.ended_ms, l.ended_by});
  }
  return links;
}

absl::StatusOr<std::vector<CareLink>> Care::ListLinks(const AuthenticatedDevice& caller) {
  return LinksOf(caller.role == Role::kTherapist ? Table::kLinks : Table::kLinksByClient,
                 caller.handle);
}

absl::StatusOr<std::vector<std::string>> Care::CareTeam(absl::string_view client) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<CareLink> links, LinksOf(Table::kLinksByClient, client));
  std::vector<std::string> team;
  for (CareLink& l : links) {
    if (l.state == LinkState::kActive) team.push_back(std::move(l.peer));
  }
  return team;
}

absl::StatusOr<std::optional<records::Link>> Care::GetLink(absl::string_view therapist,
                                                           absl::string_view client) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_->Get(Table::kLinks, keys::Pair(therapist, client)));
  if (!value) return std::optional<records::Link>();
  SOTTO_ASSIGN_OR_RETURN(records::Link link, records::DecodeLink(*value));
  return std::optional<records::Link>(std::move(link));
}

absl::Status Care::EndLink(const AuthenticatedDevice& caller, absl::string_view peer,
                           const CallContext& call) {
  SOTTO_RETURN_IF_ERROR(ValidPeer(peer, "peer"));
  const bool therapist = caller.role == Role::kTherapist;
  std::string t(therapist ? caller.handle : std::string(peer));
  std::string c(therapist ? std::string(peer) : caller.handle);
  std::string pair = keys::Pair(t, c);
  StripedLock lock(locks_, {pair});
  // Expects the link as read: ended (or made anew) through another node
  // meanwhile, the write is ABORTED and the next attempt sees that.
  return RetryAborted("ending the care link", [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> read, store_->Get(Table::kLinks, pair));
    std::optional<records::Link> link;
    if (read) {
      SOTTO_ASSIGN_OR_RETURN(link, records::DecodeLink(*read));
    }
    if (!link || link->state != static_cast<uint32_t>(LinkState::kActive)) {
      return absl::NotFoundError(
          absl::StrCat("no active care link between ", caller.handle, " and ", peer));
    }
    return EndLinkWrite(caller, peer, t, c, *link, std::move(read), call);
  });
}

absl::Status Care::EndLinkWrite(const AuthenticatedDevice& caller, absl::string_view peer,
                                const std::string& t, const std::string& c, records::Link link,
                                std::optional<std::string> read, const CallContext& call) {
  const std::string pair = keys::Pair(t, c);
  link.state = static_cast<uint32_t>(LinkState::kEnded);
  link.ended_ms = clock_->NowMillis();
  link.ended_by = caller.handle;
  WriteBatch batch;
  std::string value = records::Encode(link);
  batch.Expect(Table::kLinks, pair, std::move(read));
  batch.Put(Table::kLinks, pair, value);
  batch.Put(Table::kLinksByClient, keys::Pair(c, t), std::move(value));
  // The conversation leaves the therapist's queue with the link, as read:
  // a Send through another node that changed it meanwhile makes this write
  // ABORTED, and the retry deletes what that Send wrote.
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> entry,
                         store_->Get(Table::kConversations, pair));
  batch.Expect(Table::kConversations, pair, std::move(entry));
  batch.Delete(Table::kConversations, pair);
  AddAudit(batch,
           {audit::kLinkEnded, AuditActor(caller), std::string(peer),
            absl::StrCat("therapist=", t, " client=", c)},
           call);
  return store_->Write(batch, Durability::kSynced);
}

absl::Status Care::SetPolicy(const AuthenticatedDevice& caller, const ResponsePolicy& policy) {
  if (caller.role != Role::kTherapist) {
    return absl::PermissionDeniedError("only a therapist can set a response policy");
  }
  SOTTO_RETURN_IF_ERROR(ValidatePolicy(policy));
  WriteBatch batch;
  batch.Put(Table::kPolicies, keys::Account(caller.handle), EncodePolicy(policy));
  return store_->Write(batch, Durability::kSynced);
}

absl::StatusOr<ResponsePolicy> Care::PolicyOf(absl::string_view therapist) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_->Get(Table::kPolicies, keys::Account(therapist)));
  return PolicyFrom(value);
}

size_t Care::AddPolicyRead(absl::string_view therapist, ReadBatch& batch) {
  return batch.Get(Table::kPolicies, keys::Account(therapist));
}

absl::StatusOr<ResponsePolicy> Care::PolicyFrom(const std::optional<std::string>& stored) {
  if (!stored) return DefaultPolicy();
  return DecodePolicy(*stored);
}

absl::StatusOr<PolicyView> Care::GetPolicy(const AuthenticatedDevice& caller,
                                           absl::string_view therapist) {
  SOTTO_RETURN_IF_ERROR(ValidPeer(therapist, "therapist"));
  bool allowed = caller.handle == therapist && caller.role == Role::kTherapist;
  if (!allowed && caller.role == Role::kClient) {
    SOTTO_ASSIGN_OR_RETURN(std::optional<records::Link> link, GetLink(therapist, caller.handle));
    allowed = link && link->state == static_cast<uint32_t>(LinkState::kActive);
  }
  if (!allowed) return NoLink(caller.handle, therapist);
  SOTTO_ASSIGN_OR_RETURN(ResponsePolicy policy, PolicyOf(therapist));
  return PolicyView{std::move(policy), emergency_note_};
}

absl::StatusOr<Route> Care::CheckCanMessage(const AuthenticatedDevice& sender,
                                            absl::string_view recipient) {
  ReadBatch batch;
  SOTTO_ASSIGN_OR_RETURN(const size_t link, AddMessageLinkRead(sender, recipient, batch));
  SOTTO_ASSIGN_OR_RETURN(const std::optional<std::string> stored,
                         store_->Get(Table::kLinks, batch.gets().at(link).key));
  return RouteFromLink(sender, recipient, stored);
}

absl::StatusOr<size_t> Care::AddMessageLinkRead(const AuthenticatedDevice& sender,
                                                absl::string_view recipient, ReadBatch& batch) {
  SOTTO_RETURN_IF_ERROR(ValidPeer(recipient, "recipient"));
  if (sender.handle == recipient) return SelfSendError(sender.handle);
  // Only the link is read, never the recipient's account: whether the
  // handle is free, a client or a therapist, a sender without a link does
  // the same single read of a missing row and gets the same answer
  // (issue 19). A client's counterpart is a therapist and a therapist's a
  // client, so the link's key follows from the sender's role alone.
  const bool from_client = sender.role == Role::kClient;
  return batch.Get(Table::kLinks, from_client ? keys::Pair(recipient, sender.handle)
                                              : keys::Pair(sender.handle, recipient));
}

absl::StatusOr<Route> Care::RouteFromLink(const AuthenticatedDevice& sender,
                                          absl::string_view recipient,
                                          const std::optional<std::string>& stored,
                                          std::optional<records::Link>* link) {
  Route route;
  route.from_client = sender.role == Role::kClient;
  route.therapist = route.from_client ? std::string(recipient) : sender.handle;
  route.client = route.from_client ? sender.handle : std::string(recipient);
  route.link_read = stored;
  if (!stored) return NoLink(sender.handle, recipient);
  SOTTO_ASSIGN_OR_RETURN(records::Link decoded, records::DecodeLink(*stored));
  // The two know each other: who ended it, and when, is theirs to know.
  if (decoded.state != static_cast<uint32_t>(LinkState::kActive)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the care link between ", route.therapist, " and ", route.client,
                     " was ended by ", decoded.ended_by, " at ", FormatMs(decoded.ended_ms)));
  }
  route.between_care_parties = true;
  if (link != nullptr) *link = std::move(decoded);
  return route;
}

absl::Status Care::CheckCanFetchBundle(const AuthenticatedDevice& caller,
                                       absl::string_view handle) {
  // An ended link keeps its FAILED_PRECONDITION: the two already know each
  // other, and "ended by X" is what the sender who starts a new session (and
  // so fetches a bundle first) must be told.
  // One's own handle: the caller's other devices (KeyDirectory::GetBundle
  // leaves the caller's own device out), for sent transcripts and read
  // state (SendKind::kSync).
  if (caller.handle == handle) return ValidPeer(handle, "user");
  return CheckCanMessage(caller, handle).status();
}

absl::StatusOr<size_t> Care::SweepExpiredInvites() {
  const int64_t now_ms = clock_->NowMillis();
  SOTTO_ASSIGN_OR_RETURN(size_t codes, SweepExpiredCodes(store_, Table::kInvites, now_ms));
  SOTTO_ASSIGN_OR_RETURN(size_t logged, SweepInviteLog(store_, now_ms));
  return codes + logged;
}

absl::StatusOr<std::vector<InviteLogEntry>> Care::ListInvites(const AuthenticatedDevice& caller,
                                                              uint32_t max_results) {
  if (caller.role != Role::kTherapist) {
    return absl::PermissionDeniedError("only a therapist has invites to list");
  }
  if (max_results > kMaxListedInvites) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_results ", max_results, " is above the maximum of ", kMaxListedInvites));
  }
  if (max_results == 0) max_results = kDefaultListedInvites;
  // Read under the caller's own handle only: never anyone else's invites.
  return ListInviteLog(store_, caller.handle, max_results);
}

}  // namespace sotto::server

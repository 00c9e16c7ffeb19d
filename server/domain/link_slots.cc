#include "server/domain/link_slots.h"

#include <openssl/rand.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "server/domain/conditional_write.h"
#include "server/domain/limits.h"
#include "server/domain/open_by_account.h"
#include "server/domain/record_codec.h"
#include "server/domain/sha256.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

// One answer for "never existed", "expired" and "another account's": the
// slot id is the only thing that names a slot, and it says nothing more.
constexpr char kNoSlot[] = "no such link slot, or it expired: show a new code";
constexpr char kBadToken[] = "link token unknown, used or expired: start linking again";

absl::StatusOr<std::string> Random(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return absl::UnavailableError("random number generator failed");
  }
  return out;
}

absl::Status CheckSize(absl::string_view field, absl::string_view value, size_t want) {
  if (value.size() == want) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " must be ", want, " bytes, got ", value.size()));
}

constexpr size_t kSlotSweepBatch = 500;
constexpr uint32_t kHasRequest = 1, kHasResponse = 2, kFetched = 4;

}  // namespace

LinkSlots::LinkSlots(Store* store, Clock* clock) : store_(store), clock_(clock) {}

std::string LinkSlots::Encode(const Slot& slot) {
  const uint32_t flags = (slot.request ? kHasRequest : 0) | (slot.response ? kHasResponse : 0) |
                         (slot.response_fetched ? kFetched : 0);
  RecordWriter w;
  w.Bytes(slot.handle).U32(slot.created_by).I64(slot.expires_at_ms).Bytes(slot.token_hash);
  w.U32(flags);
  w.Bytes(slot.request ? slot.request->ephemeral_key : "");
  w.Bytes(slot.request ? slot.request->mac : "");
  w.Bytes(slot.response ? *slot.response : "");
  return w.Finish();
}

absl::StatusOr<LinkSlots::Slot> LinkSlots::Decode(absl::string_view raw) {
  RecordReader r(raw);
  Slot slot;
  slot.handle = r.Bytes();
  slot.created_by = r.U32();
  slot.expires_at_ms = r.I64();
  slot.token_hash = r.Bytes();
  const uint32_t flags = r.U32();
  Request request;
  request.ephemeral_key = r.Bytes();
  request.mac = r.Bytes();
  std::string response = r.Bytes();
  if (!r.ok()) return absl::DataLossError("undecodable link slot record");
  if (flags & kHasRequest) slot.request = std::move(request);
  if (flags & kHasResponse) slot.response = std::move(response);
  slot.response_fetched = (flags & kFetched) != 0;
  return slot;
}

absl::StatusOr<LinkSlots::Read> LinkSlots::Find(absl::string_view slot_id,
                                                const AuthenticatedDevice* owner) {
  Read out;
  SOTTO_ASSIGN_OR_RETURN(out.raw, store_->Get(Table::kLinkSlots, slot_id));
  if (!out.raw) return out;
  SOTTO_ASSIGN_OR_RETURN(Slot slot, Decode(*out.raw));
  if (slot.expires_at_ms <= clock_->NowMillis()) return out;
  if (owner != nullptr && slot.handle != owner->handle) return out;
  out.slot = std::move(slot);
  return out;
}

absl::Status LinkSlots::Replace(absl::string_view slot_id, const std::string& read,
                                const std::optional<Slot>& slot, const std::string& token_hash) {
  WriteBatch batch;
  batch.Expect(Table::kLinkSlots, std::string(slot_id), read);
  if (slot) {
    batch.Put(Table::kLinkSlots, std::string(slot_id), Encode(*slot));
  } else {
    batch.Delete(Table::kLinkSlots, std::string(slot_id));
    if (!token_hash.empty()) batch.Delete(Table::kLinkTokens, token_hash);
  }
  // Synced: a request or a response acknowledged to one device must still
  // be there when the other device polls, whichever node it asks.
  return store_->Write(batch, Durability::kSynced);
}

absl::StatusOr<LinkSlots::Created> LinkSlots::Create(const AuthenticatedDevice& owner) {
  Created created;
  absl::StatusOr<std::string> id = Random(kLinkSlotIdBytes);
  if (!id.ok()) return id.status();
  absl::StatusOr<std::string> token = Random(kLinkTokenBytes);
  if (!token.ok()) return token.status();
  Slot slot;
  slot.handle = owner.handle;
  slot.created_by = owner.device_id;
  slot.token_hash = Sha256({*token});
  absl::MutexLock lock(&mu_);
  SOTTO_RETURN_IF_ERROR(RetryAborted("opening a link code", [&]() -> absl::Status {
    const int64_t now = clock_->NowMillis();
    SOTTO_ASSIGN_OR_RETURN(OpenSet open, ReadOpenSet(store_, OpenKind::kLinkSlot, owner.handle,
                                                     Table::kLinkSlots, now));
    if (open.entries.size() >= kMaxOpenLinkSlotsPerAccount) {
      return absl::ResourceExhaustedError(
          absl::StrCat("account ", owner.handle, " already has ", open.entries.size(),
                       " link codes open (at most ", kMaxOpenLinkSlotsPerAccount,
                       "); use or cancel one, or wait for it to expire"));
    }
    slot.expires_at_ms = now + kLinkSlotTtlMs;
    WriteBatch batch;
    WriteOpenSet(open, OpenEntry{*id, owner.device_id, slot.expires_at_ms}, batch);
    batch.Put(Table::kLinkSlots, *id, Encode(slot));
    batch.Put(Table::kLinkTokens, slot.token_hash, *id);
    return store_->Write(batch, Durability::kSynced);
  }));
  created.slot_id = *std::move(id);
  created.link_token = *std::move(token);
  created.expires_at_ms = slot.expires_at_ms;
  return created;
}

absl::Status LinkSlots::PostRequest(absl::string_view slot_id, absl::string_view ephemeral_key,
                                    absl::string_view mac) {
  if (absl::Status s = CheckSize("slot_id", slot_id, kLinkSlotIdBytes); !s.ok()) return s;
  if (absl::Status s = CheckSize("ephemeral_public_key", ephemeral_key, kLinkKeyBytes); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckSize("mac", mac, kLinkMacBytes); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return RetryAborted("answering a link code", [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(Read read, Find(slot_id, nullptr));
    if (!read.slot) return absl::NotFoundError(kNoSlot);
    if (read.slot->request) {
      return absl::FailedPreconditionError("a new device already answered this code");
    }
    read.slot->request = Request{std::string(ephemeral_key), std::string(mac)};
    return Replace(slot_id, *read.raw, read.slot, "");
  });
}

absl::StatusOr<std::optional<LinkSlots::Request>> LinkSlots::GetRequest(
    const AuthenticatedDevice& owner, absl::string_view slot_id) {
  if (absl::Status s = CheckSize("slot_id", slot_id, kLinkSlotIdBytes); !s.ok()) return s;
  SOTTO_ASSIGN_OR_RETURN(Read read, Find(slot_id, &owner));
  if (!read.slot) return absl::NotFoundError(kNoSlot);
  return read.slot->request;
}

absl::Status LinkSlots::PutResponse(const AuthenticatedDevice& owner, absl::string_view slot_id,
                                    std::string ciphertext) {
  if (absl::Status s = CheckSize("slot_id", slot_id, kLinkSlotIdBytes); !s.ok()) return s;
  if (ciphertext.empty() || ciphertext.size() > kMaxProvisioningBytes) {
    return absl::InvalidArgumentError(absl::StrCat("ciphertext must be 1..", kMaxProvisioningBytes,
                                                   " bytes, got ", ciphertext.size()));
  }
  absl::MutexLock lock(&mu_);
  return RetryAborted("answering a linking device", [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(Read read, Find(slot_id, &owner));
    if (!read.slot) return absl::NotFoundError(kNoSlot);
    if (!read.slot->request) {
      return absl::FailedPreconditionError("no new device has answered this code yet");
    }
    if (read.slot->response || read.slot->response_fetched) {
      return absl::FailedPreconditionError("this code was already answered");
    }
    read.slot->response = ciphertext;
    return Replace(slot_id, *read.raw, read.slot, "");
  });
}

absl::StatusOr<std::optional<std::string>> LinkSlots::FetchResponse(absl::string_view slot_id) {
  if (absl::Status s = CheckSize("slot_id", slot_id, kLinkSlotIdBytes); !s.ok()) return s;
  // The common answer of a poll, "nothing yet", is one read and no lock.
  {
    SOTTO_ASSIGN_OR_RETURN(Read read, Find(slot_id, nullptr));
    if (!read.slot || read.slot->response_fetched) return absl::NotFoundError(kNoSlot);
    if (!read.slot->response) return std::optional<std::string>();
  }
  absl::MutexLock lock(&mu_);
  return RetryAborted("fetching a link answer",
                      [&]() -> absl::StatusOr<std::optional<std::string>> {
                        SOTTO_ASSIGN_OR_RETURN(Read read, Find(slot_id, nullptr));
                        if (!read.slot || read.slot->response_fetched)
                          return absl::NotFoundError(kNoSlot);
                        if (!read.slot->response) return std::optional<std::string>();
                        std::optional<std::string> out = std::move(read.slot->response);
                        read.slot->response.reset();
                        read.slot->response_fetched = true;
                        SOTTO_RETURN_IF_ERROR(Replace(slot_id, *read.raw, read.slot, ""));
                        return out;
                      });
}

absl::Status LinkSlots::Cancel(const AuthenticatedDevice& owner, absl::string_view slot_id) {
  if (absl::Status s = CheckSize("slot_id", slot_id, kLinkSlotIdBytes); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return RetryAborted("cancelling a link code", [&]() -> absl::Status {
    SOTTO_ASSIGN_OR_RETURN(Read read, Find(slot_id, &owner));
    if (!read.slot) return absl::OkStatus();
    return Replace(slot_id, *read.raw, std::nullopt, read.slot->token_hash);
  });
}

absl::StatusOr<LinkSlots::Granted> LinkSlots::FindToken(absl::string_view link_token) {
  if (absl::Status s = CheckSize("link_token", link_token, kLinkTokenBytes); !s.ok()) return s;
  Granted out;
  out.token_hash = Sha256({link_token});
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> slot_id,
                         store_->Get(Table::kLinkTokens, out.token_hash));
  if (!slot_id) return absl::PermissionDeniedError(kBadToken);
  SOTTO_ASSIGN_OR_RETURN(Read read, Find(*slot_id, nullptr));
  if (!read.slot || read.slot->token_hash != out.token_hash) {
    return absl::PermissionDeniedError(kBadToken);
  }
  out.grant = Grant{read.slot->handle, read.slot->created_by};
  out.slot_id = *std::move(slot_id);
  out.raw = *std::move(read.raw);
  return out;
}

absl::StatusOr<LinkSlots::Grant> LinkSlots::Redeem(absl::string_view link_token) {
  absl::MutexLock lock(&mu_);
  return RetryAborted("using a link token", [&]() -> absl::StatusOr<Grant> {
    SOTTO_ASSIGN_OR_RETURN(Granted found, FindToken(link_token));
    // Deleting the slot as read: of two nodes redeeming one token at once,
    // one wins and the other, retrying, finds no token.
    SOTTO_RETURN_IF_ERROR(Replace(found.slot_id, found.raw, std::nullopt, found.token_hash));
    return found.grant;
  });
}

absl::StatusOr<LinkSlots::Grant> LinkSlots::Peek(absl::string_view link_token) {
  SOTTO_ASSIGN_OR_RETURN(Granted found, FindToken(link_token));
  return found.grant;
}

void LinkSlots::CancelCreatedBy(absl::string_view handle, uint32_t device_id) {
  // Best effort: Accounts::LinkDevice refuses a token whose device was
  // removed anyway; this only frees the account's codes early.
  absl::StatusOr<OpenSet> open =
      ReadOpenSet(store_, OpenKind::kLinkSlot, handle, Table::kLinkSlots, clock_->NowMillis());
  if (!open.ok()) return;
  const AuthenticatedDevice owner{std::string(handle), device_id, Role::kClient};
  for (const OpenEntry& e : open->entries) {
    if (e.created_by == device_id) (void)Cancel(owner, e.id);
  }
}

absl::StatusOr<size_t> LinkSlots::SweepExpired() {
  size_t swept = 0;
  std::string after;
  const int64_t now = clock_->NowMillis();
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_->Scan(Table::kLinkSlots, "", after, kSlotSweepBatch));
    for (const KeyValue& row : rows) {
      absl::StatusOr<Slot> slot = Decode(row.value);
      if (slot.ok() && slot->expires_at_ms > now) continue;
      absl::Status s = Replace(row.key, row.value, std::nullopt, slot.ok() ? slot->token_hash : "");
      if (s.ok())
        ++swept;
      else if (s.code() != absl::StatusCode::kAborted)
        return s;
    }
    if (rows.size() < kSlotSweepBatch) break;
    after = rows.back().key;
  }
  // The account rows of both kinds (slots and history archives): one scan.
  SOTTO_RETURN_IF_ERROR(SweepOpenSets(store_, now).status());
  return swept;
}

}  // namespace sotto::server

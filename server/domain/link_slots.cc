#include "server/domain/link_slots.h"

#include <openssl/rand.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "server/domain/limits.h"
#include "server/domain/sha256.h"

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

}  // namespace

LinkSlots::LinkSlots(Clock* clock) : clock_(clock) {}

void LinkSlots::Expire(int64_t now) {
  while (!expiry_.empty() && expiry_.front().first <= now) {
    Erase(expiry_.front().second);
    expiry_.pop_front();
  }
}

void LinkSlots::Erase(absl::string_view slot_id) {
  auto it = slots_.find(slot_id);
  if (it == slots_.end()) return;
  by_token_.erase(it->second.token_hash);
  if (it->second.response) held_bytes_ -= it->second.response->size();
  auto open = open_by_account_.find(it->second.handle);
  if (open != open_by_account_.end() && --open->second == 0) open_by_account_.erase(open);
  slots_.erase(it);
}

LinkSlots::Slot* LinkSlots::Find(absl::string_view slot_id, const AuthenticatedDevice* owner) {
  Expire(clock_->NowMillis());
  auto it = slots_.find(slot_id);
  if (it == slots_.end()) return nullptr;
  if (owner != nullptr && it->second.handle != owner->handle) return nullptr;
  return &it->second;
}

absl::StatusOr<LinkSlots::Created> LinkSlots::Create(const AuthenticatedDevice& owner) {
  Created created;
  absl::StatusOr<std::string> id = Random(kLinkSlotIdBytes);
  if (!id.ok()) return id.status();
  absl::StatusOr<std::string> token = Random(kLinkTokenBytes);
  if (!token.ok()) return token.status();
  absl::MutexLock lock(&mu_);
  const int64_t now = clock_->NowMillis();
  Expire(now);
  auto counted = open_by_account_.find(owner.handle);
  const size_t open = counted == open_by_account_.end() ? 0 : counted->second;
  if (open >= kMaxOpenLinkSlotsPerAccount) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "account ", owner.handle, " already has ", open, " link codes open (at most ",
        kMaxOpenLinkSlotsPerAccount, "); use or cancel one, or wait for it to expire"));
  }
  if (slots_.size() >= kMaxLinkSlots) {
    return absl::ResourceExhaustedError("too many device linkings in progress; retry later");
  }
  Slot slot;
  slot.handle = owner.handle;
  slot.created_by = owner.device_id;
  slot.expires_at_ms = now + kLinkSlotTtlMs;
  slot.token_hash = Sha256({*token});
  by_token_[slot.token_hash] = *id;
  ++open_by_account_[owner.handle];
  expiry_.emplace_back(slot.expires_at_ms, *id);
  slots_[*id] = std::move(slot);
  created.slot_id = *std::move(id);
  created.link_token = *std::move(token);
  created.expires_at_ms = now + kLinkSlotTtlMs;
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
  Slot* slot = Find(slot_id, nullptr);
  if (slot == nullptr) return absl::NotFoundError(kNoSlot);
  if (slot->request) {
    return absl::FailedPreconditionError("a new device already answered this code");
  }
  slot->request = Request{std::string(ephemeral_key), std::string(mac)};
  return absl::OkStatus();
}

absl::StatusOr<std::optional<LinkSlots::Request>> LinkSlots::GetRequest(
    const AuthenticatedDevice& owner, absl::string_view slot_id) {
  if (absl::Status s = CheckSize("slot_id", slot_id, kLinkSlotIdBytes); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Slot* slot = Find(slot_id, &owner);
  if (slot == nullptr) return absl::NotFoundError(kNoSlot);
  return slot->request;
}

absl::Status LinkSlots::PutResponse(const AuthenticatedDevice& owner, absl::string_view slot_id,
                                    std::string ciphertext) {
  if (absl::Status s = CheckSize("slot_id", slot_id, kLinkSlotIdBytes); !s.ok()) return s;
  if (ciphertext.empty() || ciphertext.size() > kMaxProvisioningBytes) {
    return absl::InvalidArgumentError(absl::StrCat("ciphertext must be 1..", kMaxProvisioningBytes,
                                                   " bytes, got ", ciphertext.size()));
  }
  absl::MutexLock lock(&mu_);
  Slot* slot = Find(slot_id, &owner);
  if (slot == nullptr) return absl::NotFoundError(kNoSlot);
  if (!slot->request) {
    return absl::FailedPreconditionError("no new device has answered this code yet");
  }
  if (slot->response || slot->response_fetched) {
    return absl::FailedPreconditionError("this code was already answered");
  }
  if (held_bytes_ + ciphertext.size() > kMaxLinkRelayBytes) {
    return absl::ResourceExhaustedError(
        "the server is relaying too many device linkings at once; retry in a minute");
  }
  held_bytes_ += ciphertext.size();
  slot->response = std::move(ciphertext);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> LinkSlots::FetchResponse(absl::string_view slot_id) {
  if (absl::Status s = CheckSize("slot_id", slot_id, kLinkSlotIdBytes); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Slot* slot = Find(slot_id, nullptr);
  if (slot == nullptr || slot->response_fetched) return absl::NotFoundError(kNoSlot);
  if (!slot->response) return std::optional<std::string>();
  std::optional<std::string> out = std::move(slot->response);
  slot->response.reset();
  held_bytes_ -= out->size();
  slot->response_fetched = true;
  return out;
}

absl::Status LinkSlots::Cancel(const AuthenticatedDevice& owner, absl::string_view slot_id) {
  if (absl::Status s = CheckSize("slot_id", slot_id, kLinkSlotIdBytes); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (Find(slot_id, &owner) != nullptr) Erase(slot_id);
  return absl::OkStatus();
}

absl::StatusOr<LinkSlots::Grant> LinkSlots::Redeem(absl::string_view link_token) {
  if (absl::Status s = CheckSize("link_token", link_token, kLinkTokenBytes); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Expire(clock_->NowMillis());
  auto it = by_token_.find(Sha256({link_token}));
  if (it == by_token_.end()) return absl::PermissionDeniedError(kBadToken);
  const std::string slot_id = it->second;
  Slot& slot = slots_.at(slot_id);
  Grant grant{slot.handle, slot.created_by};
  Erase(slot_id);
  return grant;
}

absl::StatusOr<LinkSlots::Grant> LinkSlots::Peek(absl::string_view link_token) {
  if (absl::Status s = CheckSize("link_token", link_token, kLinkTokenBytes); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Expire(clock_->NowMillis());
  auto it = by_token_.find(Sha256({link_token}));
  if (it == by_token_.end()) return absl::PermissionDeniedError(kBadToken);
  const Slot& slot = slots_.at(it->second);
  return Grant{slot.handle, slot.created_by};
}

void LinkSlots::CancelCreatedBy(absl::string_view handle, uint32_t device_id) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> gone;
  for (const auto& [id, slot] : slots_) {
    if (slot.handle == handle && slot.created_by == device_id) gone.push_back(id);
  }
  for (const std::string& id : gone) Erase(id);
}

size_t LinkSlots::size() {
  absl::MutexLock lock(&mu_);
  Expire(clock_->NowMillis());
  return slots_.size();
}

size_t LinkSlots::held_bytes() {
  absl::MutexLock lock(&mu_);
  Expire(clock_->NowMillis());
  return held_bytes_;
}

}  // namespace sotto::server

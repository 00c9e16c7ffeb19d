#ifndef SOTTO_SERVER_DOMAIN_LINK_SLOTS_H_
#define SOTTO_SERVER_DOMAIN_LINK_SLOTS_H_

// The relay through which an existing device hands a new device of the same
// account its provisioning message (devices.proto, docs/PROTOCOL.md
// "Linking a device"). The server sees only an ephemeral public key, a MAC
// it cannot check and a ciphertext it cannot open.
//
// Kept in memory only: a slot lives ten minutes, a restart simply ends the
// linkings in progress (the user shows a new code), and nothing of a
// linking outlives it on disk except the audit entries. Every slot is used
// once: its request, its response and its link token are each accepted
// once; the response is deleted as it is fetched; an expired slot is gone.
// Thread-safe.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/clock.h"
#include "server/domain/types.h"

namespace sotto::server {

class LinkSlots {
 public:
  // Does not own `clock`.
  explicit LinkSlots(Clock* clock);
  LinkSlots(const LinkSlots&) = delete;
  LinkSlots& operator=(const LinkSlots&) = delete;

  struct Created {
    std::string slot_id;     // kLinkSlotIdBytes random bytes
    std::string link_token;  // kLinkTokenBytes random bytes (only its hash is kept)
    int64_t expires_at_ms = 0;
  };
  // Opens a slot for a new device of `owner`'s account. RESOURCE_EXHAUSTED
  // past kMaxOpenLinkSlotsPerAccount open slots of the account or
  // kMaxLinkSlots in all.
  absl::StatusOr<Created> Create(const AuthenticatedDevice& owner);

  // The new device's request. INVALID_ARGUMENT (sizes), NOT_FOUND (no such
  // live slot), FAILED_PRECONDITION (already posted).
  absl::Status PostRequest(absl::string_view slot_id, absl::string_view ephemeral_key,
                           absl::string_view mac);

  struct Request {
    std::string ephemeral_key;
    std::string mac;
  };
  // The request posted to `owner`'s slot, nullopt if none yet. NOT_FOUND
  // when the slot is not a live slot of `owner`'s account (the same answer
  // as for no slot at all: another account learns nothing).
  absl::StatusOr<std::optional<Request>> GetRequest(const AuthenticatedDevice& owner,
                                                    absl::string_view slot_id);

  // The provisioning ciphertext for the new device. NOT_FOUND as
  // GetRequest; INVALID_ARGUMENT (empty or over kMaxProvisioningBytes);
  // FAILED_PRECONDITION (no request yet, or a response was already left);
  // RESOURCE_EXHAUSTED while the answers waiting to be fetched already hold
  // kMaxLinkRelayBytes (the slot stays open: the caller may retry).
  absl::Status PutResponse(const AuthenticatedDevice& owner, absl::string_view slot_id,
                           std::string ciphertext);

  // The ciphertext, once (nullopt while none was left yet). NOT_FOUND for no
  // live slot or a response already fetched.
  absl::StatusOr<std::optional<std::string>> FetchResponse(absl::string_view slot_id);

  // Closes `owner`'s slot; OK if it is already gone.
  absl::Status Cancel(const AuthenticatedDevice& owner, absl::string_view slot_id);

  struct Grant {
    std::string handle;      // the account the token admits to
    uint32_t linked_by = 0;  // the device that opened the slot
  };
  // Uses up `link_token`: the slot is closed whatever the caller does next.
  // PERMISSION_DENIED for an unknown, used or expired token (one message).
  absl::StatusOr<Grant> Redeem(absl::string_view link_token);

  // The grant `link_token` would give, without using it up (Devices.Link
  // checks the request against the account first, so a bad request costs
  // the user no new code). PERMISSION_DENIED as Redeem.
  absl::StatusOr<Grant> Peek(absl::string_view link_token);

  // Closes every slot `device_id` of `handle` opened: the device was
  // removed, and the link token it holds must not add a device.
  void CancelCreatedBy(absl::string_view handle, uint32_t device_id);

  // Live slots (for tests and the operator's view).
  size_t size();
  // Bytes of answers waiting to be fetched.
  size_t held_bytes();

 private:
  struct Slot {
    std::string handle;
    uint32_t created_by = 0;
    int64_t expires_at_ms = 0;
    std::string token_hash;
    std::optional<Request> request;
    std::optional<std::string> response;
    bool response_fetched = false;
  };
  // Drops expired slots: the oldest first, from expiry_, so a call does
  // not scan every slot.
  void Expire(int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The live slot `slot_id`, null if none (or of another account when
  // `owner` is given).
  Slot* Find(absl::string_view slot_id, const AuthenticatedDevice* owner)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Erase(absl::string_view slot_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* const clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Slot> slots_ ABSL_GUARDED_BY(mu_);
  // SHA-256(link token) -> slot id.
  absl::flat_hash_map<std::string, std::string> by_token_ ABSL_GUARDED_BY(mu_);
  // (expires_at_ms, slot id) in creation order, which is expiry order (one
  // TTL for all); ids already erased are skipped when they reach the front.
  std::deque<std::pair<int64_t, std::string>> expiry_ ABSL_GUARDED_BY(mu_);
  // Open slots per account handle (kMaxOpenLinkSlotsPerAccount).
  absl::flat_hash_map<std::string, size_t> open_by_account_ ABSL_GUARDED_BY(mu_);
  // Sum of the sizes of the responses not yet fetched (kMaxLinkRelayBytes).
  size_t held_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_LINK_SLOTS_H_

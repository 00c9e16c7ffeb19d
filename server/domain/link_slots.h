#ifndef SOTTO_SERVER_DOMAIN_LINK_SLOTS_H_
#define SOTTO_SERVER_DOMAIN_LINK_SLOTS_H_

// The relay through which an existing device hands a new device of the same
// account its provisioning message (devices.proto, docs/PROTOCOL.md
// "Linking a device"). The server sees only an ephemeral public key, a MAC
// it cannot check and a ciphertext it cannot open.
//
// Kept in the store (Table::kLinkSlots, kLinkTokens), so that every step
// of one linking may reach a different sotto-server node on one database:
// the new device and the existing one each poll (GetLinkRequest,
// FetchLinkResponse), and a poll is one read of the slot's row. Every
// change of a slot is a conditional write expecting the slot as read
// (conditional_write.h), so a request, a response and a link token are each
// accepted once across nodes; the response is deleted as it is fetched; an
// expired slot is refused at once and its rows deleted by the sweeper. The
// open slots of an account are capped exactly across nodes
// (open_by_account.h). Nothing of a linking outlives it except the audit
// entries. Thread-safe.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/clock.h"
#include "server/domain/types.h"
#include "server/storage/store.h"

namespace sotto::server {

class LinkSlots {
 public:
  // Does not own `store` or `clock`.
  LinkSlots(Store* store, Clock* clock);
  LinkSlots(const LinkSlots&) = delete;
  LinkSlots& operator=(const LinkSlots&) = delete;

  struct Created {
    std::string slot_id;     // kLinkSlotIdBytes random bytes
    std::string link_token;  // kLinkTokenBytes random bytes (only its hash is kept)
    int64_t expires_at_ms = 0;
  };
  // Opens a slot for a new device of `owner`'s account. RESOURCE_EXHAUSTED
  // past kMaxOpenLinkSlotsPerAccount open slots of the account.
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
  // FAILED_PRECONDITION (no request yet, or a response was already left).
  // What waits is bounded per account: kMaxOpenLinkSlotsPerAccount slots of
  // at most kMaxProvisioningBytes each.
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

  // Deletes the rows of slots expired by now (the sweeper); returns how
  // many slots.
  absl::StatusOr<size_t> SweepExpired();

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
  struct Read {
    std::optional<std::string> raw;  // the row as read (nullopt: none)
    std::optional<Slot> slot;        // set when live (and of `owner` if given)
  };
  // The row of `slot_id` and, when it is a live slot (of `owner`'s account
  // when `owner` is given), the slot.
  absl::StatusOr<Read> Find(absl::string_view slot_id, const AuthenticatedDevice* owner);
  // Writes `slot` in place of the row `read`, or deletes the slot and its
  // token when `slot` is nullopt; ABORTED if the row changed meanwhile.
  absl::Status Replace(absl::string_view slot_id, const std::string& read,
                       const std::optional<Slot>& slot, const std::string& token_hash);
  // The grant of the live slot `link_token` names, and its id and row.
  struct Granted {
    Grant grant;
    std::string slot_id;
    std::string raw;
    std::string token_hash;
  };
  absl::StatusOr<Granted> FindToken(absl::string_view link_token);
  static std::string Encode(const Slot& slot);
  static absl::StatusOr<Slot> Decode(absl::string_view raw);

  Store* const store_;
  Clock* const clock_;
  // Queues this node's racers, so an ABORTED means another node.
  absl::Mutex mu_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_LINK_SLOTS_H_

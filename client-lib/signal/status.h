#ifndef SOTTO_CLIENT_LIB_SIGNAL_STATUS_H_
#define SOTTO_CLIENT_LIB_SIGNAL_STATUS_H_

#include <signal/signal_protocol.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sotto::client::signal {

// Application error codes our store callbacks return to libsignal (they must
// be below SG_ERR_MINIMUM).
// The LocalStore failed; the real status is kept by the StoreBridge.
inline constexpr int kErrStoreFailed = SG_ERR_MINIMUM - 1;
// The device has no identity key pair yet.
inline constexpr int kErrNoIdentity = SG_ERR_MINIMUM - 2;
// A stored record could not be parsed.
inline constexpr int kErrBadRecord = SG_ERR_MINIMUM - 3;
// The Engine's caller refused the plaintext (Decrypt's on_plaintext failed);
// the real status is kept by the Engine. libsignal then stores nothing.
inline constexpr int kErrCallbackFailed = SG_ERR_MINIMUM - 4;

// The one place an SG_ERR_* code becomes an absl::Status. `what` says what was
// being done ("decrypting from alice.2") and starts the message.
// `store_error` is the LocalStore failure behind kErrStoreFailed, if any.
//   DUPLICATE_MESSAGE                      -> ALREADY_EXISTS
//   UNTRUSTED_IDENTITY, STALE_KEY_EXCHANGE -> FAILED_PRECONDITION
//   NO_SESSION                             -> NOT_FOUND
//   INVALID_MESSAGE, INVALID_MAC,
//   INVALID_KEY_ID (undecryptable)         -> DATA_LOSS
//   INVALID_KEY, INVALID_PROTO_BUF, INVALID_VERSION, LEGACY_MESSAGE,
//   VRF_SIG_VERIF_FAILED, INVAL (malformed)-> INVALID_ARGUMENT
//   NOMEM                                  -> RESOURCE_EXHAUSTED
//   kErrStoreFailed -> LocalStoreError(store_error); kErrNoIdentity ->
//   FAILED_PRECONDITION; kErrBadRecord -> INTERNAL; anything else -> INTERNAL.
// The codes a peer can cause (DATA_LOSS, INVALID_ARGUMENT, NOT_FOUND,
// ALREADY_EXISTS, FAILED_PRECONDITION) are never used for a failure of our
// own store: a caller drops a message it cannot decrypt, and must not drop one
// only because our disk failed.
absl::Status FromSignal(int code, absl::string_view what,
                        const absl::Status& store_error = absl::OkStatus());

// A failure of the local store while doing `what`, as the Engine reports it:
// UNAVAILABLE stays UNAVAILABLE (retry later); every other code, DATA_LOSS of
// our own records included, becomes INTERNAL, with the store's code and
// message kept in the text. OK stays OK.
absl::Status LocalStoreError(absl::string_view what, const absl::Status& store_error);

}  // namespace sotto::client::signal

#endif  // SOTTO_CLIENT_LIB_SIGNAL_STATUS_H_

#include "client-lib/signal/status.h"

#include "absl/strings/str_cat.h"

namespace sotto::client::signal {

absl::Status FromSignal(int code, absl::string_view what, const absl::Status& store_error) {
  if (code >= 0) return absl::OkStatus();
  auto msg = [&](absl::string_view why) { return absl::StrCat(what, ": ", why); };
  switch (code) {
    case SG_ERR_DUPLICATE_MESSAGE:
      return absl::AlreadyExistsError(msg("message was already decrypted"));
    case SG_ERR_UNTRUSTED_IDENTITY:
      return absl::FailedPreconditionError(msg("identity key differs from the trusted one"));
    case SG_ERR_STALE_KEY_EXCHANGE:
      return absl::FailedPreconditionError(msg("stale key exchange"));
    case SG_ERR_NO_SESSION:
      return absl::NotFoundError(msg("no session"));
    case SG_ERR_INVALID_MESSAGE:
      return absl::DataLossError(msg("message cannot be decrypted by any session state"));
    case SG_ERR_INVALID_MAC:
      return absl::DataLossError(msg("message authentication failed"));
    case SG_ERR_INVALID_KEY_ID:
      return absl::DataLossError(msg("message refers to a prekey this device no longer has"));
    case SG_ERR_INVALID_KEY:
      return absl::InvalidArgumentError(msg("invalid key or signature"));
    case SG_ERR_INVALID_PROTO_BUF:
      return absl::InvalidArgumentError(msg("malformed message"));
    case SG_ERR_INVALID_VERSION:
      return absl::InvalidArgumentError(msg("unsupported message version"));
    case SG_ERR_LEGACY_MESSAGE:
      return absl::InvalidArgumentError(msg("legacy message version"));
    case SG_ERR_VRF_SIG_VERIF_FAILED:
      return absl::InvalidArgumentError(msg("signature verification failed"));
    case SG_ERR_INVAL:
      return absl::InvalidArgumentError(msg("invalid argument"));
    case SG_ERR_NOMEM:
      return absl::ResourceExhaustedError(msg("out of memory"));
    case kErrStoreFailed:
      if (!store_error.ok()) return LocalStoreError(what, store_error);
      return absl::InternalError(msg("local store failed"));
    case kErrNoIdentity:
      return absl::FailedPreconditionError(msg("no identity key pair: call CreateIdentity first"));
    case kErrBadRecord:
      // Our own record: not the peer's fault, so not DATA_LOSS (which callers
      // treat as an undecryptable message to drop).
      return absl::InternalError(msg("a record in the local store is damaged"));
    default:
      return absl::InternalError(msg(absl::StrCat("libsignal error ", code)));
  }
}

absl::Status LocalStoreError(absl::string_view what, const absl::Status& store_error) {
  if (store_error.ok()) return store_error;
  const absl::StatusCode code = store_error.code() == absl::StatusCode::kUnavailable
                                    ? absl::StatusCode::kUnavailable
                                    : absl::StatusCode::kInternal;
  return absl::Status(code, absl::StrCat(what, ": local store failed (",
                                         absl::StatusCodeToString(store_error.code()), ": ",
                                         store_error.message(), ")"));
}

}  // namespace sotto::client::signal

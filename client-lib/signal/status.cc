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
      if (!store_error.ok()) {
        return absl::Status(store_error.code(), msg(store_error.message()));
      }
      return absl::InternalError(msg("local store failed"));
    case kErrNoIdentity:
      return absl::FailedPreconditionError(msg("no identity key pair: call CreateIdentity first"));
    case kErrBadRecord:
      return absl::DataLossError(msg("stored record is damaged"));
    default:
      return absl::InternalError(msg(absl::StrCat("libsignal error ", code)));
  }
}

}  // namespace sotto::client::signal

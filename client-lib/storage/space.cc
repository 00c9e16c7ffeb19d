#include "sotto/local_store.h"

namespace sotto::client::storage {

absl::string_view SpaceName(Space space) {
  switch (space) {
    case Space::kMeta:
      return "kMeta";
    case Space::kIdentity:
      return "kIdentity";
    case Space::kPreKey:
      return "kPreKey";
    case Space::kSignedPreKey:
      return "kSignedPreKey";
    case Space::kSession:
      return "kSession";
    case Space::kTrust:
      return "kTrust";
    case Space::kHistory:
      return "kHistory";
    case Space::kConversation:
      return "kConversation";
    case Space::kOutbox:
      return "kOutbox";
    case Space::kMessageIndex:
      return "kMessageIndex";
    case Space::kVerified:
      return "kVerified";
    case Space::kPendingIdentity:
      return "kPendingIdentity";
    case Space::kUnsent:
      return "kUnsent";
    case Space::kExpectedIdentity:
      return "kExpectedIdentity";
    case Space::kDraft:
      return "kDraft";
    case Space::kInvite:
      return "kInvite";
    case Space::kSyncOutbox:
      return "kSyncOutbox";
  }
  return "unknown space";
}

}  // namespace sotto::client::storage

#include "client-lib/transport/short_calls.h"

#include <algorithm>

namespace sotto::client::transport {
namespace {

thread_local absl::Duration call_limit = absl::InfiniteDuration();

}  // namespace

ShortCallsOnThisThread::ShortCallsOnThisThread(absl::Duration limit) : previous_(call_limit) {
  call_limit = std::min(call_limit, limit);
}

ShortCallsOnThisThread::~ShortCallsOnThisThread() { call_limit = previous_; }

absl::Duration ShortCallsOnThisThread::Limit() { return call_limit; }

}  // namespace sotto::client::transport

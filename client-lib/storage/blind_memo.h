#ifndef SOTTO_CLIENT_LIB_STORAGE_BLIND_MEMO_H_
#define SOTTO_CLIENT_LIB_STORAGE_BLIND_MEMO_H_

// The last few identifiers the encrypted store blinded (LocalStore::Blind),
// with their blinded forms, so that the same handle is not hashed again and
// again. Receiving one message blinds its sender's handle ~9 times (the
// Signal session's key at every libsignal store callback, the history, the
// summary, the receipt): keyed BLAKE2b each time was ~7% of a sync's CPU
// (issue 21). A handful of entries covers the handles one page or one send
// touches; a message id, blinded once, just passes through.
//
// The identifiers are handles and message ids, which the store's caller has
// in memory anyway; they are wiped when replaced and when the memo goes.
// Thread-safe. Internal to client-lib/storage.

#include <array>
#include <cstddef>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace sotto::client::storage {

class BlindMemo {
 public:
  BlindMemo() = default;
  ~BlindMemo();
  BlindMemo(const BlindMemo&) = delete;
  BlindMemo& operator=(const BlindMemo&) = delete;

  // The remembered blinded form of `identifier`, if any.
  std::optional<std::string> Find(absl::string_view identifier) const ABSL_LOCKS_EXCLUDED(mu_);

  // Remembers `blinded` for `identifier`, in place of the oldest entry.
  void Remember(absl::string_view identifier, absl::string_view blinded) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  static constexpr size_t kEntries = 8;
  struct Entry {
    std::string identifier;
    std::string blinded;
  };
  mutable absl::Mutex mu_;
  std::array<Entry, kEntries> entries_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;  // the oldest entry
};

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_STORAGE_BLIND_MEMO_H_

#include "client-lib/storage/memory_store.h"

#include <sodium.h>

#include <array>
#include <cstdlib>
#include <map>

#include "absl/synchronization/mutex.h"

namespace sotto::client::storage {
namespace {

std::string FullKey(Space space, absl::string_view key) {
  std::string full(1, static_cast<char>(space));
  full.append(key.data(), key.size());
  return full;
}

class MemoryStore final : public LocalStore {
 public:
  MemoryStore() {
    // sodium_init is idempotent and thread-safe; it fails only if the
    // system has no randomness, when nothing here can work.
    if (sodium_init() < 0) std::abort();
    randombytes_buf(blind_key_.data(), blind_key_.size());
  }
  ~MemoryStore() override { sodium_memzero(blind_key_.data(), blind_key_.size()); }
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  absl::StatusOr<std::optional<std::string>> Get(Space space, absl::string_view key) override {
    absl::MutexLock lock(&mu_);
    auto it = data_.find(FullKey(space, key));
    if (it == data_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  absl::Status Apply(const std::vector<Write>& writes) override {
    absl::MutexLock lock(&mu_);
    for (const Write& w : writes) {
      if (w.value.has_value()) {
        data_[FullKey(w.space, w.key)] = *w.value;
      } else {
        data_.erase(FullKey(w.space, w.key));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Entry>> Scan(Space space, absl::string_view prefix) override {
    absl::MutexLock lock(&mu_);
    const std::string start = FullKey(space, prefix);
    std::vector<Entry> out;
    for (auto it = data_.lower_bound(start);
         it != data_.end() && absl::string_view(it->first).substr(0, start.size()) == start; ++it) {
      out.push_back(Entry{it->first.substr(1), it->second});
    }
    return out;
  }

  std::string Blind(absl::string_view identifier) const override {
    std::string out(kBlindBytes, '\0');
    crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                       reinterpret_cast<const unsigned char*>(identifier.data()), identifier.size(),
                       blind_key_.data(), blind_key_.size());
    return out;
  }

 private:
  std::array<unsigned char, crypto_generichash_KEYBYTES> blind_key_;  // immutable
  absl::Mutex mu_;
  std::map<std::string, std::string> data_ ABSL_GUARDED_BY(mu_);  // space byte + key
};

}  // namespace

std::unique_ptr<LocalStore> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace sotto::client::storage

#include "client-lib/storage/history_insert_hint.h"

#include "sotto/local_store.h"

namespace sotto::client::storage {
namespace {

// A kHistory key: the space byte, the blinded peer, a big-endian sequence.
constexpr size_t kPeerPrefix = 1 + kBlindBytes;
constexpr size_t kHistoryKey = kPeerPrefix + 8;

class HistoryPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "sotto.HistoryPeerPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), kPeerPrefix);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() == kHistoryKey && key[0] == static_cast<char>(Space::kHistory);
  }
};

}  // namespace

std::shared_ptr<const rocksdb::SliceTransform> HistoryInsertHint() {
  static const auto* const hint = new std::shared_ptr<const rocksdb::SliceTransform>(
      std::make_shared<HistoryPrefix>());
  return *hint;
}

}  // namespace sotto::client::storage

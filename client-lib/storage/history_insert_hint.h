#ifndef SOTTO_CLIENT_LIB_STORAGE_HISTORY_INSERT_HINT_H_
#define SOTTO_CLIENT_LIB_STORAGE_HISTORY_INSERT_HINT_H_

// The encrypted store's memtable insert hint (RocksDB's
// memtable_insert_with_hint_prefix_extractor) for kHistory rows.
//
// Why: a Sync page writes a history row per message, keyed by the space, the
// peer's blinded handle and the next local sequence number — each key just
// after the previous one of the same peer. With a hint per (space, peer) the
// memtable's skip list inserts such a key next to the last one instead of
// searching from the top (issue 21). Other keys (message ids, sessions)
// land at random places and are inserted as before.

#include <memory>

#include "rocksdb/slice_transform.h"

namespace sotto::client::storage {

std::shared_ptr<const rocksdb::SliceTransform> HistoryInsertHint();

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_STORAGE_HISTORY_INSERT_HINT_H_

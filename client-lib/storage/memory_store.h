#ifndef SOTTO_CLIENT_LIB_STORAGE_MEMORY_STORE_H_
#define SOTTO_CLIENT_LIB_STORAGE_MEMORY_STORE_H_

#include <memory>

#include "sotto/local_store.h"

namespace sotto::client::storage {

// A thread-safe LocalStore that keeps everything in memory and forgets it on
// destruction. For tests and for apps that keep nothing on the device. Its
// blinding key is random per instance.
std::unique_ptr<LocalStore> NewMemoryStore();

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_STORAGE_MEMORY_STORE_H_

#include "client-lib/storage/wipe.h"

#include <sodium.h>

namespace sotto::client::storage {

void Wipe(std::string& s) {
  // Up to the capacity: a string that shrank keeps old bytes past its size.
  s.resize(s.capacity());
  sodium_memzero(s.data(), s.size());
  s.clear();
}

}  // namespace sotto::client::storage

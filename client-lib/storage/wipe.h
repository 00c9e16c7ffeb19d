#ifndef SOTTO_CLIENT_LIB_STORAGE_WIPE_H_
#define SOTTO_CLIENT_LIB_STORAGE_WIPE_H_

// Wiping secrets and plaintexts out of memory once they are no longer
// needed, so that a core dump, a swapped page or a later bug that reads
// freed memory does not find them. A plain memset before free may be
// optimised away; sodium_memzero may not.
//
// What this cannot reach: copies made by code we do not own (gRPC's call
// metadata, protobuf's parsed fields, the C library's stdio buffers) and
// copies a std::string left behind when it grew. Callers reserve before
// they append a secret where that matters.

#include <string>

namespace sotto::client::storage {

// Overwrites every byte of `s` with zeros and empties it. Its buffer stays
// allocated (and zeroed) until `s` is destroyed or grows.
void Wipe(std::string& s);

// Wipes the string it was given when it goes out of scope, whatever path
// leaves the scope.
class ScopedWipe {
 public:
  explicit ScopedWipe(std::string& s) : s_(s) {}
  ~ScopedWipe() { Wipe(s_); }
  ScopedWipe(const ScopedWipe&) = delete;
  ScopedWipe& operator=(const ScopedWipe&) = delete;

 private:
  std::string& s_;
};

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_STORAGE_WIPE_H_

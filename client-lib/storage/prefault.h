#ifndef SOTTO_CLIENT_LIB_STORAGE_PREFAULT_H_
#define SOTTO_CLIENT_LIB_STORAGE_PREFAULT_H_

// Faulting in a large fresh buffer in one system call rather than a page at
// a time (issue 21).
//
// Why: on the VM of docs/BENCHMARKS.md a first touch of a 4 KiB page costs
// ~12 us of CPU, and MADV_POPULATE_WRITE (Linux 5.14) ~0.8 us a page. A
// sync page's ~0.7 MB write batch, built in a fresh buffer, was ~120 of a
// small sync's fixed faults: what made 1,000 messages dearer a message than
// 10,000.

#include <cstddef>
#include <string>

namespace sotto::client::storage {

// Populates the whole pages inside `buffer`'s capacity for writing. Best
// effort: on an older kernel (EINVAL) the pages fault as before. Pages
// already present are left as they are; nothing is written. Buffers under
// 64 KiB are left alone (the call would cost more than it saves).
void PrefaultForWrite(const std::string& buffer);

}  // namespace sotto::client::storage

#endif  // SOTTO_CLIENT_LIB_STORAGE_PREFAULT_H_

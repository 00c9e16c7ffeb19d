#include "client-lib/storage/prefault.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace sotto::client::storage {

void PrefaultForWrite(const std::string& buffer) {
  constexpr size_t kMinBytes = 64 << 10;
  if (buffer.capacity() < kMinBytes) return;
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(buffer.data());
  // Only whole pages inside the buffer: the rest of a partly covered page
  // may be another allocation's, which populating would not harm but which
  // is not ours to ask about.
  const uintptr_t first = (begin + page - 1) & ~(page - 1);
  const uintptr_t last = (begin + buffer.capacity()) & ~(page - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
}

}  // namespace sotto::client::storage

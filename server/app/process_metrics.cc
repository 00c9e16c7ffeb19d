#include "server/app/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace sotto::server {
namespace {

// Established sockets with local port `port` in one /proc/net/tcp* table:
// "sl local_address rem_address st ...", addresses as HEXIP:HEXPORT, state
// 01 = ESTABLISHED. -1 if the table cannot be read.
int64_t CountInTable(const char* path, int port) {
  std::ifstream in(path);
  if (!in) return -1;
  std::string line;
  std::getline(in, line);  // header
  int64_t count = 0;
  while (std::getline(in, line)) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 4 || f[3] != "01") continue;
    const size_t colon = f[1].rfind(':');
    int local = 0;
    if (colon == absl::string_view::npos || !absl::SimpleHexAtoi(f[1].substr(colon + 1), &local)) {
      continue;
    }
    if (local == port) ++count;
  }
  return count;
}

}  // namespace

void AppendProcessMetrics(metrics::Exposition& out) {
  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0;
  uint64_t resident_pages = 0;
  if (statm >> size_pages >> resident_pages) {
    out.Gauge("sotto_process_resident_memory_bytes", "Resident memory of the server process.",
              static_cast<double>(resident_pages) * static_cast<double>(sysconf(_SC_PAGESIZE)));
  }
  if (DIR* fds = opendir("/proc/self/fd")) {
    int64_t open = 0;
    while (dirent* e = readdir(fds)) {
      if (e->d_name[0] != '.') ++open;
    }
    closedir(fds);
    // Less the descriptor opendir itself held.
    out.Gauge("sotto_process_open_fds", "Open file descriptors of the server process.",
              static_cast<double>(open - 1));
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    out.Gauge("sotto_process_max_fds", "The server's file descriptor limit (soft RLIMIT_NOFILE).",
              static_cast<double>(limit.rlim_cur));
  }
}

void AppendDiskMetrics(const std::string& dir, metrics::Exposition& out) {
  struct statvfs fs {};
  if (statvfs(dir.c_str(), &fs) != 0) return;
  const double unit = static_cast<double>(fs.f_frsize);
  out.Gauge("sotto_data_dir_free_bytes",
            "Bytes available to the server on the data directory's filesystem.",
            static_cast<double>(fs.f_bavail) * unit);
  out.Gauge("sotto_data_dir_size_bytes", "Size of the data directory's filesystem.",
            static_cast<double>(fs.f_blocks) * unit);
  out.Gauge("sotto_data_dir_free_inodes",
            "Inodes available to the server on the data directory's filesystem.",
            static_cast<double>(fs.f_favail));
}

void AppendConnectionMetrics(int port, metrics::Exposition& out) {
  const int64_t v4 = CountInTable("/proc/self/net/tcp", port);
  const int64_t v6 = CountInTable("/proc/self/net/tcp6", port);
  if (v4 < 0 && v6 < 0) return;
  out.Gauge("sotto_tcp_connections",
            "Established TCP connections to the gRPC port (from the kernel's table).",
            static_cast<double>((v4 > 0 ? v4 : 0) + (v6 > 0 ? v6 : 0)));
}

}  // namespace sotto::server

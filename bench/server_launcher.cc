#include "bench/server_launcher.h"

#include <regex>
#include <set>

namespace sotto::bench {

std::vector<std::string> RateLimitsOffArgs(const std::string& binary) {
  const std::string help = testing::RunServerCommand("--help", binary).output;
  std::set<std::string> flags;
  const std::regex flag("--rate-[a-z0-9-]+");
  for (auto it = std::sregex_iterator(help.begin(), help.end(), flag); it != std::sregex_iterator();
       ++it) {
    flags.insert(it->str());
  }
  std::vector<std::string> args;
  for (const std::string& f : flags) args.push_back(f + "=0/0");
  // The request log (info) writes and flushes a line per call: not what a
  // benchmark should measure. Older binaries without the flag take none.
  if (help.find("--log-level") != std::string::npos) args.push_back("--log-level=warn");
  return args;
}

}  // namespace sotto::bench

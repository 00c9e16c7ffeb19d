#include "server/cli/options.h"

#include <iostream>

namespace sotto::server::cli {

void AddDataDirOption(CLI::App* command, std::string* dir) {
  command->add_option("--data-dir", *dir, "the server's data directory")->required();
}

int Fail(absl::string_view command, const absl::Status& status) {
  std::cerr << "sotto-server " << command << ": " << status.message() << "\n";
  return 1;
}

}  // namespace sotto::server::cli

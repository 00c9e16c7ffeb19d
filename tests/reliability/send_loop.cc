// The sender that send_crash_test kills: opens a profile and sends numbered
// texts from several threads at once (Client::SendText in a loop on one
// Client, as an app would), and reports each the moment SendText said it
// was sent. The test SIGKILLs it at a random point.
//
//   send_loop PROFILE_DIR RECIPIENT FIRST COUNT THREADS
//
// Thread t sends "message FIRST+t", "message FIRST+t+THREADS", ... in that
// order. Each line on stdout, written with one write(2) so a kill never
// leaves half of one: "sent I" once SendText returned OK, "kept I CODE"
// when it returned an error (the text is then kept as not sent, or was
// refused). The passphrase comes in SOTTO_PASSPHRASE. Exit status 0 when
// every text was tried.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "sotto/client.h"

namespace {

void Report(const std::string& line) {
  // One write per line: the pipe keeps lines of different threads whole.
  const std::string out = line + "\n";
  if (write(STDOUT_FILENO, out.data(), out.size()) != static_cast<ssize_t>(out.size())) _exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t first = 0, count = 0, threads = 0;
  const char* passphrase = std::getenv("SOTTO_PASSPHRASE");
  if (argc != 6 || !absl::SimpleAtoi(argv[3], &first) || !absl::SimpleAtoi(argv[4], &count) ||
      !absl::SimpleAtoi(argv[5], &threads) || threads == 0 || passphrase == nullptr) {
    std::fprintf(stderr,
                 "usage: SOTTO_PASSPHRASE=... %s PROFILE_DIR RECIPIENT FIRST COUNT THREADS\n",
                 argv[0]);
    return 2;
  }
  sotto::OpenOptions options;
  options.profile_dir = argv[1];
  options.passphrase = passphrase;
  absl::StatusOr<std::unique_ptr<sotto::Client>> client = sotto::Client::Open(options);
  if (!client.ok()) {
    std::fprintf(stderr, "open: %s\n", client.status().ToString().c_str());
    return 1;
  }
  const std::string recipient = argv[2];
  Report("open");
  std::vector<std::thread> senders;
  for (uint64_t t = 0; t < threads; ++t) {
    senders.emplace_back([&, t] {
      for (uint64_t i = first + t; i < first + count; i += threads) {
        absl::StatusOr<sotto::SendResult> sent =
            (*client)->SendText(recipient, absl::StrCat("message ", i));
        Report(sent.ok()
                   ? absl::StrCat("sent ", i)
                   : absl::StrCat("kept ", i, " ", absl::StatusCodeToString(sent.status().code())));
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  return 0;
}

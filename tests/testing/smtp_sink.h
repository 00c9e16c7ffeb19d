#ifndef SOTTO_TESTS_TESTING_SMTP_SINK_H_
#define SOTTO_TESTS_TESTING_SMTP_SINK_H_

// A real SMTP server on a loopback port that keeps every mail it accepts:
// tests/testing/smtp_sink.py (Debian's python3-aiosmtpd) run as a child
// process. Header-only, POSIX. Not thread-safe.
//
//   SmtpSink sink(FreeLoopbackPort());
//   ASSERT_OK(sink.Start());          // listening once this returns
//   ... the server mails through 127.0.0.1:sink.port() ...
//   std::vector<std::string> mails = sink.WaitForMails(1, absl::Seconds(10));
//   sink.Stop();                      // a relay that is down; Start again later

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sotto::testing {

#ifndef SOTTO_SMTP_SINK_SCRIPT
#define SOTTO_SMTP_SINK_SCRIPT "tests/testing/smtp_sink.py"
#endif

// A loopback port nothing listens on now (bound to port 0 and closed).
inline int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class SmtpSink {
 public:
  // Mails go to a fresh directory; nothing listens before Start.
  explicit SmtpSink(int port) : port_(port) {
    char pattern[] = "/tmp/sotto-smtp-XXXXXX";
    dir_ = mkdtemp(pattern);
  }
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;
  ~SmtpSink() {
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  int port() const { return port_; }
  std::string relay() const { return "127.0.0.1:" + std::to_string(port_); }

  // Starts listening (again); returns once the sink said "ready".
  absl::Status Start() {
    int out[2], in[2];
    if (pipe(out) != 0 || pipe(in) != 0) return absl::InternalError("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      // Debian's interpreter, where python3-aiosmtpd is installed (not
      // whatever python3 comes first on PATH).
      execl("/usr/bin/python3", "python3", SOTTO_SMTP_SINK_SCRIPT, dir_.c_str(),
            std::to_string(port_).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    FILE* f = fdopen(out[0], "r");
    char line[64] = {};
    const bool ready = fgets(line, sizeof line, f) != nullptr && std::string(line) == "ready\n";
    fclose(f);
    if (!ready) {
      Stop();
      return absl::UnavailableError("the SMTP sink did not start (is python3-aiosmtpd installed?)");
    }
    return absl::OkStatus();
  }

  // Stops listening (the relay is down). No-op if not running.
  void Stop() {
    if (pid_ <= 0) return;
    close(stdin_);
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Every mail received so far, oldest first, each as the sink wrote it.
  std::vector<std::string> Mails() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      if (e.path().extension() == ".eml") names.push_back(e.path().string());
    }
    std::sort(names.begin(), names.end());
    std::vector<std::string> mails;
    for (const std::string& n : names) {
      std::ifstream in(n, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      mails.push_back(ss.str());
    }
    return mails;
  }

  // Mails() once it holds at least `count`, or at `timeout`.
  std::vector<std::string> WaitForMails(size_t count, absl::Duration timeout) const {
    const absl::Time end = absl::Now() + timeout;
    while (Mails().size() < count && absl::Now() < end) absl::SleepFor(absl::Milliseconds(50));
    return Mails();
  }

 private:
  int port_;
  std::string dir_;
  pid_t pid_ = -1;
  int stdin_ = -1;
};

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_SMTP_SINK_H_

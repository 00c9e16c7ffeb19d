#include "bench/server_launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/ceiling.h"

namespace sotto::bench {

absl::StatusOr<std::unique_ptr<ServerLauncher>> ServerLauncher::Start(
    const std::string& binary, const std::vector<std::string>& extra_args) {
  std::unique_ptr<ServerLauncher> s(new ServerLauncher());
  std::string dir = TempRoot() + "/sotto-bench-server-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp failed: ", strerror(errno)));
  }
  s->data_dir_ = dir;
  std::vector<std::string> argv = {binary, "--data-dir", dir, "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  s->pid_ = pid;
  s->stdout_fd_ = fds[0];

  static constexpr char kPrefix[] = "sotto-server listening on ";
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{s->stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = read(s->stdout_fd_, buf, sizeof(buf));
    if (n <= 0) break;  // The server exited (its reason is on our stderr).
    out.append(buf, static_cast<size_t>(n));
    size_t nl = out.find('\n');
    if (nl == std::string::npos) continue;
    std::string line = out.substr(0, nl);
    if (line.rfind(kPrefix, 0) != 0) {
      return absl::InternalError("unexpected sotto-server output: " + line);
    }
    s->address_ = line.substr(sizeof(kPrefix) - 1);
    return s;
  }
  return absl::UnavailableError("sotto-server did not report listening; output: " + out);
}

ServerLauncher::~ServerLauncher() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
  std::error_code ec;
  if (!data_dir_.empty()) std::filesystem::remove_all(data_dir_, ec);
}

absl::Status ServerLauncher::Stop() {
  if (pid_ <= 0) return absl::FailedPreconditionError("server is not running");
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
      return absl::InternalError(absl::StrCat("sotto-server exited with status ", status));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return absl::DeadlineExceededError("sotto-server did not stop within 10 s of SIGTERM");
}

std::vector<std::string> RateLimitsOffArgs(const std::string& binary) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {};
  pid_t pid = fork();
  if (pid < 0) return {};
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    execl(binary.c_str(), binary.c_str(), "--help", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string help;
  char buf[1024];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    help.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  std::set<std::string> flags;
  const std::regex flag("--rate-[a-z0-9-]+");
  for (auto it = std::sregex_iterator(help.begin(), help.end(), flag);
       it != std::sregex_iterator(); ++it) {
    flags.insert(it->str());
  }
  std::vector<std::string> args;
  for (const std::string& f : flags) args.push_back(f + "=0/0");
  return args;
}

}  // namespace sotto::bench

#ifndef SOTTO_TESTS_TESTING_SERVER_PROCESS_H_
#define SOTTO_TESTS_TESTING_SERVER_PROCESS_H_

// Runs the real sotto-server binary for tests and for sotto-bench: the one
// launcher (header-only, POSIX).
//
//   auto server = sotto::testing::ServerProcess::Start();   // fresh data dir
//   ASSERT_TRUE(server.ok()) << server.status();
//   auto channel = grpc::CreateChannel((*server)->address(),
//                                      grpc::InsecureChannelCredentials());
//   (*server)->Kill();                 // SIGKILL: a crash
//   ASSERT_OK((*server)->Restart());   // same data dir, new port
//   ASSERT_OK((*server)->Stop());      // SIGTERM: graceful, expects exit 0
//
// The binary path defaults to the SOTTO_SERVER_BINARY compile definition
// (add `SOTTO_SERVER_BINARY="$<TARGET_FILE:sotto-server>"`). The server
// listens on 127.0.0.1:0; Start returns once it printed
// "sotto-server listening on HOST:PORT". The data directory is "data" in a
// fresh temporary directory, which also holds the server's key files
// (data.audit-key, data.code-pepper). The destructor kills a running server
// and deletes the temporary directory. Not thread-safe.
//
// With SOTTO_TEST_STORE=postgres (testing/store_switch.h), Start and StartOn
// also start a fresh real PostgreSQL and pass `--store URL` (unless
// `extra_args` name a --store already); it lives as long as the
// ServerProcess, so Restart finds its data again.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "testing/postgres_instance.h"
#include "testing/store_switch.h"

namespace sotto::testing {

#ifdef SOTTO_SERVER_BINARY
inline constexpr const char* kServerBinary = SOTTO_SERVER_BINARY;
#else
inline constexpr const char* kServerBinary = "sotto-server";
#endif

// What a one-shot run of the sotto-server binary printed and how it exited.
struct ServerCommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `sotto-server ARGS` (a subcommand such as enrol-therapist, or flags
// that make it exit) to completion; `args` is passed through the shell.
inline ServerCommandResult RunServerCommand(const std::string& args,
                                            const std::string& binary = kServerBinary) {
  ServerCommandResult run;
  std::string cmd = binary + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe) != nullptr) run.output += buf;
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// The flags that turn off every `--rate-*` limit `binary --help` lists
// (each "=0/0", as sotto-server documents), plus --log-level=warn so no
// request log is written per call: for load tests and sotto-bench, which
// drive many calls from a few devices on one address, what the abuse limits
// exist to stop.
inline std::vector<std::string> RateLimitsOffArgs(const std::string& binary = kServerBinary) {
  const std::string help = RunServerCommand("--help", binary).output;
  std::vector<std::string> args;
  for (size_t at = help.find("--rate-"); at != std::string::npos;
       at = help.find("--rate-", at + 1)) {
    size_t end = help.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-", at + 2);
    std::string arg = help.substr(at, end - at) + "=0/0";
    if (std::find(args.begin(), args.end(), arg) == args.end()) args.push_back(arg);
  }
  if (help.find("--log-level") != std::string::npos) args.push_back("--log-level=warn");
  return args;
}

// Issues an enrolment code for `handle` on `data_dir` as an operator would
// (`sotto-server enrol-therapist --quiet`) and returns it. INTERNAL with
// what the binary printed if it failed or printed anything but one code.
inline absl::StatusOr<std::string> IssueEnrolmentCode(const std::string& data_dir,
                                                      const std::string& handle,
                                                      const std::string& binary = kServerBinary) {
  ServerCommandResult run = RunServerCommand(
      "enrol-therapist --data-dir '" + data_dir + "' --name '" + handle + "' --quiet", binary);
  std::string code = run.output;
  while (!code.empty() && (code.back() == '\n' || code.back() == ' ')) code.pop_back();
  if (run.exit_code != 0 || code.empty() || code.find('\n') != std::string::npos) {
    return absl::InternalError("enrol-therapist failed: " + run.output);
  }
  return code;
}

class ServerProcess {
 public:
#ifdef SOTTO_SERVER_BINARY
  static constexpr const char* kDefaultBinary = SOTTO_SERVER_BINARY;
#else
  static constexpr const char* kDefaultBinary = "sotto-server";
#endif

  // Creates a fresh temporary data directory and starts the server on it.
  // `extra_args` follow --data-dir and --listen (e.g. {"--tls-cert", PATH,
  // "--tls-key", PATH}); they are passed again on Restart.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      std::string binary = kDefaultBinary, std::vector<std::string> extra_args = {}) {
    const char* tmp = getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/sotto-server-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError("mkdtemp failed: " + std::string(strerror(errno)));
    }
    std::unique_ptr<ServerProcess> server(new ServerProcess(std::move(binary), pattern));
    server->data_dir_ = pattern + "/data";
    server->extra_args_ = std::move(extra_args);
    absl::Status s = server->SwitchStore();
    if (s.ok()) s = server->Launch();
    if (!s.ok()) return s;
    return server;
  }

  // Starts the server on an existing `data_dir` (e.g. one restored from a
  // backup), with its key files beside it. The destructor leaves it.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> StartOn(
      std::string data_dir, std::string binary = kDefaultBinary,
      std::vector<std::string> extra_args = {}) {
    std::unique_ptr<ServerProcess> server(new ServerProcess(std::move(binary), ""));
    server->data_dir_ = std::move(data_dir);
    server->extra_args_ = std::move(extra_args);
    absl::Status s = server->SwitchStore();
    if (s.ok()) s = server->Launch();
    if (!s.ok()) return s;
    return server;
  }

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  ~ServerProcess() {
    Kill();
    std::error_code ec;
    if (!root_.empty()) std::filesystem::remove_all(root_, ec);
  }

  // The PostgreSQL the server stores in under SOTTO_TEST_STORE=postgres;
  // null on RocksDB.
  PostgresInstance* postgres() const { return postgres_.get(); }

  // The temporary directory holding data_dir() (empty for StartOn): room
  // for a test's other files, deleted with it.
  const std::string& root() const { return root_; }

  // "127.0.0.1:PORT" of the running server (the last one, once stopped).
  const std::string& address() const { return address_; }
  const std::string& data_dir() const { return data_dir_; }
  bool running() const { return pid_ > 0; }
  // The server's process id (for /proc/PID/...), or -1 when not running.
  pid_t pid() const { return pid_; }

  // SIGKILL and reap: the server gets no chance to flush anything. No-op if
  // not running.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    Reap();
  }

  // SIGTERM and wait up to `timeout` for a graceful exit. OK only if the
  // server exited with status 0; after the timeout it is killed
  // (DEADLINE_EXCEEDED).
  absl::Status Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (pid_ <= 0) return absl::FailedPreconditionError("server is not running");
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        Closed();
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
        return absl::InternalError("sotto-server exited abnormally, status " +
                                   std::to_string(status));
      }
      usleep(10000);
    }
    Kill();
    return absl::DeadlineExceededError("sotto-server did not stop after SIGTERM");
  }

  // Starts the server again on the same data directory (killing it first if
  // it is still running). The port may change: read address() again. With
  // `same_address`, it listens where it did before, so that clients holding
  // the old address reconnect by themselves (as after a real restart).
  absl::Status Restart(bool same_address = false) {
    Kill();
    return Launch(same_address ? address_ : "127.0.0.1:0");
  }

 private:
  ServerProcess(std::string binary, std::string root)
      : binary_(std::move(binary)), root_(std::move(root)) {}

  // Under SOTTO_TEST_STORE=postgres, a fresh PostgreSQL and `--store URL`.
  absl::Status SwitchStore() {
    if (!TestStoreIsPostgres()) return absl::OkStatus();
    if (std::find(extra_args_.begin(), extra_args_.end(), "--store") != extra_args_.end()) {
      return absl::OkStatus();
    }
    absl::StatusOr<std::unique_ptr<PostgresInstance>> pg = PostgresInstance::Start();
    if (!pg.ok()) return pg.status();
    postgres_ = *std::move(pg);
    extra_args_.push_back("--store");
    extra_args_.push_back(postgres_->url());
    return absl::OkStatus();
  }

  absl::Status Launch(const std::string& listen = "127.0.0.1:0") {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
    // Built before fork: the child only execs.
    std::vector<std::string> args = {binary_, "--data-dir", data_dir_, "--listen", listen};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) return absl::InternalError("fork failed");
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      execv(binary_.c_str(), argv.data());
      _exit(127);
    }
    close(fds[1]);
    pid_ = pid;
    stdout_fd_ = fds[0];
    return AwaitListening();
  }

  absl::Status AwaitListening() {
    static constexpr char kPrefix[] = "sotto-server listening on ";
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_fd_, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buf[256];
        ssize_t n = read(stdout_fd_, buf, sizeof(buf));
        if (n <= 0) break;  // The server exited.
        out.append(buf, static_cast<size_t>(n));
        size_t nl = out.find('\n');
        if (nl != std::string::npos) {
          std::string line = out.substr(0, nl);
          if (line.rfind(kPrefix, 0) != 0) {
            Kill();
            return absl::InternalError("unexpected sotto-server output: " + line);
          }
          address_ = line.substr(sizeof(kPrefix) - 1);
          return absl::OkStatus();
        }
      }
    }
    Kill();
    return absl::UnavailableError("sotto-server did not report listening; output: " + out);
  }

  void Reap() {
    int status = 0;
    waitpid(pid_, &status, 0);
    Closed();
  }

  void Closed() {
    pid_ = -1;
    if (stdout_fd_ >= 0) close(stdout_fd_);
    stdout_fd_ = -1;
  }

  std::string binary_;
  // Under SOTTO_TEST_STORE=postgres; outlives the server (~ServerProcess
  // kills the server first).
  std::unique_ptr<PostgresInstance> postgres_;
  std::vector<std::string> extra_args_;
  std::string root_;  // the temporary directory: data_dir_ and the key files
  std::string data_dir_;
  std::string address_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
};

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_SERVER_PROCESS_H_

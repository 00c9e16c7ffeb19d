#include "agent/agent_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <sstream>
#include <streambuf>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/protocol.h"
#include "io.h"
#include "options.h"
#include "run.h"
#include "secret.h"

namespace sotto::cli::agent {
namespace {

// The caller's stdout or stderr: what the command writes, sent as frames of
// `type`. Output is kept until a flush (or 8 KiB), so a table is one frame;
// `before` (stderr's) flushes stdout first, so the caller sees both in the
// order they were written.
class FrameBuf final : public std::streambuf {
 public:
  FrameBuf(int fd, char type, bool* broken, FrameBuf* before)
      : fd_(fd), type_(type), broken_(broken), before_(before) {}

  void Flush() {
    if (before_ != nullptr) before_->Flush();
    if (!buffer_.empty() && !*broken_ && !WriteFrame(fd_, type_, buffer_).ok()) *broken_ = true;
    buffer_.clear();
  }

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) Append(&c, 1);
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    buffer_.append(s, static_cast<size_t>(n));
    if (buffer_.size() >= 8192) Flush();
    return n;
  }
  int sync() override {
    Flush();
    return 0;
  }

 private:
  void Append(const int_type* c, int) {
    buffer_.push_back(traits_type::to_char_type(*c));
    if (buffer_.size() >= 8192) Flush();
  }

  const int fd_;
  const char type_;
  bool* const broken_;
  FrameBuf* const before_;
  std::string buffer_;
};

struct Connection {
  int fd;
  bool broken = false;
};

bool Gone(const Caller& caller) {
  const auto* connection = static_cast<const Connection*>(caller.connection);
  if (connection->broken) return true;
  pollfd p{connection->fd, POLLRDHUP, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

// The caller's zone: its TZ, else the system's (/etc/localtime), never the
// agent's own TZ.
absl::TimeZone ZoneOf(const Caller& caller) {
  absl::TimeZone zone;
  auto tz = caller.env.find("TZ");
  const std::string name =
      tz == caller.env.end() ? "localtime" : std::string(absl::StripPrefix(tz->second, ":"));
  if (absl::LoadTimeZone(name.empty() ? "UTC" : name, &zone)) return zone;
  return absl::UTCTimeZone();
}

absl::Status CheckProfileDir(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " is not a directory"));
  }
  if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the profile directory ", dir,
                     " must belong to you and be private (chmod 700) before the agent's socket "
                     "goes there"));
  }
  return absl::OkStatus();
}

// OK when no agent answers on `path` (a stale socket file is removed).
absl::Status ClaimSocketPath(const std::string& path) {
  absl::StatusOr<int> fd = Connect(path);
  if (fd.ok()) {
    ucred peer{};
    socklen_t size = sizeof(peer);
    getsockopt(*fd, SOL_SOCKET, SO_PEERCRED, &peer, &size);
    close(*fd);
    return absl::AlreadyExistsError(absl::StrCat("another sotto agent (pid ", peer.pid,
                                                 ") already serves this profile on ", path));
  }
  if (absl::IsNotFound(fd.status())) return absl::OkStatus();
  if (!absl::IsUnavailable(fd.status())) return fd.status();
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " exists and is not a socket; remove it"));
  }
  unlink(path.c_str());  // stale: its agent is gone
  return absl::OkStatus();
}

// A listening socket at `path`, created owner-only.
absl::StatusOr<int> Listen(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  // bind creates the file with the umask's mode: 0600 from the start (the
  // chmod after is for a umask changed by another thread meanwhile).
  const mode_t old_umask = umask(0177);
  const int bound = bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  const int bind_error = errno;
  umask(old_umask);
  if (bound != 0 || chmod(path.c_str(), 0600) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot listen on ", path, ": ", std::strerror(bound != 0 ? bind_error : errno)));
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AgentServer>> AgentServer::Start(const std::string& profile_dir,
                                                                Client* client, Options options) {
  if (absl::Status s = CheckProfileDir(profile_dir); !s.ok()) return s;
  const std::string path = SocketPath(profile_dir);
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the agent socket path ", path, " is too long for a Unix socket; use a shorter --profile"));
  }
  if (absl::Status s = ClaimSocketPath(path); !s.ok()) return s;
  absl::StatusOr<int> fd = Listen(path);
  if (!fd.ok()) return fd.status();
  struct stat st {};
  stat(path.c_str(), &st);
  int wake[2];
  if (pipe2(wake, O_CLOEXEC) != 0) {
    close(*fd);
    unlink(path.c_str());
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  std::unique_ptr<AgentServer> server(
      new AgentServer(path, client, std::move(options), *fd, wake, st.st_ino));
  server->accept_thread_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

AgentServer::AgentServer(std::string socket_path, Client* client, Options options, int listen_fd,
                         const int wake_fds[2], ino_t socket_inode)
    : socket_path_(std::move(socket_path)),
      client_(client),
      options_(std::move(options)),
      listen_fd_(listen_fd),
      wake_read_fd_(wake_fds[0]),
      wake_write_fd_(wake_fds[1]),
      socket_inode_(socket_inode) {}

AgentServer::~AgentServer() { Stop(); }

void AgentServer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      // Another Stop runs or ran: wait for it to finish.
      mu_.Await(absl::Condition(&stopped_));
      return;
    }
    stopping_ = true;
  }
  const char byte = 0;
  (void)!write(wake_write_fd_, &byte, 1);
  if (accept_thread_.joinable()) accept_thread_.join();
  {
    absl::MutexLock lock(&mu_);
    // Hang up on every caller: their writes fail, CallerGone() turns true.
    for (int fd : connections_) shutdown(fd, SHUT_RDWR);
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return running_ == 0; };
    mu_.Await(absl::Condition(&idle));
  }
  close(listen_fd_);
  close(wake_read_fd_);
  close(wake_write_fd_);
  // Remove the socket only if it is still ours (not a new agent's).
  struct stat st;
  if (lstat(socket_path_.c_str(), &st) == 0 && st.st_ino == socket_inode_) {
    unlink(socket_path_.c_str());
  }
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

void AgentServer::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;  // Stop
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ucred peer{};
    socklen_t size = sizeof(peer);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || peer.uid != geteuid()) {
      // Not this user: the socket's 0600 mode should have stopped it
      // (root, or a mode changed by hand). Its process learns nothing.
      std::cerr << "sotto agent: refused a connection from uid " << peer.uid << " (pid " << peer.pid
                << "): only uid " << geteuid() << " may use " << socket_path_ << "\n";
      close(fd);
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      connections_.push_back(fd);
      ++running_;
    }
    std::thread([this, fd] {
      Serve(fd);
      Untrack(fd);
    }).detach();
  }
}

void AgentServer::Untrack(int fd) {
  absl::MutexLock lock(&mu_);
  connections_.erase(std::find(connections_.begin(), connections_.end(), fd));
  close(fd);
  --running_;
}

void AgentServer::Serve(int fd) {
  absl::StatusOr<Frame> request = ReadFrame(fd);
  if (!request.ok()) return;
  switch (request->type) {
    case kRun:
      Run(fd, request->payload);
      Wipe(request->payload);  // env passphrases, a letter's body
      return;
    case kStatus: {
      const bool therapist = client_->role() == Role::kTherapist;
      (void)WriteFrame(fd, kInfo,
                       EncodePairs({{"handle", client_->handle()},
                                    {"role", therapist ? "therapist" : "client"},
                                    {"server", std::string(client_->server_address())},
                                    {"locked", client_->IsLocked() ? "1" : "0"}}));
      return;
    }
    case kUnlock: {
      absl::Status s =
          options_.unlock ? options_.unlock(request->payload) : client_->Unlock(request->payload);
      Wipe(request->payload);
      (void)(s.ok() ? WriteFrame(fd, kExit, "0") : WriteFrame(fd, kFailed, EncodeStatus(s)));
      return;
    }
    case kQuit:
      if (!options_.on_stop_request) {
        (void)WriteFrame(fd, kFailed,
                         EncodeStatus(absl::FailedPreconditionError(
                             "this agent runs inside another program (sotto desk); stop that")));
        return;
      }
      (void)WriteFrame(fd, kExit, "0");
      options_.on_stop_request();
      return;
    default:
      (void)WriteFrame(fd, kFailed,
                       EncodeStatus(absl::InvalidArgumentError(absl::StrCat(
                           "agent socket: unknown request type '", std::string(1, request->type),
                           "' (a sotto of another version?)"))));
  }
}

void AgentServer::Run(int fd, const std::string& request) {
  absl::StatusOr<Pairs> pairs = DecodePairs(request);
  if (!pairs.ok()) {
    (void)WriteFrame(fd, kFailed, EncodeStatus(pairs.status()));
    return;
  }
  Connection connection{fd};
  FrameBuf out_buf(fd, kStdout, &connection.broken, nullptr);
  FrameBuf err_buf(fd, kStderr, &connection.broken, &out_buf);
  std::ostream out(&out_buf);
  std::ostream err(&err_buf);
  err.setf(std::ios::unitbuf);  // as stderr: at once
  std::istringstream in;
  Caller caller;
  std::vector<std::string> args;
  for (auto& [key, value] : *pairs) {
    if (key == "arg") {
      args.push_back(std::move(value));
    } else if (key == "cwd") {
      caller.cwd = std::move(value);
    } else if (key == "stdin") {
      in.str(std::move(value));
    } else if (key == "stdin_tty") {
      caller.stdin_is_terminal = value == "1";
    } else if (key == "stdout_tty") {
      caller.stdout_is_terminal = value == "1";
    } else if (key == "env") {
      const size_t eq = value.find('=');
      if (eq != std::string::npos) caller.env[value.substr(0, eq)] = value.substr(eq + 1);
      Wipe(value);  // passwd's passphrases travel here
    }
  }
  caller.out = &out;
  caller.err = &err;
  caller.in = &in;
  caller.zone = ZoneOf(caller);
  caller.client = client_;
  caller.lock = options_.lock;
  caller.caller_gone = &Gone;
  caller.connection = &connection;
  int code;
  bool account_deleted = false;
  {
    ScopedCaller scope(&caller);
    CLI::App app;
    ConfigureApp(app);
    Context context(app);
    RegisterCommands(app, context);
    code = ParseAndRun(app, context, std::move(args));
    account_deleted = code == 0 && !app.get_subcommands().empty() &&
                      app.get_subcommands().front()->get_name() == "delete-account";
    out_buf.Flush();
    err_buf.Flush();
  }
  for (auto& entry : caller.env) Wipe(entry.second);
  if (options_.after_run) options_.after_run();
  if (code == kExitLocked) {
    (void)WriteFrame(fd, kLocked, "");
  } else {
    (void)WriteFrame(fd, kExit, absl::StrCat(code));
  }
  // The Client is unusable and the profile wiped: nothing left to serve.
  if (account_deleted && options_.on_stop_request) options_.on_stop_request();
}

}  // namespace sotto::cli::agent

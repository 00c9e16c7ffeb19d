// sotto — the front (issue 18: a warm command through the agent in under
// 100 ms). The full CLI (`sotto-cli`, cli/main.cc) loads ~75 shared
// libraries (gRPC, protobuf, RocksDB, Abseil, libsignal, OpenSSL) and runs
// their static initializers before main: tens of milliseconds that a
// command the agent runs never needs. This binary links nothing but libc
// and libstdc++. For the commands on its short list, when an agent
// (`sotto agent`, `sotto desk`) answers on the profile's socket, it sends
// the command line there itself (the frames of cli/agent/protocol.h, the
// request cli/agent/forward.cc would send) and prints the answer. For
// everything else — no agent, any other command or flag, help, a locked
// session (the full CLI asks for the passphrase and unlocks), a request the
// agent refused — it execs the full CLI with the same arguments, before
// anything has run, so the result is exactly the full CLI's.

#include <errno.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr uint32_t kMaxFrameBytes = 16u << 20;  // as cli/agent/protocol.h

// Where the full CLI is: beside this binary (the build tree), or at
// SOTTO_FULL_CLI from this binary's directory (installed: CMake sets it,
// ../libexec/sotto/sotto-cli). argv goes to it unchanged.
[[noreturn]] void ExecFull(char** argv) {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0 || self[0] != '/') {
    // Never a path relative to the working directory: whoever owns it would
    // choose the program that gets the passphrase.
    std::fprintf(stderr,
                 "sotto: cannot find the full sotto next to this one (/proc/self/exe: %s); run "
                 "sotto-cli from the installation's libexec/sotto directory instead\n",
                 n <= 0 ? std::strerror(errno) : "not an absolute path");
    _exit(1);
  }
  self[n] = '\0';
  std::string dir(self);
  dir.erase(dir.rfind('/'));
  const std::string beside = dir + "/sotto-cli";
  const std::string installed = dir + "/" SOTTO_FULL_CLI;
  execv(beside.c_str(), argv);
  execv(installed.c_str(), argv);
  std::fprintf(stderr, "sotto: cannot run the full sotto (%s or %s): %s\n", beside.c_str(),
               installed.c_str(), std::strerror(errno));
  _exit(1);
}

void PutU32(std::string& out, uint32_t n) {
  const char bytes[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                         static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(bytes, 4);
}

void PutPair(std::string& out, const std::string& key, const std::string& value) {
  PutU32(out, static_cast<uint32_t>(key.size()));
  out += key;
  PutU32(out, static_cast<uint32_t>(value.size()));
  out += value;
}

bool ReadAll(int fd, char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool WriteAll(int fd, const char* data, size_t size, int flags) {
  while (size > 0) {
    const ssize_t n = flags != 0 ? send(fd, data, size, flags) : write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// What the short list may forward without the full CLI's preparation: the
// command needs nothing from this terminal (no body to type, no passphrase
// to ask) and, for `send`, no flag but --at.
bool Forwardable(const std::vector<std::string>& args, size_t command_at) {
  static const char* const kCommands[] = {"inbox",     "read",   "queue", "links",
                                          "scheduled", "drafts", "lock",  "send"};
  const std::string& name = args[command_at];
  bool listed = false;
  for (const char* c : kCommands) listed = listed || name == c;
  if (!listed) return false;
  size_t positionals = 0;
  bool text_ok = true;
  for (size_t i = command_at + 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help" || a == "--help-all" || a == "--") return false;
    if (name == "send") {
      if (a == "--at") {
        ++i;  // its value
        continue;
      }
      if (a.rfind("--at=", 0) == 0) continue;
      if (!a.empty() && a[0] == '-') return false;  // --team, '-' (stdin), ...
      ++positionals;
      if (positionals == 2) text_ok = !a.empty();
    }
  }
  // `send USER TEXT`: the text is on the command line, nothing to read.
  return name != "send" || (positionals == 2 && text_ok);
}

std::string AbsoluteDir(const std::string& dir) {
  if (!dir.empty() && dir[0] == '/') return dir;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == nullptr) return dir;
  return std::string(cwd) + "/" + dir;
}

// The connected socket of this user's agent on `dir`, or -1.
int ConnectToOwnAgent(const std::string& dir) {
  const std::string path = dir + "/agent.sock";
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return -1;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  ucred peer{};
  socklen_t size = sizeof(peer);
  // Another user's socket: the full CLI says so (and sends it nothing).
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || peer.uid != geteuid()) {
    close(fd);
    return -1;
  }
  return fd;
}

// The run request, as cli/agent/forward.cc's Prepare makes it for a
// command with no body.
std::string RunRequest(const std::vector<std::string>& args) {
  std::string pairs;
  char cwd[PATH_MAX];
  PutPair(pairs, "cwd", getcwd(cwd, sizeof cwd) != nullptr ? cwd : "/");
  PutPair(pairs, "stdin_tty", isatty(STDIN_FILENO) ? "1" : "0");
  PutPair(pairs, "stdout_tty", isatty(STDOUT_FILENO) ? "1" : "0");
  for (const char* name : {"TZ", "SOTTO_ALLOW_WEAK_PASSPHRASE", "SOTTO_PROFILE", "HOME"}) {
    if (const char* value = std::getenv(name))
      PutPair(pairs, "env", std::string(name) + "=" + value);
  }
  for (const std::string& a : args) PutPair(pairs, "arg", a);
  PutPair(pairs, "stdin", "");
  std::string frame;
  PutU32(frame, static_cast<uint32_t>(pairs.size() + 1));
  frame.push_back('r');
  frame += pairs;
  return frame;
}

// Sends the run and prints the answer; returns the exit status. Execs the
// full CLI when the agent ran nothing (locked, refused).
int Run(int fd, const std::vector<std::string>& args, char** argv) {
  const std::string request = RunRequest(args);
  if (!WriteAll(fd, request.data(), request.size(), MSG_NOSIGNAL)) {
    close(fd);
    ExecFull(argv);  // it hung up before reading: nothing ran
  }
  std::string body;
  for (;;) {
    char header[4];
    if (!ReadAll(fd, header, 4)) break;
    const auto* u = reinterpret_cast<const unsigned char*>(header);
    const uint32_t length =
        (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
    if (length == 0 || length > kMaxFrameBytes) break;
    body.assign(length, '\0');
    if (!ReadAll(fd, body.data(), length)) break;
    const char type = body[0];
    const char* payload = body.data() + 1;
    const size_t size = length - 1;
    if (type == 'o' || type == 'e') {
      if (type == 'e') std::fflush(stdout);
      WriteAll(type == 'o' ? STDOUT_FILENO : STDERR_FILENO, payload, size, 0);
      std::memset(body.data(), 0, body.size());  // message text
      continue;
    }
    close(fd);
    if (type == 'x') return std::atoi(std::string(payload, size).c_str());
    ExecFull(argv);  // 'l' locked or 'f' refused: nothing ran
  }
  close(fd);
  std::fprintf(stderr, "sotto: the sotto agent hung up before the command finished\n");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // As the full CLI: message text passes through here.
  rlimit none{0, 0};
  setrlimit(RLIMIT_CORE, &none);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  const std::vector<std::string> args(argv + 1, argv + argc);
  // Global flags: only --profile (and --verbose) on the short path.
  std::string profile;
  size_t at = 0;
  while (at < args.size()) {
    if (args[at] == "--profile" && at + 1 < args.size()) {
      profile = args[at + 1];
      at += 2;
    } else if (args[at].rfind("--profile=", 0) == 0) {
      profile = args[at].substr(10);
      ++at;
    } else if (args[at] == "--verbose") {
      ++at;
    } else {
      break;
    }
  }
  if (at >= args.size() || !Forwardable(args, at)) ExecFull(argv);
  if (profile.empty()) {
    const char* env = std::getenv("SOTTO_PROFILE");
    const char* home = std::getenv("HOME");
    profile = env != nullptr && *env != '\0'
                  ? env
                  : (home != nullptr && *home != '\0' ? std::string(home) + "/.sotto" : ".sotto");
  }
  const int fd = ConnectToOwnAgent(AbsoluteDir(profile));
  if (fd < 0) ExecFull(argv);
  return Run(fd, args, argv);
}

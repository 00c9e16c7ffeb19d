#include "agent/protocol.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "secret.h"

namespace sotto::cli::agent {
namespace {

void PutU32(std::string& out, uint32_t n) {
  const char bytes[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                         static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(bytes, 4);
}

uint32_t GetU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

absl::Status WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError("the other side of the agent socket hung up");
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status ReadAll(int fd, char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError("the agent socket closed mid-answer");
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFrame(int fd, char type, absl::string_view payload) {
  std::string frame;
  frame.reserve(5 + payload.size());
  PutU32(frame, static_cast<uint32_t>(payload.size() + 1));
  frame.push_back(type);
  frame.append(payload.data(), payload.size());
  absl::Status written = WriteAll(fd, frame.data(), frame.size());
  Wipe(frame);  // a frame may carry a passphrase or a letter's text
  return written;
}

absl::StatusOr<Frame> ReadFrame(int fd) {
  char header[4];
  if (absl::Status s = ReadAll(fd, header, 4); !s.ok()) return s;
  const uint32_t length = GetU32(header);
  if (length == 0 || length > kMaxFrameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("agent socket: a frame of ", length, " bytes (at most ", kMaxFrameBytes, ")"));
  }
  std::string body(length, '\0');
  if (absl::Status s = ReadAll(fd, body.data(), length); !s.ok()) return s;
  Frame frame;
  frame.type = body[0];
  body.erase(0, 1);  // in place: no second copy of what may be a passphrase
  frame.payload = std::move(body);
  return frame;
}

std::string EncodePairs(const Pairs& pairs) {
  std::string out;
  for (const auto& [key, value] : pairs) {
    PutU32(out, static_cast<uint32_t>(key.size()));
    out += key;
    PutU32(out, static_cast<uint32_t>(value.size()));
    out += value;
  }
  return out;
}

absl::StatusOr<Pairs> DecodePairs(absl::string_view payload) {
  Pairs pairs;
  auto take = [&payload](std::string& out) {
    if (payload.size() < 4) return false;
    const uint32_t n = GetU32(payload.data());
    if (payload.size() - 4 < n) return false;
    out.assign(payload.data() + 4, n);
    payload.remove_prefix(4 + n);
    return true;
  };
  while (!payload.empty()) {
    std::pair<std::string, std::string> pair;
    if (!take(pair.first) || !take(pair.second)) {
      return absl::InvalidArgumentError("agent socket: a request cut short");
    }
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

std::string EncodeStatus(const absl::Status& status) {
  return absl::StrCat(static_cast<int>(status.code()), ":", status.message());
}

absl::Status DecodeStatus(absl::string_view payload) {
  const size_t colon = payload.find(':');
  int code = static_cast<int>(absl::StatusCode::kUnknown);
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(payload.substr(0, colon), &code) ||
      code <= 0 || code > 16) {
    return absl::UnknownError(absl::StrCat("the agent answered: ", payload));
  }
  return absl::Status(static_cast<absl::StatusCode>(code), payload.substr(colon + 1));
}

std::string SocketPath(const std::string& profile_dir) {
  return absl::StrCat(profile_dir, "/agent.sock");
}

absl::StatusOr<int> Connect(const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("the agent socket path ", socket_path,
                                                   " is longer than a Unix socket allows (",
                                                   sizeof(address.sun_path) - 1, " bytes)"));
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    close(fd);
    if (error == ENOENT) return absl::NotFoundError(absl::StrCat("no agent socket ", socket_path));
    return absl::UnavailableError(
        absl::StrCat("no agent answers on ", socket_path, ": ", std::strerror(error)));
  }
  return fd;
}

absl::StatusOr<int> ConnectToOwnAgent(const std::string& socket_path) {
  absl::StatusOr<int> fd = Connect(socket_path);
  if (!fd.ok()) return fd;
  ucred peer{};
  socklen_t size = sizeof(peer);
  if (getsockopt(*fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || peer.uid != geteuid()) {
    close(*fd);
    return absl::PermissionDeniedError(absl::StrCat(
        "the agent socket ", socket_path, " is served by uid ", peer.uid, " (pid ", peer.pid,
        "), not by you; nothing was sent to it. Remove the socket file if you did not start it"));
  }
  return fd;
}

}  // namespace sotto::cli::agent

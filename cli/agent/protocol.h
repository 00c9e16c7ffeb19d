#ifndef SOTTO_CLI_AGENT_PROTOCOL_H_
#define SOTTO_CLI_AGENT_PROTOCOL_H_

// The agent socket's wire format (docs/DESK.md, "The agent socket"): frames
// of a 4-byte big-endian length, then a type byte and the payload (the
// length counts both). One request per connection; the agent answers with
// any number of output frames and one final frame.
//
// A RUN request's payload is a list of key/value pairs, each string a
// 4-byte big-endian length and its bytes: "cwd", "stdin_tty", "stdout_tty"
// ("0"/"1"), "env" (NAME=VALUE, repeated), "arg" (repeated, in order),
// "stdin" (the bytes forwarded). Unknown keys are ignored.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::cli::agent {

// Requests (thin client → agent).
inline constexpr char kRun = 'r';     // a command line: payload as above
inline constexpr char kUnlock = 'u';  // payload: the passphrase
inline constexpr char kStatus = 's';  // payload empty
inline constexpr char kQuit = 'q';    // `sotto agent --stop`; payload empty

// Answers (agent → thin client).
inline constexpr char kStdout = 'o';  // bytes for the caller's stdout
inline constexpr char kStderr = 'e';  // bytes for the caller's stderr
inline constexpr char kExit = 'x';    // final: the exit status, decimal
inline constexpr char kLocked = 'l';  // final: unlock, then send the request again
inline constexpr char kFailed = 'f';  // final: "<absl code number>:<message>"
inline constexpr char kInfo = 'i';    // final, to kStatus: key/value pairs

// Larger frames are refused: a letter is at most a few hundred KiB.
inline constexpr uint32_t kMaxFrameBytes = 16 << 20;

struct Frame {
  char type = 0;
  std::string payload;
};

// Writes one frame to `fd`, whole (retrying short writes, no SIGPIPE).
// UNAVAILABLE when the other side is gone.
absl::Status WriteFrame(int fd, char type, absl::string_view payload);
// Reads one frame. UNAVAILABLE at end of stream or on error,
// INVALID_ARGUMENT for a frame over kMaxFrameBytes or empty.
absl::StatusOr<Frame> ReadFrame(int fd);

using Pairs = std::vector<std::pair<std::string, std::string>>;
std::string EncodePairs(const Pairs& pairs);
// INVALID_ARGUMENT when `payload` is cut short.
absl::StatusOr<Pairs> DecodePairs(absl::string_view payload);

// "<code>:<message>" for kFailed, and back.
std::string EncodeStatus(const absl::Status& status);
absl::Status DecodeStatus(absl::string_view payload);

// DIR/agent.sock.
std::string SocketPath(const std::string& profile_dir);

// A connected socket to the agent at `socket_path`; NOT_FOUND when no file
// is there, UNAVAILABLE when nothing listens (a stale file),
// INVALID_ARGUMENT when the path is too long for a Unix socket.
absl::StatusOr<int> Connect(const std::string& socket_path);
// Connect, for a thin client about to hand over a command (and maybe a
// passphrase or a letter): PERMISSION_DENIED, naming the uid, when the
// process listening there is not one of this user's.
absl::StatusOr<int> ConnectToOwnAgent(const std::string& socket_path);

}  // namespace sotto::cli::agent

#endif  // SOTTO_CLI_AGENT_PROTOCOL_H_

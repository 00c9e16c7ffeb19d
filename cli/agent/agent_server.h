#ifndef SOTTO_CLI_AGENT_AGENT_SERVER_H_
#define SOTTO_CLI_AGENT_AGENT_SERVER_H_

// AgentServer — one unlocked session that every `sotto` command on the same
// profile shares (issue 18), as ssh-agent holds keys for ssh.
//
// The process that owns a profile's open sotto::Client (`sotto agent`,
// `sotto desk`) starts an AgentServer on it. The server listens on the Unix
// socket PROFILE_DIR/agent.sock; a thin `sotto` forwards its whole command
// line there (cli/agent/forward.h) and the server runs the same command code
// in-process against the shared Client, streaming the caller's stdout and
// stderr back, then the exit status. So a command answers without deriving
// the store key again, and the profile is no longer "held by another
// process" while the agent runs.
//
// Who may connect: only processes of this user. The profile directory must
// be owner-only (0700), the socket is created 0600, and each connection's
// peer credentials (SO_PEERCRED) must name our effective uid; any other is
// closed at once and logged on stderr.
//
// Locking stays the Client's: its auto-lock (OpenOptions::auto_lock_after)
// or `sotto lock`; a command sent while it is locked is answered "locked",
// and the thin client asks for the passphrase and sends an unlock.
//
// Thread safety: Start and Stop from one thread; each connection is served
// on a thread of its own, concurrently (the Client is thread-safe).

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "sotto/client.h"

namespace sotto::cli::agent {

class AgentServer {
 public:
  struct Options {
    // Called (on a connection thread) when `sotto agent --stop` asks this
    // agent to end, or after a forwarded delete-account succeeded (the
    // Client is then unusable): the owner should call Stop soon, from its
    // own thread.
    // Unset: such a request is refused ("stop the process that runs it").
    std::function<void()> on_stop_request;
    // How a caller's unlock (the passphrase it sent) and `sotto lock` reach
    // the Client; unset: Client::Unlock and Client::Lock. The desk passes
    // its own, so its page hears of the change.
    std::function<absl::Status(const std::string& passphrase)> unlock;
    std::function<absl::Status()> lock;
    // Called (on the connection thread) after each forwarded command ran,
    // before its caller is told it ended: the desk re-reads the settings it
    // shows (`sotto settings --read-receipts off` changed them behind it).
    std::function<void()> after_run;
  };

  // Listens on `profile_dir`/agent.sock for commands to run on `client`,
  // which must be open on that profile and outlive the server (the owner
  // keeps it). Returns once the socket accepts connections.
  // FAILED_PRECONDITION when `profile_dir` is not a directory owned by this
  // user with no group/other access; ALREADY_EXISTS (naming the pid) when
  // another live agent answers on the socket; INVALID_ARGUMENT when the
  // socket path is too long for a Unix socket (about 100 bytes). A stale
  // socket file (nothing answers) is replaced.
  static absl::StatusOr<std::unique_ptr<AgentServer>> Start(const std::string& profile_dir,
                                                            Client* client,
                                                            Options options = Options());

  AgentServer(const AgentServer&) = delete;
  AgentServer& operator=(const AgentServer&) = delete;
  // Stop()s.
  ~AgentServer();

  // Stops accepting, hangs up on every caller (a running `sync --wait`
  // ends; a command in the middle of a call to the server finishes it),
  // waits for the connection threads and removes the socket file (if it is
  // still ours). Idempotent.
  void Stop();

  const std::string& socket_path() const { return socket_path_; }

 private:
  AgentServer(std::string socket_path, Client* client, Options options, int listen_fd,
              const int wake_fds[2], ino_t socket_inode);
  void AcceptLoop();
  void Serve(int fd);
  void Run(int fd, const std::string& request);
  // Forgets and closes a caller's connection once served.
  void Untrack(int fd) ABSL_LOCKS_EXCLUDED(mu_);

  const std::string socket_path_;
  Client* const client_;
  const Options options_;
  const int listen_fd_;
  const int wake_read_fd_;  // poll()ed with listen_fd_; readable at Stop
  const int wake_write_fd_;
  const ino_t socket_inode_;  // of our socket file, so Stop removes only ours
  std::thread accept_thread_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int> connections_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;  // connection threads alive
};

}  // namespace sotto::cli::agent

#endif  // SOTTO_CLI_AGENT_AGENT_SERVER_H_

#include "terminal.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <istream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "io.h"
#include "secret.h"

namespace sotto::cli {
namespace {

// Longer passphrases are refused: the line is read into a buffer reserved
// up front, so that it never moves and leaves a copy in freed memory.
constexpr size_t kMaxPassphraseBytes = 1024;

// Reads a line from the terminal without echo, unbuffered (stdio would keep
// a copy of the line in the FILE's buffer).
absl::StatusOr<std::string> Prompt(const std::string& question) {
  // The agent's terminal (if it has one) is not the caller's: the thin
  // client asks and forwards what it needed (passwd's passphrases).
  if (CurrentCaller() != nullptr) {
    return absl::FailedPreconditionError(
        "the sotto agent cannot ask at the caller's terminal; set SOTTO_PASSPHRASE");
  }
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (tty == nullptr) {
    return absl::FailedPreconditionError(
        "no terminal to ask for the passphrase; set SOTTO_PASSPHRASE");
  }
  std::setvbuf(tty, nullptr, _IONBF, 0);
  std::fputs(question.c_str(), tty);
  std::fflush(tty);
  termios old_settings;
  const bool is_tty = tcgetattr(fileno(tty), &old_settings) == 0;
  if (is_tty) {
    termios quiet = old_settings;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
  }
  std::string line;
  line.reserve(kMaxPassphraseBytes + 1);
  bool too_long = false;
  for (int c = std::fgetc(tty); c != EOF && c != '\n'; c = std::fgetc(tty)) {
    if (line.size() < kMaxPassphraseBytes) {
      line.push_back(static_cast<char>(c));
    } else {
      too_long = true;
    }
  }
  if (is_tty) tcsetattr(fileno(tty), TCSAFLUSH, &old_settings);
  std::fputs("\n", tty);
  std::fclose(tty);
  if (too_long) {
    Wipe(line);
    return absl::InvalidArgumentError(
        absl::StrCat("the passphrase is longer than ", kMaxPassphraseBytes, " bytes"));
  }
  return line;
}

}  // namespace

absl::StatusOr<std::string> AskRecoveryKey() {
  absl::StatusOr<std::string> key = Prompt("Recovery key (the 40 digits written down): ");
  if (key.status().code() == absl::StatusCode::kFailedPrecondition) {
    return absl::FailedPreconditionError(
        "no terminal to ask for the recovery key; use --recovery-key-file FILE or set "
        "SOTTO_RECOVERY_KEY");
  }
  return key;
}

namespace {

bool IsWritableDir(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && access(path, W_OK | X_OK) == 0;
}

// Overwrites a file with zeros before unlinking it: on tmpfs this frees the
// pages with nothing readable in them; on a disk it is the best we can do.
void WipeAndRemove(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      const std::vector<char> zeros(4096, 0);
      for (off_t done = 0; done < st.st_size;) {
        const size_t chunk = static_cast<size_t>(
            std::min<off_t>(st.st_size - done, static_cast<off_t>(zeros.size())));
        const ssize_t n = write(fd, zeros.data(), chunk);
        if (n <= 0) break;
        done += n;
      }
      fsync(fd);
    }
    close(fd);
  }
  unlink(path.c_str());
}

// Owns the private directory of one editing session and empties it on every
// way out.
class ScratchDir {
 public:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    // Editors leave company: vim's .swp, emacs' #file# and file~.
    if (DIR* dir = opendir(path_.c_str())) {
      std::vector<std::string> names;
      while (const dirent* entry = readdir(dir)) {
        const std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(name);
      }
      closedir(dir);
      for (const std::string& name : names) WipeAndRemove(absl::StrCat(path_, "/", name));
    }
    rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
};

// Runs `editor file` through the shell, so EDITOR may carry arguments
// ("code --wait"), and waits for it. Returns its exit status.
absl::StatusOr<int> RunEditor(const std::string& editor, const std::string& file) {
  // Ctrl-C belongs to the editor while it runs, as with git.
  struct sigaction ignore {
  }, old_int{}, old_quit{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, &old_int);
  sigaction(SIGQUIT, &ignore, &old_quit);
  const pid_t pid = fork();
  if (pid == 0) {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
    const std::string command = editor + " \"$1\"";
    execl("/bin/sh", "sh", "-c", command.c_str(), "sh", file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  pid_t waited = -1;
  if (pid > 0) {
    do {
      waited = waitpid(pid, &status, 0);
    } while (waited < 0 && errno == EINTR);
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGQUIT, &old_quit, nullptr);
  if (pid < 0 || waited < 0) {
    return absl::InternalError(absl::StrCat("could not start the editor: ", std::strerror(errno)));
  }
  if (!WIFEXITED(status)) return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return WEXITSTATUS(status);
}

}  // namespace

absl::StatusOr<std::string> Passphrase(bool confirm) {
  if (std::optional<std::string> env = TakeCallerSecret("SOTTO_PASSPHRASE")) {
    if (env->empty()) return absl::InvalidArgumentError("SOTTO_PASSPHRASE is empty");
    return *std::move(env);
  }
  absl::StatusOr<std::string> first = Prompt("Passphrase: ");
  if (!first.ok()) return first.status();
  if (first->empty()) return absl::InvalidArgumentError("the passphrase must not be empty");
  if (confirm) {
    absl::StatusOr<std::string> second = Prompt("Passphrase again: ");
    if (!second.ok()) return second.status();
    WipeOnExit wipe_second(*second);
    if (*first != *second) {
      Wipe(*first);
      return absl::InvalidArgumentError("the passphrases differ");
    }
  }
  return first;
}

absl::StatusOr<std::string> NewPassphrase() {
  if (std::optional<std::string> env = TakeCallerSecret("SOTTO_NEW_PASSPHRASE")) {
    if (env->empty()) return absl::InvalidArgumentError("SOTTO_NEW_PASSPHRASE is empty");
    return *std::move(env);
  }
  absl::StatusOr<std::string> first = Prompt("New passphrase: ");
  if (!first.ok()) return first.status();
  if (first->empty()) return absl::InvalidArgumentError("the passphrase must not be empty");
  absl::StatusOr<std::string> second = Prompt("New passphrase again: ");
  if (!second.ok()) return second.status();
  WipeOnExit wipe_second(*second);
  if (*first != *second) {
    Wipe(*first);
    return absl::InvalidArgumentError("the passphrases differ");
  }
  return first;
}

std::string ReadStdin() {
  return std::string(std::istreambuf_iterator<char>(In()), std::istreambuf_iterator<char>());
}

namespace {

// A new private (0700) directory on /dev/shm when there is one, so that
// plaintext never reaches a disk, else in $TMPDIR or /tmp.
absl::StatusOr<std::string> PrivateDir() {
  std::string base = "/dev/shm";
  if (!IsWritableDir(base.c_str())) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  std::string dir_template = absl::StrCat(base, "/sotto-XXXXXX");
  if (mkdtemp(dir_template.data()) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("could not make a private directory in ", base, ": ", std::strerror(errno)));
  }
  return dir_template;
}

}  // namespace

absl::StatusOr<std::string> SaveDraft(absl::string_view body) {
  absl::StatusOr<std::string> dir = PrivateDir();
  if (!dir.ok()) return dir.status();
  const std::string file = absl::StrCat(*dir, "/draft.txt");
  const int fd = open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("could not create ", file, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < body.size()) {
    const ssize_t n = write(fd, body.data() + done, body.size() - done);
    if (n <= 0) {
      close(fd);
      return absl::FailedPreconditionError(
          absl::StrCat("could not write ", file, ": ", std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return file;
}

absl::StatusOr<std::string> ComposeInEditor() {
  if (CurrentCaller() != nullptr) {
    return absl::FailedPreconditionError(
        "the sotto agent cannot open an editor at the caller's terminal");
  }
  absl::StatusOr<std::string> dir = PrivateDir();
  if (!dir.ok()) return dir.status();
  const ScratchDir scratch(*dir);
  const std::string file = absl::StrCat(scratch.path(), "/message.txt");
  const int fd = open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("could not create ", file, ": ", std::strerror(errno)));
  }
  close(fd);

  std::string editor = "vi";
  if (const char* env = std::getenv("EDITOR"); env != nullptr && *env != '\0') editor = env;
  absl::StatusOr<int> exit_code = RunEditor(editor, file);
  if (!exit_code.ok()) return exit_code.status();
  if (*exit_code != 0) {
    return absl::AbortedError(absl::StrCat("the editor (", editor, ") exited with status ",
                                           *exit_code, "; nothing was sent"));
  }
  FILE* in = std::fopen(file.c_str(), "rb");
  if (in == nullptr) {
    return absl::AbortedError("the editor left no file behind; nothing was sent");
  }
  std::string body;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, in)) > 0;) body.append(buffer, n);
  std::fclose(in);
  return body;
}

std::string TrimTrailing(std::string body) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ' ||
                           body.back() == '\t')) {
    body.pop_back();
  }
  return body;
}

}  // namespace sotto::cli

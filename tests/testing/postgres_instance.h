#ifndef SOTTO_TESTS_TESTING_POSTGRES_INSTANCE_H_
#define SOTTO_TESTS_TESTING_POSTGRES_INSTANCE_H_

// A real PostgreSQL server for tests (header-only, POSIX):
//
//   ASSERT_OK_AND_ASSIGN(auto pg, sotto::testing::PostgresInstance::Start());
//   OpenPostgresStore(pg->url());        // postgres://sotto@127.0.0.1:PORT/postgres
//   pg->data_dir();                      // for the plaintext scan
//   ASSERT_OK(pg->Stop());               // or let the destructor do it
//
// Failover: `auto standby = pg->StartStandby("s1")` streams from `pg`;
// `pg->RequireSynchronousStandby("s1")` makes commits wait for it;
// `pg->Kill()` (SIGKILL) and `standby->Promote()` are a primary's death and
// its replacement.
//
// Each instance is a fresh cluster in its own temporary directory, on a free
// loopback port, with its unix socket in that directory (never /var/run),
// fsync on and trust authentication for the superuser `sotto` (loopback
// only). initdb is slow (3 s here under load), so the first instance on a
// machine initdb's a template cluster, kept in $TMPDIR, that every later one
// copies (0.1 s); a lock file serialises the template's creation between
// test processes that ctest runs in parallel. PostgreSQL refuses to run as
// root: run as root (CI), the cluster belongs to the `postgres` user that
// Debian's package creates and every command runs through `runuser`.
//
// The binaries come from $SOTTO_PG_BINDIR, else /usr/lib/postgresql/15/bin
// (Debian's postgresql-15; scripts/install-deps.sh installs it). Their
// absence fails Start with FAILED_PRECONDITION naming the directory: a test
// that needs PostgreSQL fails rather than skips. Not thread-safe.

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sotto::testing {

class PostgresInstance {
 public:
  // Starts a fresh cluster. Errors: FAILED_PRECONDITION (no binaries, no
  // `postgres` user while root), INTERNAL naming the command that failed
  // (with its output).
  static absl::StatusOr<std::unique_ptr<PostgresInstance>> Start() {
    auto pg = std::unique_ptr<PostgresInstance>(new PostgresInstance());
    absl::Status started = pg->Init();
    if (!started.ok()) return started;
    return pg;
  }

  PostgresInstance(const PostgresInstance&) = delete;
  PostgresInstance& operator=(const PostgresInstance&) = delete;
  ~PostgresInstance() {
    if (running_) (void)Run(PgCtl("stop -m immediate"));
    std::error_code ec;
    if (!root_.empty()) std::filesystem::remove_all(root_, ec);
  }

  // A libpq URL of database `database` (created by CreateDatabase, or the
  // default "postgres").
  std::string url(const std::string& database = "postgres") const {
    return "postgres://sotto@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }
  int port() const { return port_; }
  // The cluster's data directory: tables, WAL, everything it wrote.
  std::string data_dir() const { return root_ + "/data"; }
  // The directory holding the unix socket (psql -h DIR).
  const std::string& socket_dir() const { return root_; }

  // Runs `sql` through psql as the superuser; its output on success.
  absl::StatusOr<std::string> Sql(const std::string& sql,
                                  const std::string& database = "postgres") const {
    const std::string sql_file = root_ + "/query.sql";
    {
      std::ofstream out(sql_file);
      out << sql << "\n";
    }
    return Run(Bin("psql") + " -X -q -A -t -v ON_ERROR_STOP=1 -h '" + root_ + "' -p " +
               std::to_string(port_) + " -U sotto -d '" + database + "' -f '" + sql_file + "'");
  }

  // CREATE DATABASE `name`: a second, empty database (a second store).
  absl::Status CreateDatabase(const std::string& name) {
    return Sql("CREATE DATABASE \"" + name + "\"").status();
  }

  // Stops the cluster (fast: clients are disconnected) and starts it again
  // on the same port: what a store sees of a database restart or failover.
  absl::Status Restart() {
    absl::Status stopped = Stop();
    if (!stopped.ok()) return stopped;
    return StartAgain();
  }

  // A crash and recovery: immediate shutdown (no checkpoint; what sits in
  // WAL buffers and was never flushed is lost), then a start that replays
  // the WAL, on the same port.
  absl::Status CrashAndRestart() {
    if (running_) {
      absl::StatusOr<std::string> stopped = Run(PgCtl("stop -m immediate"));
      if (!stopped.ok()) return stopped.status();
      running_ = false;
    }
    return StartAgain();
  }

  // A streaming-replication standby of this cluster (pg_basebackup of it,
  // then started in recovery), named `name` (its cluster_name, which it
  // reports as its application_name), on `port` or a free one. Read-only
  // until Promote.
  absl::StatusOr<std::unique_ptr<PostgresInstance>> StartStandby(const std::string& name,
                                                                 int port = 0) const {
    auto standby = std::unique_ptr<PostgresInstance>(new PostgresInstance());
    absl::Status made = standby->MakeRoot();
    if (!made.ok()) return made;
    absl::StatusOr<std::string> copied =
        Run(AsOwner(Bin("pg_basebackup") + " -h 127.0.0.1 -p " + std::to_string(port_) +
                    " -U sotto -D '" + standby->data_dir() + "' -X stream -c fast -R"));
    if (!copied.ok()) return copied.status();
    absl::Status started = standby->StartOnFreePort(" -c cluster_name=" + name, port);
    if (!started.ok()) return started;
    return standby;
  }

  // Makes every commit wait until `standby_name` has the commit on its disk
  // too (synchronous_standby_names = 'ANY 1 (name)', as docs/DEPLOYING.md
  // configures production), and returns once that standby streams as a
  // synchronous one.
  absl::Status RequireSynchronousStandby(const std::string& standby_name) {
    absl::StatusOr<std::string> set =
        Sql("ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (\"" + standby_name +
            "\")';\nSELECT pg_reload_conf();");
    if (!set.ok()) return set.status();
    std::string state;
    for (int i = 0; i < 600; ++i) {
      absl::StatusOr<std::string> got = Sql(
          "SELECT sync_state FROM pg_stat_replication WHERE application_name = '" +
          standby_name + "' AND state = 'streaming'");
      if (got.ok()) state = *got;
      if (state.rfind("quorum", 0) == 0 || state.rfind("sync", 0) == 0) return absl::OkStatus();
      usleep(100 * 1000);
    }
    return absl::DeadlineExceededError("standby " + standby_name +
                                       " never became synchronous (sync_state \"" + state + "\")");
  }

  // SIGKILL to the postmaster and every backend at once: a machine that
  // died, not a shutdown. The cluster is left as the crash left it.
  absl::Status Kill() {
    std::ifstream pid_file(data_dir() + "/postmaster.pid");
    long pid = 0;
    if (!(pid_file >> pid) || pid <= 0) return absl::InternalError("no postmaster.pid");
    absl::StatusOr<std::string> killed = Run("kill -KILL " + std::to_string(pid) +
                                             " $(pgrep -P " + std::to_string(pid) + ")");
    if (!killed.ok()) return killed.status();
    running_ = false;
    return absl::OkStatus();
  }

  // Ends a standby's recovery: it becomes a primary that takes writes.
  absl::Status Promote() { return Run(PgCtl("promote")).status(); }

  // Stops the cluster cleanly (a checkpoint: every table file written).
  absl::Status Stop() {
    if (!running_) return absl::OkStatus();
    absl::StatusOr<std::string> stopped = Run(PgCtl("stop -m fast"));
    if (!stopped.ok()) return stopped.status();
    running_ = false;
    return absl::OkStatus();
  }

 private:
  PostgresInstance() = default;

  absl::Status StartAgain() {
    absl::StatusOr<std::string> started =
        Run(PgCtl("-l '" + root_ + "/log' -o \"" + options_ + "\" start"));
    if (!started.ok()) return started.status();
    running_ = true;
    return absl::OkStatus();
  }

  static std::string BinDir() {
    const char* dir = getenv("SOTTO_PG_BINDIR");
    return dir != nullptr && *dir != '\0' ? dir : "/usr/lib/postgresql/15/bin";
  }
  static std::string Bin(const std::string& name) { return BinDir() + "/" + name; }
  // $TMPDIR, or /tmp; as root, /tmp also when `postgres` cannot write in
  // $TMPDIR (a root-only directory), since the cluster runs as `postgres`.
  static std::string TmpDir() {
    const char* tmp = getenv("TMPDIR");
    if (tmp == nullptr || *tmp == '\0') return "/tmp";
    if (geteuid() == 0 &&
        !Run(AsOwner(std::string("test -w '") + tmp + "' -a -x '" + tmp + "'")).ok()) {
      return "/tmp";
    }
    return tmp;
  }
  // As root, the command runs as `postgres`; otherwise as ourselves.
  static std::string AsOwner(const std::string& command) {
    return geteuid() == 0 ? "runuser -u postgres -- " + command : command;
  }

  // Runs `command` through the shell; its output, or INTERNAL with both.
  static absl::StatusOr<std::string> Run(const std::string& command) {
    std::string output;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return absl::InternalError("cannot run " + command);
    char buf[512];
    while (fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
    const int status = pclose(pipe);
    if (status != 0) return absl::InternalError(command + " failed: " + output);
    return output;
  }

  std::string PgCtl(const std::string& action) const {
    return AsOwner(Bin("pg_ctl") + " -D '" + data_dir() + "' -s -w -t 60 " + action);
  }

  // A port the kernel just called free on 127.0.0.1 (bound, then closed:
  // another process may take it before PostgreSQL does; Init retries).
  static int FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  // The template cluster, made once per machine (per TMPDIR and user).
  static absl::StatusOr<std::string> Template() {
    const std::string dir = TmpDir() + "/sotto-pg15-template-" + std::to_string(geteuid());
    const std::string lock_path = dir + ".lock";
    const int lock = open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (lock < 0) return absl::InternalError("cannot open " + lock_path);
    flock(lock, LOCK_EX);  // released by close, below, or by our exit
    std::error_code ec;
    absl::Status made = absl::OkStatus();
    if (!std::filesystem::exists(dir + "/data/PG_VERSION", ec)) {
      std::filesystem::remove_all(dir, ec);
      std::filesystem::create_directories(dir, ec);
      made = Own(dir);
      if (made.ok()) {
        // --no-sync: the template is a copy source only; the clusters made
        // from it run with fsync on.
        made = Run(AsOwner(Bin("initdb") + " -D '" + dir + "/data' -U sotto --auth=trust " +
                           "--no-sync -E UTF8 --locale=C"))
                   .status();
      }
    }
    close(lock);
    if (!made.ok()) return made;
    return dir + "/data";
  }

  // Gives `dir` to the `postgres` user when we are root.
  static absl::Status Own(const std::string& dir) {
    if (geteuid() != 0) return absl::OkStatus();
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, and there is no `postgres` user to run PostgreSQL as "
          "(install postgresql-15: scripts/install-deps.sh)");
    }
    return Run("chown -R postgres: '" + dir + "'").status();
  }

  absl::Status Init() {
    absl::StatusOr<std::string> tmpl = Template();
    if (!tmpl.ok()) return tmpl.status();
    absl::Status made = MakeRoot();
    if (!made.ok()) return made;
    absl::StatusOr<std::string> copied = Run("cp -a '" + *tmpl + "' '" + data_dir() + "'");
    if (!copied.ok()) return copied.status();
    absl::Status owned = Own(root_);
    if (!owned.ok()) return owned;
    return StartOnFreePort("", 0);
  }

  // A fresh temporary root for the cluster, owned by the user it runs as.
  absl::Status MakeRoot() {
    std::error_code ec;
    if (!std::filesystem::exists(Bin("pg_ctl"), ec)) {
      return absl::FailedPreconditionError(
          "no PostgreSQL binaries in " + BinDir() +
          " (install postgresql-15 with scripts/install-deps.sh, or set SOTTO_PG_BINDIR)");
    }
    std::string pattern = TmpDir() + "/sotto-pg-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp " + pattern);
    root_ = pattern;
    // The parent of a cluster must be enterable by its owner; mkdtemp made it 0700.
    std::filesystem::permissions(root_, std::filesystem::perms::owner_all, ec);
    return Own(root_);
  }

  // Starts the cluster in data_dir() on `port`, or on a free one (tried
  // three times: another process may take a port between our check and
  // PostgreSQL's bind), with `extra` options.
  absl::Status StartOnFreePort(const std::string& extra, int port) {
    absl::Status last = absl::OkStatus();
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = port != 0 ? port : FreePort();
      // fsync on (the default, said anyway): what a test proves about
      // durability must hold on the real thing. Small shared buffers: many
      // test processes run at once.
      options_ = "-p " + std::to_string(port_) + " -k '" + root_ +
                 "' -c listen_addresses=127.0.0.1 -c fsync=on" +
                 " -c shared_buffers=16MB -c max_connections=100" + extra;
      absl::StatusOr<std::string> started =
          Run(PgCtl("-l '" + root_ + "/log' -o \"" + options_ + "\" start"));
      if (started.ok()) {
        running_ = true;
        return absl::OkStatus();
      }
      std::ifstream log(root_ + "/log");
      last = absl::InternalError(started.status().message().data() + std::string(" log: ") +
                                 std::string(std::istreambuf_iterator<char>(log), {}));
    }
    return last;
  }

  std::string root_;
  int port_ = 0;
  std::string options_;  // the postgres options it was started with
  bool running_ = false;
};

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_POSTGRES_INSTANCE_H_

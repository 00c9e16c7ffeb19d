// cli-sync (issue 21's table): `sotto --profile T sync` run as its own process
// on a therapist profile whose queue holds N texts the client sent with the
// library; its wall time and CPU (wait4's rusage of that process), then a
// second `sotto sync` with nothing new. Afterwards the therapist's history
// must hold the N texts once and in order.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/client_pair.h"
#include "bench/scenarios.h"

extern char** environ;

namespace sotto::bench {
namespace {

struct ProcessRun {
  int exit_code = -1;
  double wall = 0;
  double cpu = 0;
  // Peak resident memory and first touches of pages: huge pages (the front's
  // glibc.malloc.hugetlb=1) trade the second for some of the first.
  double max_rss_mib = 0;
  double minor_faults = 0;
};

// Runs `argv` with SOTTO_PASSPHRASE set and stdout/stderr to `log`; waits.
ProcessRun RunTimed(std::vector<std::string> argv, const std::string& log) {
  std::vector<std::string> env_store = {std::string("SOTTO_PASSPHRASE=") + kBenchPassphrase};
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string(*e).rfind("SOTTO_PASSPHRASE=", 0) != 0) env_store.emplace_back(*e);
  }
  std::vector<char*> args, env;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  for (std::string& e : env_store) env.push_back(e.data());
  env.push_back(nullptr);
  ProcessRun run;
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) return run;
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    const int null_in = open("/dev/null", O_RDONLY);
    if (null_in >= 0) dup2(null_in, STDIN_FILENO);
    execve(args[0], args.data(), env.data());
    _exit(127);
  }
  int status = 0;
  rusage u{};
  wait4(pid, &status, 0, &u);
  run.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.cpu =
      u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
  run.max_rss_mib = u.ru_maxrss / 1024.0;
  run.minor_faults = static_cast<double>(u.ru_minflt);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

bool RunOne(ScenarioResult& r, const Common& common, const CliSyncOptions& o, uint64_t n) {
  const std::string sfx = absl::StrCat("_n", n);
  absl::StatusOr<std::unique_ptr<ClientPair>> pair = ClientPair::Start(common);
  if (!pair.ok()) {
    r.failures.push_back("set-up: " + pair.status().ToString());
    return false;
  }
  absl::StatusOr<Timed> fill = SendTexts(**pair, 0, n, o.size);
  if (!fill.ok()) {
    r.failures.push_back("fill: " + fill.status().ToString());
    return false;
  }
  (*pair)->CloseTherapist();  // The CLI opens the profile itself.
  const std::string log = (*pair)->therapist_dir() + ".sync.log";
  const std::vector<std::string> argv = {o.sotto_binary, "--profile", (*pair)->therapist_dir(),
                                         "sync"};
  const ProcessRun first = RunTimed(argv, log);
  const ProcessRun second = RunTimed(argv, log + "2");
  for (const ProcessRun* run : {&first, &second}) {
    if (run->exit_code != 0) {
      std::ifstream f(log);
      std::string said((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      r.failures.push_back(
          absl::StrCat("`sotto sync` exited with ", run->exit_code, ": ", said.substr(0, 400)));
      return false;
    }
  }
  r.Add("cli_sync_wall_s" + sfx, first.wall, "s");
  r.Add("cli_sync_msgs_per_s" + sfx, n / first.wall, "msg/s");
  r.Add("cli_sync_cpu_s" + sfx, first.cpu, "s");
  r.Add("cli_cpu_per_msg_us" + sfx, first.cpu * 1e6 / n, "us");
  r.Add("cli_second_sync_wall_s" + sfx, second.wall, "s");
  r.Add("cli_second_sync_cpu_s" + sfx, second.cpu, "s");
  r.Add("cli_sync_max_rss_mib" + sfx, first.max_rss_mib, "MiB");
  r.Add("cli_sync_minor_faults" + sfx, first.minor_faults);
  r.Add("cli_second_sync_minor_faults" + sfx, second.minor_faults);
  if (absl::Status s = (*pair)->ReopenTherapist(); !s.ok()) {
    r.failures.push_back("reopen: " + s.ToString());
    return false;
  }
  VerifyInOrder(r, (*pair)->therapist(), (*pair)->client().handle(), 0, n, o.size);
  return true;
}

}  // namespace

ScenarioResult RunCliSync(const Common& common, const CliSyncOptions& o) {
  ScenarioResult r;
  r.scenario = "cli-sync";
  std::string backlogs;
  for (uint64_t n : o.backlogs) backlogs += (backlogs.empty() ? "" : ",") + std::to_string(n);
  r.params.push_back({"backlogs", 0, backlogs, ""});
  r.params.push_back({"sotto", 0, o.sotto_binary, ""});
  r.Add("load_average_start", LoadAverage());
  for (uint64_t n : o.backlogs) {
    if (!RunOne(r, common, o, n)) return r;
  }
  r.Add("load_average_end", LoadAverage());
  return r;
}

}  // namespace sotto::bench

// DisableCoreDumps, observed as the kernel reports it: the dumpable flag
// (prctl and /proc/self/status) and the core limit. Each test forks, so
// the flag cleared in the child does not leak into the other tests.

#include "sotto/no_core_dumps.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace sotto {
namespace {

// The owner of /proc/self/status: the kernel hands a non-dumpable
// process's /proc files to root, which is what keeps other processes of the
// same user out of its memory.
std::string ProcSelfOwner() {
  struct stat st {};
  if (stat("/proc/self/status", &st) != 0) return "?";
  return std::to_string(st.st_uid);
}

// Runs `body` in a child; the child's exit code is the number of failed
// checks (gtest assertions do not cross fork).
int InChild(int (*body)()) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

TEST(NoCoreDumpsTest, ClearsTheDumpableFlagAndTheCoreLimit) {
  // Before: a normal process is dumpable (the test would pass vacuously
  // otherwise).
  ASSERT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
  EXPECT_EQ(InChild([]() -> int {
              int failed = 0;
              if (!DisableCoreDumps().ok()) ++failed;
              if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) ++failed;
              rlimit core{};
              getrlimit(RLIMIT_CORE, &core);
              if (core.rlim_cur != 0 || core.rlim_max != 0) ++failed;
              // Not raisable again: the hard limit is 0 too.
              rlimit up{RLIM_INFINITY, RLIM_INFINITY};
              if (setrlimit(RLIMIT_CORE, &up) == 0) ++failed;
              // Idempotent.
              if (!DisableCoreDumps().ok()) ++failed;
              return failed;
            }),
            0);
}

TEST(NoCoreDumpsTest, ProcSelfBecomesRootOwnedSoOtherProcessesCannotReadMemory) {
  if (getuid() == 0) GTEST_SKIP() << "as root, /proc/self is root's either way";
  ASSERT_EQ(ProcSelfOwner(), std::to_string(getuid()));
  EXPECT_EQ(InChild([]() -> int {
              if (!DisableCoreDumps().ok()) return 1;
              return ProcSelfOwner() == "0" ? 0 : 2;
            }),
            0);
}

}  // namespace
}  // namespace sotto

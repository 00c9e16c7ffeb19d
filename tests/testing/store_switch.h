#ifndef SOTTO_TESTS_TESTING_STORE_SWITCH_H_
#define SOTTO_TESTS_TESTING_STORE_SWITCH_H_

// Which store the end-to-end suites' servers run on (issue 17: "the
// end-to-end suites runnable against either backend"). Unset, or
// SOTTO_TEST_STORE=rocksdb: RocksDB in the server's data directory, as
// shipped. SOTTO_TEST_STORE=postgres: a fresh real PostgreSQL per server
// (tests/testing/postgres_instance.h), started by the launchers
// (ServerProcess, the rpc fixture). ctest registers the suites a second
// time under the prefix "pg." with it set (tests/CMakeLists.txt,
// sotto_on_postgres; `make test-postgres`; docs/TESTING.md).
//
// Any other value aborts the test process: a typo must not silently run
// everything on RocksDB and call it a PostgreSQL run.

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sotto::testing {

inline bool TestStoreIsPostgres() {
  const char* v = std::getenv("SOTTO_TEST_STORE");
  if (v == nullptr || *v == '\0' || std::strcmp(v, "rocksdb") == 0) return false;
  if (std::strcmp(v, "postgres") == 0) return true;
  std::fprintf(stderr, "SOTTO_TEST_STORE must be \"postgres\" or \"rocksdb\", got \"%s\"\n", v);
  std::abort();
}

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_STORE_SWITCH_H_

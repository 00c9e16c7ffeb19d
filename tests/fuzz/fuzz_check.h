#ifndef SOTTO_TESTS_FUZZ_FUZZ_CHECK_H_
#define SOTTO_TESTS_FUZZ_FUZZ_CHECK_H_

// FUZZ_CHECK(cond, what): an invariant of a fuzz target. A violation prints
// what broke and aborts, which libFuzzer reports as a crash with the input
// saved. (assert() would vanish under NDEBUG.)

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                                     \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "%s:%d: invariant broken: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

#endif  // SOTTO_TESTS_FUZZ_FUZZ_CHECK_H_

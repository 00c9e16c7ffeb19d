#ifndef SOTTO_TESTS_TESTING_LONG_FORM_H_
#define SOTTO_TESTS_TESTING_LONG_FORM_H_

#include <cstdlib>
#include <string>

namespace sotto::testing {

// The reliability suite's long forms (`make reliability`) run with
// SOTTO_RELIABILITY_LONG=1; `make test` runs the short forms.
inline bool LongForm() {
  const char* env = std::getenv("SOTTO_RELIABILITY_LONG");
  return env != nullptr && std::string(env) == "1";
}

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_LONG_FORM_H_

// Shared by the C API's tests: a call's status and error message, captured
// and freed the way an application must (sotto_free_string).
#pragma once

#include <functional>
#include <string>

#include "sotto/sotto.h"

namespace sotto::testing {

// A call's status and message (freed here).
struct Outcome {
  int status = -1;
  std::string message;
};

// Runs `call` with an error pointer it must overwrite: set to a bogus
// non-NULL value first, so a call that forgets to write it (leaving a
// stale pointer for the application to free) crashes the test.
inline Outcome Capture(const std::function<int(char**)>& call) {
  char* err = reinterpret_cast<char*>(0x1);
  Outcome out;
  out.status = call(&err);
  if (err != nullptr) out.message = err;
  sotto_free_string(err);
  return out;
}

}  // namespace sotto::testing

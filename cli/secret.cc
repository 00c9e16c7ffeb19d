#include "secret.h"

#include <stdlib.h>
#include <string.h>

namespace sotto::cli {

void Wipe(std::string& s) {
  // resize() makes the whole capacity part of the string, so that writing it
  // is defined; explicit_bzero is not removed as a dead store.
  s.resize(s.capacity());
  explicit_bzero(s.data(), s.size());
  s.clear();
}

std::optional<std::string> TakeFromEnvironment(const char* name) {
  char* value = getenv(name);
  if (value == nullptr) return std::nullopt;
  std::string out(value);
  // The block getenv points into is the process's environment (the initial
  // one on the stack, or setenv's copy); unsetenv only unlinks it.
  explicit_bzero(value, out.size());
  unsetenv(name);
  return out;
}

}  // namespace sotto::cli

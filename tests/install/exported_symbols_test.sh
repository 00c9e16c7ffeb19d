#!/bin/sh
# Fails if libsotto.so exports anything but the public API (issue 15): the C
# API (sotto_*) and the C++ classes and functions of include/sotto/ named
# below. Everything else is internal and must stay hidden, or an app could
# come to depend on it and a later libsotto.so.N would break that app.
#
# Usage: exported_symbols_test.sh LIBSOTTO_SO
# A new public C++ class or function: add it here AND to
# client-lib/libsotto.map (and mark it SOTTO_EXPORT).
set -eu
lib=$1

# The public C++ API, as demangled names begin (before "(" for functions;
# vtable/typeinfo are allowed for the classes with virtual functions).
classes='sotto::Client|sotto::Clock|sotto::SystemClock|sotto::ManualClock|sotto::client::storage::LocalStore'
functions='sotto::DisableCoreDumps|sotto::ParseInviteCode|sotto::FormatInviteCode|sotto::CheckPassphraseStrength|sotto::client::storage::SpaceName'

exported=$(nm -D --defined-only "$lib" | awk '{ $1 = ""; $2 = ""; sub(/^  /, ""); print }')
if [ -z "$exported" ]; then
  echo "FAIL: $lib exports nothing (nm -D failed?)"
  exit 1
fi

bad=$(printf '%s\n' "$exported" | while IFS= read -r raw; do
  # C API: plain, unmangled names.
  if printf '%s' "$raw" | grep -Eq '^sotto_[A-Za-z0-9_]+$'; then continue; fi
  name=$(printf '%s\n' "$raw" | c++filt)
  if printf '%s' "$name" | grep -Eq "^((vtable|typeinfo|typeinfo name) for )?($classes)(::|$)"; then
    continue
  fi
  if printf '%s' "$name" | grep -Eq "^($functions)(\\[abi:cxx11\\])?\\("; then continue; fi
  printf '  %s\n' "$name"
done)

count=$(printf '%s\n' "$exported" | wc -l)
if [ -n "$bad" ]; then
  echo "FAIL: $lib exports $(printf '%s\n' "$bad" | wc -l) of $count symbols outside the public API:"
  printf '%s\n' "$bad"
  echo "Hide them (they are internal), or if one is public on purpose, mark it SOTTO_EXPORT"
  echo "and add it to client-lib/libsotto.map and to this test."
  exit 1
fi

# And the public API is there: a library that exported nothing of ours would
# pass the check above.
for want in 'sotto::Client::Register(' 'sotto::Client::Open(' 'sotto::CheckPassphraseStrength('; do
  if ! printf '%s\n' "$exported" | c++filt | grep -Fq "$want"; then
    echo "FAIL: $lib does not export $want"
    exit 1
  fi
done
echo "OK: $lib exports $count symbols, all public API"

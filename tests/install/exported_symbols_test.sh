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
functions='sotto::DeliveryStateName|sotto::DisableCoreDumps|sotto::ParseInviteCode|sotto::PreviewDue|sotto::VerifyRecordExport|sotto::FormatInviteCode|sotto::CheckPassphraseStrength|sotto::client::storage::SpaceName'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
nm -D --defined-only "$lib" | awk '{ print $3 }' >"$work/raw"
if [ ! -s "$work/raw" ]; then
  echo "FAIL: $lib exports nothing (nm -D failed?)"
  exit 1
fi
c++filt <"$work/raw" >"$work/demangled"
exported=$(cat "$work/demangled")

# Allowed: the C API (plain, unmangled sotto_* names), then the C++ API by
# its demangled name. What is left is a leak.
tab=$(printf '\t')
bad=$(paste "$work/raw" "$work/demangled" |
  grep -Ev "^sotto_[A-Za-z0-9_]+$tab" | cut -f2 |
  grep -Ev "^((vtable|typeinfo|typeinfo name) for )?($classes)(::|\$)" |
  grep -Ev "^($functions)(\\[abi:cxx11\\])?\\(" | sed 's/^/  /' || true)

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
for want in sotto_version sotto_client_register 'sotto::Client::Register(' 'sotto::Client::Open(' 'sotto::CheckPassphraseStrength('; do
  if ! printf '%s\n' "$exported" | grep -Fq "$want"; then
    echo "FAIL: $lib does not export $want"
    exit 1
  fi
done
echo "OK: $lib exports $count symbols, all public API"

#!/usr/bin/env bash
# run.sh SOURCE_DIR WORK_DIR SOTTO_BINARY SERVER_BINARY [TEST_FILE...]
# Without a TEST_FILE (ctest desk_npm, the fixture the browser tests require):
# installs tests/desk's locked npm packages into WORK_DIR (offline from npm's
# cache when it can) and copies the tests beside them. With TEST_FILEs (ctest
# desk_browser, desk_browser_account): runs them with node's test runner. The
# two files run as two ctest tests side by side; each starts its own server,
# desks and browser on free ports. Exit 77 (skipped) only when
# SOTTO_DESK_TESTS=off.
set -euo pipefail
src=$1 work=$2
export SOTTO_CLI_BINARY=$3 SOTTO_SERVER_BINARY=$4
shift 4
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ "${SOTTO_DESK_TESTS:-on}" = off ]; then
  echo "desk_browser: skipped because SOTTO_DESK_TESTS=off"
  exit 77
fi
missing=()
command -v node >/dev/null || missing+=("node (Debian package nodejs)")
command -v npm >/dev/null || missing+=("npm")
[ -x "$CHROMIUM" ] || missing+=("$CHROMIUM (Debian package chromium)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "desk_browser: FAILED: missing ${missing[*]}; run scripts/install-deps.sh," \
       "or set SOTTO_DESK_TESTS=off to skip the browser tests" >&2
  exit 1
fi

if [ $# -gt 0 ]; then
  cd "$work"
  # One file at a time within a test: each file starts its own server, desks
  # and browser.
  exec node --test --test-reporter=spec --test-concurrency=1 "$@"
fi

mkdir -p "$work"
# Reinstall only when the lockfile changed.
if ! cmp -s "$src/package-lock.json" "$work/package-lock.json" || [ ! -d "$work/node_modules" ]; then
  cp "$src/package.json" "$src/package-lock.json" "$work/"
  (cd "$work" && { npm ci --offline --no-audit --no-fund || npm ci --no-audit --no-fund; })
fi
cp "$src"/*.mjs "$work/"

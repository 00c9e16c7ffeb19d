#!/bin/sh
# Issue 18's page targets, enforced: with 2,000 messages in a conversation the
# page draws the newest within 1 s of the API's answer, its first contentful
# paint comes within 1 s, and scrolling adds under 50 ms to the 90th
# percentile frame. The browser test (ctest desk_browser) measures these in
# every run but, beside other suites on two cores, fails only a page ten
# times slower; this runs it alone with the targets themselves
# (SOTTO_DESK_BENCH=1) and prints the figures.
#
#   bench/desk-paint.sh            # BUILD_DIR (default build/) must be built
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
uptime
SOTTO_DESK_BENCH=1 ctest --test-dir "$BUILD_DIR" -R '^desk_browser$' --output-on-failure -V |
  grep -E '^[0-9]+: # |tests |pass |fail ' || true
uptime

#!/bin/sh
# Issue 21's client throughput figures in one command: builds sotto-bench,
# sotto-server and the sotto CLI of this tree (RelWithDebInfo, in build/
# unless BUILD_DIR says otherwise), then runs every client-library scenario
# at full size (client-sync 1,000 and 10,000 with the raw libsignal decrypt
# rate side by side, client-send, client-listen, letters, profile-open, cli-sync 500 and
# 10,000) and writes the JSON to bench/results/<commit>/client.json.
#
#   bench/client-throughput.sh            # the run docs/BENCHMARKS.md reports
#   bench/client-throughput.sh --smoke    # seconds, to check it works
#
# Prints the machine's load average before and after: on a shared machine
# compare the ratios of one run (ratio_vs_raw_*, cpu_per_msg_last_over_first),
# not absolute figures of different runs.
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$BUILD_DIR" -j2 --target sotto-bench sotto-server sotto
commit=$(git rev-parse --short HEAD)
if ! git diff --quiet HEAD -- client-lib cli server 2>/dev/null; then commit="$commit-dirty"; fi
out=bench/results/$commit
mkdir -p "$out"
echo "load average before: $(cat /proc/loadavg)"
set +e
"$BUILD_DIR/bench/sotto-bench" client "$@" --phase-limit 3600 --json "$out/client.json" \
  >"$out/client.txt" 2>&1
rc=$?
set -e
cat "$out/client.txt"
echo "load average after: $(cat /proc/loadavg)"
echo "JSON: $out/client.json (exit status $rc)"
exit $rc

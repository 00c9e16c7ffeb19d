#!/usr/bin/env bash
# Runs every fuzz target built in BUILD_DIR for SECONDS each, starting from
# its seed corpus in tests/fuzz/corpus/<target>/. New interesting inputs go
# to BUILD_DIR/corpus/<target>/ (the committed seeds are never touched);
# a crash is saved as BUILD_DIR/artifacts/<target>-crash-... and fails the
# run. Usage: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
set -euo pipefail
build=$1
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(auth_header_fuzz key_validation_fuzz stored_records_fuzz response_policy_fuzz
           server_requests_fuzz content_codec_fuzz bundle_fuzz decrypt_fuzz
           local_records_fuzz crl_fuzz device_mismatch_fuzz record_and_link_fuzz)
fi
# UB is fatal (built with -fno-sanitize-recover); leaks are findings too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/artifacts"
# Targets run FUZZ_JOBS at a time (default: one per core), each on its own
# core for its SECONDS: the same fuzzing, in half the wall time on CI's two
# cores.
jobs=${FUZZ_JOBS:-$(nproc)}
run_one() {
  local t=$1 bin="$build/tests/fuzz/$1" start
  mkdir -p "$build/corpus/$t"
  start=$(date +%s)
  if "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -max_len=8192 \
       -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
       "$build/corpus/$t" "$here/corpus/$t" > "$build/$t.log" 2>&1; then
    echo "fuzz: $t ok ($(( $(date +%s) - start ))s, $(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$build/$t.log" | awk '{print $2}') runs)"
  else
    echo "fuzz: $t FAILED, log in $build/$t.log:"
    tail -40 "$build/$t.log"
    return 1
  fi
}
declare -A pid_target=()
failed=()
reap() {
  local done_pid
  # wait -n -p (bash 5.1): which job ended, and how.
  if wait -n -p done_pid; then :; else failed+=("${pid_target[$done_pid]}"); fi
  unset "pid_target[$done_pid]"
}
for t in "${targets[@]}"; do
  while [ ${#pid_target[@]} -ge "$jobs" ]; do reap; done
  run_one "$t" &
  pid_target[$!]=$t
done
while [ ${#pid_target[@]} -gt 0 ]; do reap; done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failed: ${failed[*]}"
  exit 1
fi

#!/bin/sh
# Issue 18's "answer warm in under 100 ms": `sotto inbox` and `sotto send`
# as today (each run opens the profile: Argon2id, RocksDB, the Signal store)
# side by side with the same commands forwarded to `sotto agent`, in one
# run. Wall time, user+system CPU and max RSS of the `sotto` process (the
# agent's own work on a warm command is in its process, reported apart as
# the CPU it used over all warm runs).
#
#   bench/agent-warm.sh [RUNS]     # default 20 runs of each; median and max
#
# The warm commands run twice: through `sotto`, the front (cli/front/, libc
# only, forwards itself), and through `sotto-cli`, the full command the
# front execs otherwise (~75 shared libraries; before the front, `sotto`
# was this binary and forwarded the same way).
#
# Uses the sotto, sotto-cli and sotto-server of BUILD_DIR (default build/), a
# fresh server on loopback and fresh profiles in a temporary directory.
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${1:-20}
SOTTO=$PWD/$BUILD_DIR/cli/sotto
FULL=$PWD/$BUILD_DIR/cli/sotto-cli
SERVER=$PWD/$BUILD_DIR/server/sotto-server
[ -x "$SOTTO" ] && [ -x "$FULL" ] && [ -x "$SERVER" ] ||
  cmake --build "$BUILD_DIR" -j2 --target sotto sotto-server
tmp=$(mktemp -d /tmp/sotto-agent-bench.XXXXXX)
server_pid=
agent_pid=
cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$SERVER" --data-dir "$tmp/data" --listen 127.0.0.1:0 >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  address=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$tmp/server.log" | head -1)
  [ -n "$address" ] && break
  sleep 0.1
done
export SOTTO_PASSPHRASE_VALUE="bench passphrase that is long enough"
code=$("$SERVER" enrol-therapist --data-dir "$tmp/data" --name drbench --quiet)
SOTTO_PASSPHRASE="$SOTTO_PASSPHRASE_VALUE" "$SOTTO" --profile "$tmp/t" init --server "$address" \
  --role therapist --name drbench --enrol "$code" >/dev/null
invite=$(SOTTO_PASSPHRASE="$SOTTO_PASSPHRASE_VALUE" "$SOTTO" --profile "$tmp/t" invite |
  sed -n 's/^Invite code: //p')
SOTTO_PASSPHRASE="$SOTTO_PASSPHRASE_VALUE" "$SOTTO" --profile "$tmp/c" init --server "$address" \
  --role client --name clbench --invite "$invite" >/dev/null
SOTTO_PASSPHRASE="$SOTTO_PASSPHRASE_VALUE" "$SOTTO" --profile "$tmp/c" send drbench "first" >/dev/null

# measure LABEL COMMAND...: RUNS runs; prints median and max of wall ms,
# CPU ms (user+sys) and max RSS MiB.
measure() {
  label=$1
  shift
  : >"$tmp/times"
  i=0
  while [ $i -lt "$RUNS" ]; do
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/one" "$@" >/dev/null 2>"$tmp/err" </dev/null ||
      { cat "$tmp/err"; exit 1; }
    cat "$tmp/one" >>"$tmp/times"
    i=$((i + 1))
  done
  awk -v label="$label" '
    { wall[NR] = $1 * 1000; cpu[NR] = ($2 + $3) * 1000; rss[NR] = $4 / 1024 }
    function median(a, n,   i, j, t, b) {
      for (i = 1; i <= n; i++) b[i] = a[i]
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
      return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
    }
    function max(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] > m) m = a[i]; return m }
    END {
      printf "%-22s wall %6.0f ms (max %6.0f)   cpu %6.0f ms (max %6.0f)   max RSS %6.1f MiB\n",
        label, median(wall, NR), max(wall, NR), median(cpu, NR), max(cpu, NR), max(rss, NR)
    }' "$tmp/times"
}

echo "load average before: $(cat /proc/loadavg)"
echo "$RUNS runs each; median (max)"
# The floor of any sotto process: loading its shared libraries and static
# initializers, before main does anything.
measure "sotto-cli --version" "$FULL" --version
measure "inbox, cold (today)" env SOTTO_PASSPHRASE="$SOTTO_PASSPHRASE_VALUE" "$SOTTO" --profile "$tmp/t" inbox
measure "send, cold (today)" env SOTTO_PASSPHRASE="$SOTTO_PASSPHRASE_VALUE" "$SOTTO" --profile "$tmp/t" send clbench "cold hello"

SOTTO_PASSPHRASE="$SOTTO_PASSPHRASE_VALUE" "$SOTTO" --profile "$tmp/t" agent >"$tmp/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 200); do grep -qs serving "$tmp/agent.log" && break; sleep 0.05; done
agent_cpu_before=$(awk '{print $14 + $15}' "/proc/$agent_pid/stat")
measure "inbox, warm, sotto-cli" "$FULL" --profile "$tmp/t" inbox
measure "inbox, warm, sotto" "$SOTTO" --profile "$tmp/t" inbox
measure "send, warm, sotto-cli" "$FULL" --profile "$tmp/t" send clbench "warm hello"
measure "send, warm, sotto" "$SOTTO" --profile "$tmp/t" send clbench "warm hello"
agent_cpu_after=$(awk '{print $14 + $15}' "/proc/$agent_pid/stat")
ticks=$(getconf CLK_TCK)
awk -v b="$agent_cpu_before" -v a="$agent_cpu_after" -v t="$ticks" -v n="$RUNS" \
  'BEGIN { printf "agent process: %.1f ms CPU per warm command (all kinds)\n", (a - b) * 1000 / t / (4 * n) }'
echo "agent process: max RSS $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$agent_pid/status")"
echo "load average after: $(cat /proc/loadavg)"

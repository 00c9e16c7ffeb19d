#!/usr/bin/env bash
# Instructions per Send, counted by callgrind: the server runs under
# valgrind --tool=callgrind while sotto-bench drives an ingest run against it.
# Only two places are counted: inside the Send handler (on whichever thread
# runs it) and the log syncer's thread (its fsyncs and the replies it sends);
# start-up, account set-up and the run's checks are not. Instruction counts do
# not move with the machine's noise (wall-clock runs here differ by 15-20%), so
# this is the A/B for a change to the Send path: run it once per server binary.
# Not in it: cache misses, waits, the kernel, gRPC outside the handler.
# --whole adds the whole server process per Send (every thread, gRPC's too):
# two more runs counting everything, N Sends and 64, the second subtracted
# so that start-up and account set-up drop out (about 60 s more).
# --delivery counts the whole server per message delivered instead: Sends at
# 150/s to 64 recipients on Subscribe streams for 20 s, minus a 1 s run
# (about 60 s; the Send, its sync and the stream's write all counted).
#
#   scripts/bench-instructions.sh [--server-binary PATH] [--sotto-bench PATH]
#                                 [--messages N] [--whole] [--delivery] [--keep]
#
# Defaults: build/server/sotto-server, build/bench/sotto-bench, 5000 messages
# (about 25 s). --keep leaves the callgrind output in a printed directory.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
server="$root/build/server/sotto-server"
bench="$root/build/bench/sotto-bench"
messages=5000
keep=0
whole=0
delivery=0
value() {
  [ $# -ge 2 ] || { echo "bench-instructions.sh: $1 needs a value" >&2; exit 2; }
}
while [ $# -gt 0 ]; do
  case "$1" in
    --server-binary) value "$@"; server=$(realpath "$2"); shift 2 ;;
    --sotto-bench) value "$@"; bench=$(realpath "$2"); shift 2 ;;
    --messages) value "$@"; messages="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --whole) whole=1; shift ;;
    --delivery) delivery=1; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-instructions.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for tool in valgrind callgrind_annotate; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench-instructions.sh: $tool is missing; apt-get install valgrind" >&2
    exit 1
  fi
done
for f in "$server" "$bench"; do
  [ -x "$f" ] || { echo "bench-instructions.sh: $f is not built (make build)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/sotto-instructions-XXXXXX")
if [ "$keep" = 1 ]; then
  echo "bench-instructions.sh: keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi
# sotto-bench starts the server as `BINARY --data-dir DIR ...` (and probes it
# with --help first): only the serving process runs under callgrind.
# sotto-bench gives the server 30 s to start and 10 s to stop; a server killed
# for being slower leaves no callgrind output, reported below.
#   wrap NAME OUT [callgrind options...]: $work/NAME starts the server so.
wrap() {
  local name=$1 out=$2
  shift 2
  {
    echo '#!/usr/bin/env bash'
    echo 'if [ "${1:-}" = "--data-dir" ]; then'
    printf '  exec valgrind --tool=callgrind --callgrind-out-file=%q' "$out"
    local a
    for a in "$@"; do printf ' %q' "$a"; done
    printf ' %q "$@"\n' "$server"
    echo 'fi'
    printf 'exec %q "$@"\n' "$server"
  } >"$work/$name"
  chmod +x "$work/$name"
}
#   ingest NAME MESSAGES: an ingest run against $work/NAME; prints the Sends
#   the server answered OK, once its callgrind output is there.
ingest() {
  local out="$work/$1.txt"
  "$bench" --server-binary "$work/$1" --no-ceiling --phase-limit 3600 \
    ingest --concurrency 64 --size 200 --messages "$2" >"$out" 2>&1 || {
    cat "$out" >&2
    echo "bench-instructions.sh: the ingest run failed" >&2
    exit 1
  }
  local sends
  sends=$(awk '$1 == "server_sends_ok" {print $2}' "$out")
  if [ -z "$sends" ] || [ "$sends" -eq 0 ] || [ ! -s "$work/$1.out" ]; then
    cat "$out" >&2
    echo "bench-instructions.sh: no Sends counted or no callgrind output" >&2
    exit 1
  fi
  echo "$sends"
}

# Whole-process instructions in callgrind output $1 (empty on failure).
totals() {
  # awk reads to the end: an early exit would kill callgrind_annotate
  # (pipefail); a failure leaves the total empty, reported by the caller.
  callgrind_annotate "$1" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}' || true
}

if [ "$delivery" = 1 ]; then
  #   deliver NAME SECONDS: a delivery run against $work/NAME; prints the
  #   messages received, once its callgrind output is there.
  deliver() {
    local out="$work/$1.txt"
    "$bench" --server-binary "$work/$1" --phase-limit 3600 \
      delivery --rate 150 --seconds "$2" --recipients 64 --size 200 >"$out" 2>&1 || {
      cat "$out" >&2
      echo "bench-instructions.sh: the delivery run failed" >&2
      exit 1
    }
    local received lost
    received=$(awk '$1 == "received" {print $2}' "$out")
    lost=$(awk '$1 == "lost" {print $2}' "$out")
    if [ -z "$received" ] || [ "$received" -eq 0 ] || [ "$lost" != 0 ] ||
       [ ! -s "$work/$1.out" ]; then
      cat "$out" >&2
      echo "bench-instructions.sh: nothing received, some lost, or no callgrind output" >&2
      exit 1
    fi
    echo "$received"
  }
  wrap delivery "$work/delivery.out"
  wrap delivery-setup "$work/delivery-setup.out"
  n1=$(deliver delivery 20)
  n0=$(deliver delivery-setup 1)
  t1=$(totals "$work/delivery.out")
  t0=$(totals "$work/delivery-setup.out")
  if [ -z "$t1" ] || [ -z "$t0" ] || [ "$n1" -le "$n0" ]; then
    echo "bench-instructions.sh: the delivery runs gave no totals" >&2
    exit 1
  fi
  echo "== instructions per delivered message (callgrind; 150/s to 64 Subscribe streams, 200 B; $((n1 - n0)) messages; server $server)"
  printf '  %-46s %12d\n' "whole server, every thread (set-up subtracted)" \
    $(((t1 - t0) / (n1 - n0)))
  exit 0
fi

# Collection is per thread, switched on while a thread is inside one of the
# two functions.
wrap server "$work/server.out" --collect-atstart=no \
  --toggle-collect='sotto::server::rpc::MessagesService::Send(*' \
  --toggle-collect='sotto::server::LogSyncer::Run()'
sends=$(ingest server "$messages")

callgrind_annotate --inclusive=yes --auto=no "$work/server.out" >"$work/annotate.txt" || {
  echo "bench-instructions.sh: callgrind_annotate could not read $work/server.out" >&2
  exit 1
}
# Inclusive instructions of the first function whose line contains $1.
inclusive() {
  awk -v name="$1" 'index($0, "=>") == 0 && index($0, name) > 0 {
    gsub(",", "", $1); print $1; exit
  }' "$work/annotate.txt"
}
row() {
  local ir
  ir=$(inclusive "$2")
  if [ -z "$ir" ]; then
    printf '  %-46s %12s\n' "$1" "-"
  else
    printf '  %-46s %12d\n' "$1" $((ir / sends))
  fi
}
echo "== instructions per Send (callgrind; $sends Sends, 64 concurrent, 200 B; server $server)"
row "Send handler (auth, checks, store writes)" "sotto::server::rpc::MessagesService::Send("
row "  Mailbox::Send" "sotto::server::Mailbox::Send("
row "    RocksDB writes (WAL + memtable)" "sotto::server::(anonymous namespace)::RocksDbStore::Write("
row "      memtable inserts" "rocksdb::MemTable::Add("
row "      in-place updates (queue meta)" "rocksdb::MemTable::Update("
row "    RocksDB reads" "sotto::server::(anonymous namespace)::RocksDbStore::Get("
row "  authentication" "sotto::server::rpc::CallGate::Authenticate("
row "log syncer thread (fsync calls, replies)" "sotto::server::LogSyncer::Run()"
row "both together" "PROGRAM TOTALS"

if [ "$whole" = 1 ]; then
  wrap whole "$work/whole.out"
  wrap setup "$work/setup.out"
  n1=$(ingest whole "$messages")
  n0=$(ingest setup 64)
  t1=$(totals "$work/whole.out")
  t0=$(totals "$work/setup.out")
  if [ -z "$t1" ] || [ -z "$t0" ] || [ "$n1" -le "$n0" ]; then
    echo "bench-instructions.sh: the whole-server runs gave no totals" >&2
    exit 1
  fi
  printf '  %-46s %12d\n' "whole server, every thread (set-up subtracted)" \
    $(((t1 - t0) / (n1 - n0)))
fi

#!/usr/bin/env bash
# Instructions per Send, counted by callgrind: the server runs under
# valgrind --tool=callgrind while sotto-bench drives an ingest run against it.
# Instruction counts do not move with the machine's noise (wall-clock runs
# here differ by 15-20% between identical runs), so this is the A/B to use
# for a change to the Send path: run it once per server binary and compare.
# It counts instructions, not time: cache misses and waits are not in it.
#
#   scripts/bench-instructions.sh [--server-binary PATH] [--sotto-bench PATH] [--messages N]
#
# Defaults: build/server/sotto-server, build/bench/sotto-bench, 5000 messages
# (about two minutes: the server runs some 50 times slower under callgrind).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
server="$root/build/server/sotto-server"
bench="$root/build/bench/sotto-bench"
messages=5000
while [ $# -gt 0 ]; do
  case "$1" in
    --server-binary) server=$(realpath "$2"); shift 2 ;;
    --sotto-bench) bench=$(realpath "$2"); shift 2 ;;
    --messages) messages="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
trap 'rm -rf "$work"' EXIT
# sotto-bench starts the server as `BINARY --data-dir DIR ...` (and probes
# it with --help first): only the serving process runs under callgrind.
cat >"$work/server" <<EOF
#!/usr/bin/env bash
if [ "\${1:-}" = "--data-dir" ]; then
  exec valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$server" "\$@"
fi
exec "$server" "\$@"
EOF
chmod +x "$work/server"

"$bench" --server-binary "$work/server" --no-ceiling --phase-limit 3600 \
  ingest --concurrency 64 --size 200 --messages "$messages" >"$work/bench.txt" 2>&1 || {
  cat "$work/bench.txt" >&2
  echo "bench-instructions.sh: the ingest run failed" >&2
  exit 1
}
sends=$(awk '$1 == "server_sends_ok" {print $2}' "$work/bench.txt")
if [ -z "$sends" ] || [ "$sends" -eq 0 ] || [ ! -s "$work/callgrind.out" ]; then
  cat "$work/bench.txt" >&2
  echo "bench-instructions.sh: no Sends counted or no callgrind output" >&2
  exit 1
fi

callgrind_annotate --inclusive=yes "$work/callgrind.out" >"$work/annotate.txt" 2>/dev/null
# Inclusive instructions of the first function whose name matches $1.
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
row "    RocksDB writes (WAL + memtable)" "rocksdb_store.cc:sotto::server::(anonymous namespace)::RocksDbStore::Write("
row "      memtable inserts" "rocksdb::MemTable::Add("
row "    RocksDB reads" "rocksdb_store.cc:sotto::server::(anonymous namespace)::RocksDbStore::Get("
row "  authentication" "sotto::server::rpc::CallGate::Authenticate("
row "log syncer (fsync calls, replies)" "sotto::server::LogSyncer::Run()"
row "whole process, start-up included" "PROGRAM TOTALS"

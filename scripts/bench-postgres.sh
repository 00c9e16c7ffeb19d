#!/usr/bin/env bash
# Issue 17's measurement, side by side in one run (docs/BENCHMARKS.md,
# "PostgreSQL store"): ingest, delivery and drain on RocksDB, on PostgreSQL
# through one sotto-server node and through two, next to plain `pgbench`
# inserts at the same durability (synchronous_commit = on, fsync on) as the
# ceiling, measured before and after the sotto runs.
#
#   scripts/bench-postgres.sh [OUT_DIR]      (default /tmp/sotto-bench-postgres)
#
# Environment: BUILD (default ./build), MESSAGES (ingest Sends, 20000),
# CONCURRENCY (64), SIZE (200), SECONDS_RUN (pgbench and delivery, 10), RATE
# (delivery Sends/s, 200), BACKLOG (drain, per recipient, 500), RECIPIENTS
# (drain, 16), STANDBY=1 (the database gets a synchronous standby, as in
# production: synchronous_standby_names = 'ANY 1 (standby1)'), FAILOVER=1
# (also run the failover test and print its kill-to-first-Send times),
# SERVER_BEFORE=PATH (another sotto-server build, e.g. before a change: its
# PostgreSQL ingest runs too, one node, as ingest_pg1_before).
# Every PostgreSQL run gets a fresh database. Prints one summary table at
# the end; each run's full output and JSON stay in OUT_DIR.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD:-$root/build}"
bench="$build/bench/sotto-bench"
server="$build/server/sotto-server"
out="${1:-/tmp/sotto-bench-postgres}"
messages="${MESSAGES:-20000}"; concurrency="${CONCURRENCY:-64}"; size="${SIZE:-200}"
seconds="${SECONDS_RUN:-10}"; rate="${RATE:-200}"
backlog="${BACKLOG:-500}"; recipients="${RECIPIENTS:-16}"
bindir="${SOTTO_PG_BINDIR:-/usr/lib/postgresql/15/bin}"

rm -rf "$out"; mkdir -p "$out/keys"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$out"; fi
node_pid=""
cleanup() {
  if [ -n "$node_pid" ]; then kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi
  if [ "${STANDBY:-0}" = 1 ]; then
    SOTTO_SERVER=/bin/false "$root/scripts/pg-local.sh" cluster-stop "$out/pg" >/dev/null 2>&1 || true
  else
    "$root/scripts/pg-local.sh" stop "$out/pg" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

if [ "${STANDBY:-0}" = 1 ]; then
  # cluster-start also starts two nodes; this script starts its own.
  SOTTO_SERVER=/bin/true "$root/scripts/pg-local.sh" cluster-start "$out/pg" >/dev/null
  port="$(cat "$out/pg/port")"
  durability="synchronous_commit = on, one synchronous standby (ANY 1), loopback"
else
  "$root/scripts/pg-local.sh" start "$out/pg" >/dev/null
  port="$(cat "$out/pg/port")"
  durability="synchronous_commit = on, no standby"
fi
psql() { "$bindir/psql" -h 127.0.0.1 -p "$port" -U sotto -X -q "$@"; }
fresh_db() {  # NAME: a new empty database, its URL on stdout
  psql -d postgres -c "CREATE DATABASE $1" >/dev/null
  echo "postgres://sotto@127.0.0.1:$port/$1"
}

rate_args=()
help="$("$server" --help 2>&1 || true)"
for flag in $(grep -o -- '--rate-[a-z0-9-]*' <<<"$help" | sort -u); do rate_args+=("$flag=0/0"); done

# NAME URL: a second sotto-server on URL sharing the key files; sets node_addr.
start_node() {
  local name="$1" url="$2"
  mkdir -p "$out/$name"
  "$server" --data-dir "$out/$name" --store "$url" --listen 127.0.0.1:0 \
    --audit-key-file "$out/keys/audit-key" --code-pepper-file "$out/keys/code-pepper" \
    --min-free-mib 0 --log-level warn "${rate_args[@]}" >"$out/$name.out" 2>"$out/$name.log" &
  node_pid=$!
  for _ in $(seq 200); do
    node_addr="$(grep -o '127\.0\.0\.1:[0-9]*' "$out/$name.out" 2>/dev/null | head -1 || true)"
    [ -n "$node_addr" ] && return 0
    sleep 0.05
  done
  echo "bench-postgres: node $name did not start: $(cat "$out/$name.log")" >&2
  exit 1
}
stop_node() { kill "$node_pid"; wait "$node_pid" 2>/dev/null || true; node_pid=""; }

pgbench_ceiling() {  # LABEL
  local db; db="pgbench_$1"
  fresh_db "$db" >/dev/null
  psql -d "$db" -c "CREATE TABLE bench_ins (k bytea PRIMARY KEY, v bytea NOT NULL)"
  echo "INSERT INTO bench_ins (k, v) VALUES (gen_random_uuid()::text::bytea, convert_to(repeat('x', $size), 'UTF8'));" >"$out/ins.sql"
  "$bindir/pgbench" -h 127.0.0.1 -p "$port" -U sotto -n -c "$concurrency" -j 2 -T "$seconds" \
    -f "$out/ins.sql" "$db" >"$out/pgbench_$1.txt" 2>&1
  grep -o 'tps = [0-9.]*' "$out/pgbench_$1.txt" | head -1 | cut -d' ' -f3
}

# LABEL ARGS...: one sotto-bench run; its output in OUT/LABEL.txt, JSON in OUT/LABEL.json.
run_bench() {
  local label="$1"; shift
  echo "bench-postgres: $label (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  "$bench" --server-binary "${use_server:-$server}" --no-ceiling --json "$out/$label.json" "$@" \
    >"$out/$label.txt" 2>&1 || echo "bench-postgres: $label failed (see $out/$label.txt)" >&2
}
pg_args() {  # URL: the started server's flags for PostgreSQL with the shared keys
  echo "--server-arg=--store --server-arg=$1 --server-arg=--audit-key-file=$out/keys/audit-key" \
       "--server-arg=--code-pepper-file=$out/keys/code-pepper"
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
ceiling_before="$(pgbench_ceiling before)"
ingest=(ingest --concurrency "$concurrency" --size "$size" --messages "$messages")
delivery=(delivery --rate "$rate" --seconds "$seconds" --recipients 16 --size "$size")
drain=(drain --backlog "$backlog" --recipients "$recipients" --size "$size")

run_bench ingest_rocksdb "${ingest[@]}"
url="$(fresh_db ingest1)"
# shellcheck disable=SC2046
run_bench ingest_pg1 $(pg_args "$url") "${ingest[@]}"
if [ -n "${SERVER_BEFORE:-}" ]; then
  url="$(fresh_db ingest1b)"
  # shellcheck disable=SC2046
  use_server="$SERVER_BEFORE" run_bench ingest_pg1_before $(pg_args "$url") "${ingest[@]}"
fi
url="$(fresh_db ingest2)"; start_node nodeb "$url"
# shellcheck disable=SC2046
run_bench ingest_pg2 $(pg_args "$url") --node "$node_addr" "${ingest[@]}"
stop_node

run_bench delivery_rocksdb "${delivery[@]}"
url="$(fresh_db delivery1)"
# shellcheck disable=SC2046
run_bench delivery_pg1 $(pg_args "$url") "${delivery[@]}"
url="$(fresh_db delivery2)"; start_node nodeb "$url"
# shellcheck disable=SC2046
run_bench delivery_pg2 $(pg_args "$url") "${delivery[@]}" --subscribe-via "$node_addr"
stop_node

run_bench drain_rocksdb "${drain[@]}"
url="$(fresh_db drain1)"
# shellcheck disable=SC2046
run_bench drain_pg1 $(pg_args "$url") "${drain[@]}"
url="$(fresh_db drain2)"; start_node nodeb "$url"
# shellcheck disable=SC2046
run_bench drain_pg2 $(pg_args "$url") --node "$node_addr" "${drain[@]}"
stop_node

ceiling_after="$(pgbench_ceiling after)"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

if [ "${FAILOVER:-0}" = 1 ]; then
  "$build/tests/reliability/pg_failover_test" >"$out/failover.txt" 2>&1 ||
    echo "bench-postgres: the failover test failed (see $out/failover.txt)" >&2
fi

python3 - "$out" "$ceiling_before" "$ceiling_after" <<'EOF'
import json, sys
out, before, after = sys.argv[1], float(sys.argv[2] or 0), float(sys.argv[3] or 0)
ceiling = (before + after) / 2
def metrics(label):
    try:
        with open(f"{out}/{label}.json") as f:
            s = json.load(f)["scenarios"][0]
        m = dict(s["metrics"])
        m["_failures"] = s.get("failures", [])
        return m
    except (OSError, ValueError, KeyError, IndexError):
        return {"_failures": ["no result"]}
def fmt(v, unit=""):
    return f"{v:,.0f}{unit}" if isinstance(v, (int, float)) else "-"
print(f"pgbench ceiling: {before:,.0f} inserts/s before, {after:,.0f} after, mean {ceiling:,.0f}")
print("| run | ingest msg/s | / pgbench | Send p50 / p99 ms | server CPU/Send µs |")
print("|---|---|---|---|---|")
for label in ("ingest_rocksdb", "ingest_pg1_before", "ingest_pg1", "ingest_pg2"):
    m = metrics(label)
    if label.endswith("_before") and not m.get("msgs_per_s"):
        continue
    r = m.get("msgs_per_s")
    ratio = f"{r / ceiling:.2f}×" if r and ceiling else "-"
    print(f"| {label} | {fmt(r)} | {ratio} | {m.get('send_p50_ms', float('nan')):.1f} / "
          f"{m.get('send_p99_ms', float('nan')):.1f} | {fmt(m.get('server_cpu_us_per_msg'))} |"
          + (f" FAILED: {m['_failures']}" if m["_failures"] else ""))
for label in ("delivery_rocksdb", "delivery_pg1", "delivery_pg2",
              "drain_rocksdb", "drain_pg1", "drain_pg2"):
    m = metrics(label)
    keep = {k: v for k, v in m.items()
            if k.startswith(("delivery_p", "envelopes_per_s", "received", "lost", "send_p50"))}
    print(f"{label}: " + ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                                   for k, v in sorted(keep.items()))
          + (f" FAILED: {m['_failures']}" if m["_failures"] else ""))
EOF
echo "durability: $durability; load average before: $load_before, after: $load_after"
if [ "${FAILOVER:-0}" = 1 ]; then grep -i "first send\|failover" "$out/failover.txt" | tail -5; fi

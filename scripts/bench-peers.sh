#!/usr/bin/env bash
# Durable ingest side by side, in one run on one machine (issue 5):
#   Redis 7 streams with appendfsync always      XADD, 200-byte values, 50 clients
#   PostgreSQL 15 with synchronous_commit=on    INSERT via pgbench, 16 clients
#   sotto-server                                 sotto-bench ingest (+ its RocksDB ceiling)
# Installs redis-server / postgresql with apt if missing, starts private
# instances on 127.0.0.1 (free ports, data in a temp dir), stops them and
# deletes the data at the end. Prints one table and writes JSON.
#
#   scripts/bench-peers.sh [--messages N] [--size B] [--concurrency C]
#                          [--sotto-bench PATH] [--json FILE]
set -euo pipefail

messages=100000
size=200
concurrency=64
redis_clients=50
pg_clients=16
json=bench-peers.json
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/build-bench/bench/sotto-bench

while [[ $# -gt 0 ]]; do
  case $1 in
    --messages) messages=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --sotto-bench) bench=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "bench-peers: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -x $bench ]] || { echo "bench-peers: no sotto-bench at $bench (build it, or --sotto-bench PATH)" >&2; exit 1; }

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

pgbin=/usr/lib/postgresql/15/bin
need=()
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || need+=(redis-server redis-tools)
[[ -x $pgbin/initdb && -x $pgbin/pgbench ]] || need+=(postgresql-15 postgresql-client-15)
command -v jq >/dev/null || need+=(jq)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "bench-peers: installing ${need[*]}" >&2
  # Keep the packages' own services (redis on :6379, the main postgres
  # cluster) from starting: we run private instances only. policy-rc.d is
  # Debian's switch for that; ours exists only during the install.
  policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 0755 "$policy"
  fi
  rc=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${need[@]}" >/dev/null || rc=$?
  [[ -n $policy ]] && as_root rm -f "$policy"
  [[ $rc -eq 0 ]] || { echo "bench-peers: apt-get install failed" >&2; exit 1; }
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sotto-peers-XXXXXX")
chmod 0755 "$tmp"
redis_pid=
pg_started=
cleanup() {
  [[ -n $redis_pid ]] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
  [[ -n $pg_started ]] && as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# PostgreSQL refuses to run as root: run it as the postgres user if we are.
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

value=$(head -c $((size / 2 + 1)) /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c "$size")

# --- Redis: AOF with an fsync per write before the reply.
redis_port=$(free_port)
mkdir "$tmp/redis"
redis-server --bind 127.0.0.1 --port "$redis_port" --protected-mode yes --dir "$tmp/redis" \
  --appendonly yes --appendfsync always --save '' --daemonize no --logfile "$tmp/redis/log" &
redis_pid=$!
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "bench-peers: redis XADD x $messages ($redis_clients clients, appendfsync always)" >&2
redis_out=$(redis-benchmark -h 127.0.0.1 -p "$redis_port" -c "$redis_clients" -n "$messages" \
  -r 64 --csv XADD 'sotto:__rand_int__' '*' body "$value")
redis_rps=$(echo "$redis_out" | tail -n 1 | cut -d, -f2 | tr -d '"')
redis_stored=$(redis-cli -p "$redis_port" eval \
  "local t=0 for _,k in ipairs(redis.call('keys','sotto:*')) do t=t+redis.call('xlen',k) end return t" 0)
[[ $(redis-cli -p "$redis_port" config get appendfsync | tail -n 1) == always ]]
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true; redis_pid=

# --- PostgreSQL 15: synchronous_commit=on, fsync=on (the defaults, set explicitly).
pg_port=$(free_port)
mkdir "$tmp/pg" "$tmp/pgsock"
[[ $(id -u) -eq 0 ]] && chown postgres "$tmp/pg" "$tmp/pgsock"
as_pg "$pgbin/initdb" -D "$tmp/pg" -A trust -U postgres >/dev/null
as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -l "$tmp/pgsock/log" -w start -o \
  "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$tmp/pgsock -c synchronous_commit=on -c fsync=on -c max_connections=64" >/dev/null
pg_started=1
psql=(as_pg "$pgbin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qAt)
"${psql[@]}" -c 'CREATE TABLE envelopes (id bigserial PRIMARY KEY, recipient int NOT NULL, body bytea NOT NULL)'
cat >"$tmp/pgsock/insert.sql" <<SQL
\set r random(1, 64)
INSERT INTO envelopes (recipient, body) VALUES (:r, decode('$(echo -n "$value" | od -An -tx1 | tr -d ' \n')', 'hex'));
SQL
chmod 0644 "$tmp/pgsock/insert.sql"
echo "bench-peers: postgres INSERT x $messages ($pg_clients clients, synchronous_commit=on)" >&2
pg_out=$(as_pg "$pgbin/pgbench" -n -h 127.0.0.1 -p "$pg_port" -U postgres -c "$pg_clients" -j 2 \
  -t $((messages / pg_clients)) -f "$tmp/pgsock/insert.sql" postgres)
pg_tps=$(echo "$pg_out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p')
pg_stored=$("${psql[@]}" -c 'SELECT count(*) FROM envelopes')
[[ $("${psql[@]}" -c 'SHOW synchronous_commit') == on ]]
as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -m fast -w stop >/dev/null; pg_started=

# --- sotto-server, with the RocksDB synced-write ceiling of the same run.
echo "bench-peers: sotto-bench ingest x $messages ($concurrency senders)" >&2
sotto_rc=0
"$bench" --json "$tmp/sotto.json" ingest --concurrency "$concurrency" --size "$size" \
  --messages "$messages" >&2 || sotto_rc=$?
sotto_rps=$(jq '.scenarios[0].metrics.msgs_per_s' "$tmp/sotto.json")
ceiling=$(jq '.scenarios[0].metrics.ceiling_per_s' "$tmp/sotto.json")
ratio=$(jq '.scenarios[0].metrics.ceiling_ratio' "$tmp/sotto.json")
sotto_ok=$(jq '.scenarios[0].ok' "$tmp/sotto.json")

printf '\n%-44s %12s %10s %s\n' "system (durable per message, ${size} B)" "writes/s" "clients" "stored"
printf '%-44s %12.0f %10s %s\n' "RocksDB synced WriteBatch (ceiling)" "$ceiling" "$concurrency" "-"
printf '%-44s %12.0f %10s %s\n' "Redis 7 XADD, appendfsync always" "$redis_rps" "$redis_clients" "$redis_stored/$messages"
printf '%-44s %12.0f %10s %s\n' "PostgreSQL 15 INSERT, synchronous_commit=on" "$pg_tps" "$pg_clients" "$pg_stored/$messages"
printf '%-44s %12.0f %10s %s\n' "sotto-server Send (ceiling_ratio $ratio)" "$sotto_rps" "$concurrency" "ok=$sotto_ok"

jq -n --argjson messages "$messages" --argjson size "$size" \
  --argjson redis "$redis_rps" --argjson redis_stored "$redis_stored" \
  --argjson pg "$pg_tps" --argjson pg_stored "$pg_stored" \
  --slurpfile sotto "$tmp/sotto.json" \
  '{tool: "bench-peers", messages: $messages, size: $size,
    peers: [
      {name: "redis_xadd_appendfsync_always", per_s: $redis, clients: '"$redis_clients"', stored: $redis_stored},
      {name: "postgres15_insert_synchronous_commit", per_s: $pg, clients: '"$pg_clients"', stored: $pg_stored}],
    sotto: $sotto[0]}' >"$json"
echo "bench-peers: wrote $json" >&2

fail=0
[[ $redis_stored -eq $messages ]] || { echo "bench-peers: redis stored $redis_stored of $messages" >&2; fail=1; }
[[ $pg_stored -eq $(( (messages / pg_clients) * pg_clients )) ]] || { echo "bench-peers: postgres stored $pg_stored" >&2; fail=1; }
[[ $sotto_rc -eq 0 ]] || { echo "bench-peers: sotto-bench failed ($sotto_rc)" >&2; fail=1; }
exit $fail

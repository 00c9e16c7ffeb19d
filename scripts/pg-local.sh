#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for trying `sotto-server --store postgres://...`
# by hand: the same set-up the tests use (tests/testing/postgres_instance.h).
#
#   scripts/pg-local.sh start [DIR]   initdb into DIR (default /tmp/sotto-pg-local) if
#                                     needed, start on a free loopback port, print the URL
#   scripts/pg-local.sh url [DIR]     print the URL of the running cluster
#   scripts/pg-local.sh psql [DIR]    a psql shell on it
#   scripts/pg-local.sh stop [DIR]    stop it (the data stays; rm -rf DIR to drop it)
#
# A local cluster to try several nodes (issue 17, docs/DEPLOYING.md):
#   scripts/pg-local.sh cluster-start [DIR]   a primary, a synchronous standby
#       (synchronous_standby_names = 'ANY 1 (standby1)', streaming, hot standby) and
#       two sotto-server nodes on the primary sharing one set of key files; prints
#       each node's address. DIR defaults to /tmp/sotto-pg-cluster. SOTTO_SERVER
#       names the binary (default build/server/sotto-server).
#   scripts/pg-local.sh cluster-promote [DIR] stop the primary (immediate: a crash) and
#       promote the standby; the nodes are restarted on it
#   scripts/pg-local.sh cluster-stop [DIR]    stop the nodes and both databases
#
# Loopback only, trust authentication for the superuser `sotto`, unix socket in
# DIR, fsync on. Run as root, the cluster belongs to the `postgres` user
# (PostgreSQL refuses root). Binaries: $SOTTO_PG_BINDIR or /usr/lib/postgresql/15/bin
# (scripts/install-deps.sh installs postgresql-15).
set -euo pipefail

bindir="${SOTTO_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
cmd="${1:-}"
dir="${2:-/tmp/sotto-pg-local}"

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url() {
  echo "postgres://sotto@127.0.0.1:$(cat "$dir/port")/postgres"
}


sotto_server="${SOTTO_SERVER:-$(cd "$(dirname "$0")/.." && pwd)/build/server/sotto-server}"

pg_start() {  # DATA PORT [extra -c options]
  local data="$1" port="$2"; shift 2
  as_owner "$bindir/pg_ctl" -D "$data" -s -w -l "$data.log" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on $*" start
}

node_start() {  # N PORT URL
  local n="$1" port="$2" url="$3"
  mkdir -p "$dir/node$n"
  "$sotto_server" --data-dir "$dir/node$n" --store "$url" --listen "127.0.0.1:$port" \
    --audit-key-file "$dir/keys/audit-key" --code-pepper-file "$dir/keys/code-pepper" \
    --min-free-mib 0 >"$dir/node$n.out" 2>"$dir/node$n.log" &
  echo $! > "$dir/node$n.pid"
  for _ in $(seq 100); do
    grep -q "listening on" "$dir/node$n.out" 2>/dev/null && break
    sleep 0.1
  done
  echo "pg-local: node$n $(cat "$dir/node$n.out")"
}

nodes_stop() {
  for n in 1 2; do
    if [ -f "$dir/node$n.pid" ]; then
      kill "$(cat "$dir/node$n.pid")" 2>/dev/null || true
      rm -f "$dir/node$n.pid"
    fi
  done
}

case "$cmd" in
  start)
    if [ ! -x "$bindir/pg_ctl" ]; then
      echo "pg-local: no PostgreSQL in $bindir (scripts/install-deps.sh, or set SOTTO_PG_BINDIR)" >&2
      exit 1
    fi
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bindir/initdb" -D "$dir/data" -U sotto --auth=trust -E UTF8 --locale=C >/dev/null
    fi
    port="$(free_port)"
    echo "$port" > "$dir/port"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -s -w -l "$dir/log" \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on" start
    echo "pg-local: running; sotto-server --store $(url)"
    ;;
  url)
    url
    ;;
  psql)
    exec "$bindir/psql" -h "$dir" -p "$(cat "$dir/port")" -U sotto -d postgres
    ;;
  stop)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -s -w -m fast stop
    echo "pg-local: stopped (data kept in $dir)"
    ;;
  cluster-start)
    dir="${2:-/tmp/sotto-pg-cluster}"
    mkdir -p "$dir/keys"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
    primary_port="$(free_port)"; standby_port="$(free_port)"
    echo "$primary_port" > "$dir/port"; echo "$standby_port" > "$dir/standby_port"
    if [ ! -f "$dir/primary/PG_VERSION" ]; then
      as_owner "$bindir/initdb" -D "$dir/primary" -U sotto --auth=trust -E UTF8 --locale=C >/dev/null
      echo "host replication sotto 127.0.0.1/32 trust" | as_owner tee -a "$dir/primary/pg_hba.conf" >/dev/null
      printf "wal_level = replica\nsynchronous_standby_names = 'ANY 1 (standby1)'\n" |
        as_owner tee -a "$dir/primary/postgresql.conf" >/dev/null
    fi
    pg_start "$dir/primary" "$primary_port"
    if [ ! -f "$dir/standby/PG_VERSION" ]; then
      as_owner "$bindir/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U sotto \
        -D "$dir/standby" -R -X stream -d "application_name=standby1"
      # Promoted, it has no standby of its own to wait for.
      echo "synchronous_standby_names = ''" | as_owner tee -a "$dir/standby/postgresql.conf" >/dev/null
    fi
    pg_start "$dir/standby" "$standby_port" "-c hot_standby=on"
    url="postgres://sotto@127.0.0.1:$primary_port/postgres"
    echo "pg-local: primary $url, synchronous standby on port $standby_port"
    node_start 1 "$(free_port)" "$url"
    node_start 2 "$(free_port)" "$url"
    ;;
  cluster-promote)
    dir="${2:-/tmp/sotto-pg-cluster}"
    nodes_stop
    as_owner "$bindir/pg_ctl" -D "$dir/primary" -s -m immediate stop || true
    as_owner "$bindir/pg_ctl" -D "$dir/standby" -s -w promote
    url="postgres://sotto@127.0.0.1:$(cat "$dir/standby_port")/postgres"
    echo "pg-local: standby promoted: $url (the old primary stays down)"
    node_start 1 "$(free_port)" "$url"
    node_start 2 "$(free_port)" "$url"
    ;;
  cluster-stop)
    dir="${2:-/tmp/sotto-pg-cluster}"
    nodes_stop
    for d in primary standby; do
      as_owner "$bindir/pg_ctl" -D "$dir/$d" -s -w -m fast stop 2>/dev/null || true
    done
    echo "pg-local: cluster stopped (data kept in $dir)"
    ;;
  *)
    echo "usage: $0 start|url|psql|stop|cluster-start|cluster-promote|cluster-stop [DIR]" >&2
    exit 2
    ;;
esac

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
  *)
    echo "usage: $0 start|url|psql|stop [DIR]" >&2
    exit 2
    ;;
esac

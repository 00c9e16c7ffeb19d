#!/bin/sh
# Checks deploy/sotto-server.service with `systemd-analyze verify`, with
# ExecStart pointed at BINARY (verify wants the executable to exist). Fails
# on any diagnostic: systemd ignores an unknown or misplaced key with only a
# warning and exit status 0, and the hardening it was meant to add is gone.
# Usage: verify-unit.sh UNIT BINARY
set -eu
unit="$1"
binary="$2"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/bin/sotto-server|$binary|g" "$unit" >"$dir/sotto-server.service"
out="$(systemd-analyze verify "$dir/sotto-server.service" 2>&1)" || {
  echo "$out"
  exit 1
}
if [ -n "$out" ]; then
  echo "$out"
  exit 1
fi
echo "verify-unit: $unit OK"

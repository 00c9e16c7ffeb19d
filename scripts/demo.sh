#!/usr/bin/env bash
# A scripted exchange between a therapist and a client on a throw-away server:
# what `make demo` prints. Everything lives in a temporary directory that is
# removed at the end.
set -euo pipefail

build_dir="${1:-build}"
server_bin="$build_dir/server/sotto-server"
sotto_bin="$build_dir/cli/sotto"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$server_bin" --data-dir "$work/server" --listen 127.0.0.1:0 >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$work/server.log" 2>/dev/null && break
  sleep 0.1
done
address="$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$work/server.log" | head -1)"
if [ -z "$address" ]; then
  echo "demo: the server did not start:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
therapist() { SOTTO_PASSPHRASE="therapist demo passphrase" "$sotto_bin" --profile "$work/dr-rivera" "$@"; }
client() { SOTTO_PASSPHRASE="client demo passphrase" "$sotto_bin" --profile "$work/sam" "$@"; }

echo "Demo server on $address (data in a temporary directory)."
step "sotto init --role therapist --name dr-rivera"
therapist init --server "$address" --role therapist --name dr-rivera
step "sotto init --role client --name sam"
client init --server "$address" --role client --name sam
step "sam: sotto send dr-rivera 'I had a hard week…'"
client send dr-rivera "I had a hard week. Can we talk about the panic attacks on Thursday?"
step "sam: echo '…' | sotto send dr-rivera"
echo "Also: the breathing exercise helped twice." | client send dr-rivera
step "dr-rivera: sotto sync"
therapist sync
step "dr-rivera: sotto inbox"
therapist inbox
step "dr-rivera: sotto send sam '…'"
therapist send sam "Thank you for writing, Sam. Yes — let's start Thursday there. I'm glad the breathing helped."
step "sam: sotto sync && sotto read dr-rivera"
client sync
client read dr-rivera
step "What the server stored: grep for the words above in its data directory"
if grep -rqa "panic attacks" "$work/server"; then
  echo "FOUND PLAINTEXT ON THE SERVER — this is a bug." >&2
  exit 1
fi
echo "No plaintext in $(find "$work/server" -type f | wc -l) server files: only ciphertext and routing metadata."

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
step "operator: sotto-server enrol-therapist --name dr-rivera"
# One code, issued once: the one printed is the one used (each run of
# enrol-therapist issues a new code).
enrol_out="$("$server_bin" enrol-therapist --data-dir "$work/server" --name dr-rivera)"
echo "$enrol_out"
code="$(echo "$enrol_out" | sed -n 's/^Enrolment code for dr-rivera: //p')"
if [ -z "$code" ]; then
  echo "demo: enrol-therapist printed no code" >&2
  exit 1
fi
step "sotto init --role therapist --name dr-rivera --enrol $code"
therapist init --server "$address" --role therapist --name dr-rivera --enrol "$code"
step "dr-rivera: sotto policy set --tz America/New_York --days mon-fri --hours 09:00-17:00 --window 1d"
therapist policy set --tz America/New_York --days mon-fri --hours 09:00-17:00 --window 1d
step "dr-rivera: sotto invite"
invite_out="$(therapist invite)"
echo "$invite_out"
invite="$(echo "$invite_out" | sed -n 's/^Invite code: //p')"
step "sotto init --role client --name sam --invite $invite"
client init --server "$address" --role client --name sam --invite "$invite"
step "sam: sotto send dr-rivera 'I had a hard week…'"
client send dr-rivera "I had a hard week. Can we talk about the panic attacks on Thursday?"
step "sam: sotto letter dr-rivera --subject 'Before Thursday' < letter.txt"
printf 'Dear Dr. Rivera,\n\nI wrote down what happened on the train, as you suggested.\nIt started at the second stop...\n\nSam\n' |
  client letter dr-rivera --subject "Before Thursday"
step "dr-rivera: sotto queue"
therapist queue
step "dr-rivera: sotto sync && sotto read sam"
therapist sync
read_out="$(therapist read sam)"
echo "$read_out"
letter_id="$(echo "$read_out" | grep -B0 -A1 '^── ' | grep -B1 '^Subject: Before Thursday' | sed -n 's/^── \([0-9a-f]*\) .*/\1/p' | head -1)"
step "dr-rivera: sotto reply $letter_id '…'"
therapist reply "$letter_id" "Thank you for writing this down, Sam. Let's start Thursday there."
step "dr-rivera: sotto queue"
therapist queue
step "sam: sotto sync && sotto read dr-rivera"
client sync
client read dr-rivera
step "What the server stored: grep for the words above in its data directory"
for secret in "panic attacks" "Before Thursday" "on the train"; do
  if grep -rqa "$secret" "$work/server"; then
    echo "FOUND PLAINTEXT ON THE SERVER ('$secret') — this is a bug." >&2
    exit 1
  fi
done
echo "No plaintext (bodies or subjects) in $(find "$work/server" -type f | wc -l) server files: only ciphertext and routing metadata."

#!/usr/bin/env bash
# Plots sotto-bench JSON as a PNG for docs/BENCHMARKS.md, with Debian's
# python3-matplotlib (installed with apt if missing).
#   scripts/plot-bench.sh RESULTS.json [MORE.json ...] [--peers PEERS.json] [-o docs/bench.png]
set -euo pipefail
if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  echo "plot-bench: installing python3-matplotlib" >&2
  if [[ $(id -u) -eq 0 ]]; then apt-get install -y --no-install-recommends python3-matplotlib >/dev/null
  else sudo apt-get install -y --no-install-recommends python3-matplotlib >/dev/null; fi
fi
exec /usr/bin/python3 "$(dirname "$0")/plot-bench.py" "$@"

#!/usr/bin/env bash
# Dashboard benchmark: GET / with N services (default 1000) on a release build.
#   server render time of GET / (and GET /api/services for comparison), and time until the full table is
#   painted in headless Chromium. Half the services point at a target that accepts and never answers, half at a
#   closed port: rendering reads the in-memory snapshot and never probes, so neither may matter.
# Usage: Benchmarks/dashboard.sh            (N=1000 RUNS=20 BROWSER_RUNS=7 by default)
# Needs: chromium, /usr/bin/python3 with python3-websocket, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000}; RUNS=${RUNS:-20}; BROWSER_RUNS=${BROWSER_RUNS:-7}

BIN="$(scripts/build-release.sh service-registry)/service-registry"

work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A target that accepts connections and never answers (listen backlog large enough for any prober).
hang_port=$(free_port)
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4096)
held = []
deadline = time.time() + 600
s.settimeout(1)
while time.time() < deadline:
    try: held.append(s.accept()[0])
    except socket.timeout: pass
' "$hang_port" &
pids+=($!)
closed_port=$(free_port)

port=$(free_port)
"$BIN" serve --host 127.0.0.1 --port "$port" --data-dir "$work/data" --log-level warning &
pids+=($!)
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break; sleep 0.1; done

echo "machine: $(nproc) cores, $(uname -r); chromium: $(chromium --version 2>/dev/null | head -1)"
timeout 600 /usr/bin/python3 Benchmarks/dashboard/bench.py --port "$port" --services "$N" --runs "$RUNS" \
  --browser-runs "$BROWSER_RUNS" --hang-port "$hang_port" --closed-port "$closed_port"

#!/usr/bin/env bash
# Discovery benchmark: UNITS service units in a private systemd user manager (LISTENING of them are
# python http.servers, the rest long-running `sleep`), then
#   1. SCANS scans through the daemon (`POST /api/scan`): wall time per scan (curl) and the daemon's CPU
#      per scan (its own plus its systemctl children's, from /proc/PID/stat);
#   2. the naive approach of the original guide, NAIVE_RUNS times: per unit one `systemctl show` and one
#      `ss -tlnp`, timed the same way (wall, and CPU of the shell and its children).
# usage: Benchmarks/discovery.sh            (env: UNITS=200 LISTENING=50 SCANS=30 NAIVE_RUNS=3)
# Needs root, systemd, python3, ss, curl; uses ../shared/tools/systemd-user-manager.sh (or SYSTEMD_USER_MANAGER_SCRIPT).
# Bounded: at most UNITS units, SCANS + NAIVE_RUNS scans; everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
UNITS=${UNITS:-200}; LISTENING=${LISTENING:-50}; SCANS=${SCANS:-30}; NAIVE_RUNS=${NAIVE_RUNS:-3}
BASE_PORT=${BASE_PORT:-21000}
SCRIPT=${SYSTEMD_USER_MANAGER_SCRIPT:-}
for candidate in ../shared/tools/systemd-user-manager.sh /work/shared/tools/systemd-user-manager.sh; do
  [ -n "$SCRIPT" ] || { [ -x "$candidate" ] && SCRIPT=$(realpath "$candidate"); } || true
done
[ -n "$SCRIPT" ] || { echo "systemd-user-manager.sh not found (set SYSTEMD_USER_MANAGER_SCRIPT)" >&2; exit 1; }

BIN="$(scripts/build-release.sh service-registry)/service-registry"

export SD_HARNESS_DIR; SD_HARNESS_DIR=$(mktemp -d /tmp/sr-discovery-bench-XXXXXX)
DAEMON_PID=""
cleanup() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null || true
  "$SCRIPT" stop || true
  rm -rf "$SD_HARNESS_DIR"
}
trap cleanup EXIT
"$SCRIPT" start >/dev/null
eval "$("$SCRIPT" env)"
UNIT_DIR=$XDG_RUNTIME_DIR/systemd/user
cat > "$UNIT_DIR/bench-web@.service" <<UNIT
[Unit]
Description=Benchmark web server on port %i
[Service]
ExecStart=/usr/bin/python3 -m http.server %i --bind 127.0.0.1
UNIT
cat > "$UNIT_DIR/bench-sleep@.service" <<UNIT
[Unit]
Description=Benchmark sleeper %i
[Service]
ExecStart=/bin/sleep infinity
UNIT
systemctl --user daemon-reload
web=(); for i in $(seq 0 $((LISTENING - 1))); do web+=("bench-web@$((BASE_PORT + i)).service"); done
sleepers=(); for i in $(seq 1 $((UNITS - LISTENING))); do sleepers+=("bench-sleep@$i.service"); done
systemctl --user start "${web[@]}" "${sleepers[@]}"
for i in $(seq 0 $((LISTENING - 1))); do
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$((BASE_PORT + i))") 2>/dev/null && break; sleep 0.05; done
done
count=$(systemctl --user list-units --type=service --state=running --plain --no-legend 'bench-*' | wc -l)
echo "units running: $count ($LISTENING listening), $(nproc) cores"

# --- 1. the registry's scan -------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --host 127.0.0.1 --port "$PORT" --data-dir "$SD_HARNESS_DIR/data" --systemd-scope user \
  --scan-interval 0 --include-unit 'bench-*' --log-level warning &
DAEMON_PID=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.05; done
first_start=$(date +%s%N)
first=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/scan")
first_ms=$(( ($(date +%s%N) - first_start) / 1000000 ))
echo "first scan (creates the records, asks show about every unit): ${first_ms} ms;" \
  "$(jq -c '{discovered, updated, services: (.services|length), listening: ([.services[]|select(.ports|length>0)]|length)}' <<<"$first")"
cpu_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }
TICKS=$(getconf CLK_TCK)
before=$(cpu_ticks "$DAEMON_PID")
walls=()
for _ in $(seq "$SCANS"); do
  walls+=("$(curl -sf -o /dev/null -w '%{time_total}' -X POST "http://127.0.0.1:$PORT/api/scan")")
done
after=$(cpu_ticks "$DAEMON_PID")
printf '%s\n' "${walls[@]}" | sort -n | awk -v n="$SCANS" -v cpu="$((after - before))" -v hz="$TICKS" '
  { w[NR] = $1 * 1000; sum += $1 * 1000 }
  END { printf "registry scan (%d scans, every 10th asks show about all units): wall mean %.1f ms, median %.1f ms, p90 %.1f ms, max %.1f ms; CPU %.1f ms per scan\n",
        n, sum / n, w[int((n + 1) / 2)], w[int(n * 0.9)], w[n], cpu * 1000 / hz / n }' | tee "$SD_HARNESS_DIR/ours.txt"

# --- 2. the naive approach: per unit one systemctl show and one ss -tlnp -------------------------------
naive_scan() {
  local unit pid ports found=0
  for unit in $(systemctl --user list-units --type=service --all --plain --no-legend 'bench-*' | awk '{print $1}'); do
    pid=$(systemctl --user show -p Id,Description,ActiveState,SubState,MainPID "$unit" | sed -n 's/^MainPID=//p')
    ports=$( { ss -tlnp | grep "pid=$pid," || true; } | awk '{print $4}' | sed 's/.*://' | sort -nu | tr '\n' ' ')
    [ -n "$ports" ] && found=$((found + 1))
  done
  echo "$found"
}
TIMEFORMAT='%R %U %S'
: > "$SD_HARNESS_DIR/naive.txt"
for _ in $(seq "$NAIVE_RUNS"); do
  { time naive_scan > "$SD_HARNESS_DIR/naive-found.txt"; } 2>> "$SD_HARNESS_DIR/naive.txt"
done
echo "naive approach found $(cat "$SD_HARNESS_DIR/naive-found.txt") listening units"
awk -v n="$NAIVE_RUNS" '{ wall += $1; cpu += $2 + $3 } END {
  printf "naive scan (%d runs): wall mean %.1f ms; CPU %.1f ms per scan\n", n, wall * 1000 / n, cpu * 1000 / n }' \
  "$SD_HARNESS_DIR/naive.txt" | tee "$SD_HARNESS_DIR/naive-summary.txt"

ours_wall=$(sed -E 's/.*wall mean ([0-9.]+) ms.*/\1/' "$SD_HARNESS_DIR/ours.txt")
ours_cpu=$(sed -E 's/.*CPU ([0-9.]+) ms.*/\1/' "$SD_HARNESS_DIR/ours.txt")
naive_wall=$(sed -E 's/.*wall mean ([0-9.]+) ms.*/\1/' "$SD_HARNESS_DIR/naive-summary.txt")
naive_cpu=$(sed -E 's/.*CPU ([0-9.]+) ms.*/\1/' "$SD_HARNESS_DIR/naive-summary.txt")
awk -v ow="$ours_wall" -v oc="$ours_cpu" -v nw="$naive_wall" -v nc="$naive_cpu" 'BEGIN {
  printf "speed-up: %.0fx wall, %.0fx CPU (target: >= 10x, registry scan < 100 ms)\n", nw / ow, (oc > 0 ? nc / oc : 0) }'

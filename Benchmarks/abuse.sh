#!/usr/bin/env bash
# Abuse benchmark (issue 10, SPEC §12 "Connections cannot starve it"). Release build; nginx on 127.0.0.1 as the
# probe target (as Benchmarks/probe.sh, whose register.py and measure.py it uses). Two runs of the daemon, each
# started with the 1,024 open-file soft limit systemd gives services (it raises it to the hard limit itself), each
# probing N services every INTERVAL seconds:
#   quiet: no abuse;
#   abuse: a client (abuse/client.py) holds IDLE idle and SLOW slowloris connections (a byte per second), and
#          reconnects whatever the daemon closes (it closes them after the 10 s header timeout).
# Both runs: probes/s, p99 start lag (worst 10 s window), CPU, RSS (measure.py over WINDOWS windows), and /health
# latency sampled every 0.2 s on a fresh connection. Bounded: every process started here is killed on exit.
#
#   Benchmarks/abuse.sh                       # N=10000, 10 s interval, 5,000 idle + 200 slowloris, 60 s measured
#   N=1000 WINDOWS=3 Benchmarks/abuse.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
INTERVAL=${INTERVAL:-10}
WINDOWS=${WINDOWS:-6}
IDLE=${IDLE:-5000}
SLOW=${SLOW:-200}
for tool in nginx python3 prlimit curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install nginx-light python3 util-linux curl)" >&2; exit 1; }
done
BENCH_TMP=/dev/shm
source Benchmarks/lib.sh
[ -n "${BIN:-}" ] || build_release
start_probe_target

SECONDS_MEASURED=$((WINDOWS * 10))
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared); N=$N interval ${INTERVAL}s; ${SECONDS_MEASURED}s measured; abuse: $IDLE idle + $SLOW slowloris; daemon soft limit 1024 at exec, hard $(ulimit -Hn)"
for MODE in quiet abuse; do
  PORT=$(free_port)
  MALLOC_ARENA_MAX=2 prlimit --nofile=1024: -- "$BIN" serve --host 127.0.0.1 --port "$PORT" --data-dir "$WORK/data-$MODE" \
    --probe-interval "$INTERVAL" --scan-interval 0 --log-level debug >"$WORK/daemon-$MODE.log" 2>&1 &
  DAEMON=$!
  PIDS+=($DAEMON)
  wait_http "http://127.0.0.1:$PORT/ready"
  python3 Benchmarks/probe/register.py "http://127.0.0.1:$PORT" "$TARGET" "$N"
  sleep "$INTERVAL"  # every service has had its first (spread) probe: steady state
  if [ "$MODE" = abuse ]; then idle=$IDLE; slow=$SLOW; else idle=0; slow=0; fi
  python3 Benchmarks/abuse/client.py "$PORT" "$idle" "$slow" $((SECONDS_MEASURED + 25)) >"$WORK/client-$MODE.json" 2>"$WORK/client-$MODE.err" &
  CLIENT=$!
  PIDS+=($CLIENT)
  for _ in $(seq 300); do grep -q ready "$WORK/client-$MODE.err" && break; sleep 0.1; done
  FDS_DURING=$(ls /proc/$DAEMON/fd | wc -l)
  RESULT=$(python3 Benchmarks/probe/measure.py "$DAEMON" "$WORK/daemon-$MODE.log" "$WINDOWS")
  FDS_END=$(ls /proc/$DAEMON/fd | wc -l)
  wait "$CLIENT" || true
  echo "$MODE: prober $RESULT"
  echo "$MODE: client $(cat "$WORK/client-$MODE.json") daemon_fds_at_start=$FDS_DURING daemon_fds_at_end=$FDS_END"
  grep -m1 "open-file limit" "$WORK/daemon-$MODE.log" || true
  kill -TERM "$DAEMON"; wait "$DAEMON" || true
done

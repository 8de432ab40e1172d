#!/usr/bin/env bash
# SIGTERM with a check-now in flight (SPEC §12): a service whose target is a black hole (a listener that never
# accepts) with a 30 s probe timeout, POST .../check, SIGTERM 1 s later. Prints when the check was answered (and
# with what status) and how long after the signal the daemon exited. Loopback only; every process is killed on exit.
#
#   Benchmarks/sigterm.sh                                   # release build
#   BIN=.build/debug/service-registry Benchmarks/sigterm.sh
cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
[ -n "${BIN:-}" ] || build_release
HOLE=$(free_port)
python3 -c "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', $HOLE)); s.listen(100); time.sleep(60)" &
PIDS+=($!)
PORT=$(free_port)
start_daemon "$PORT" --probe-interval 3600
curl -fs -o /dev/null -X POST "http://127.0.0.1:$PORT/api/services" -H 'Content-Type: application/json' \
  -d "{\"name\":\"hole\",\"url\":\"http://127.0.0.1:$HOLE/\",\"probe_timeout_seconds\":30}"
curl -s -o "$WORK/check-body" -w 'check answered HTTP %{http_code} after %{time_total} s\n' --max-time 40 \
  -X POST "http://127.0.0.1:$PORT/api/services/1/check" > "$WORK/check" &
CHECK=$!
sleep 1
START=$(date +%s.%N)
kill -TERM "$DAEMON_PID"
STATUS=0; wait "$DAEMON_PID" || STATUS=$?
echo "daemon exit status $STATUS, $(python3 -c "print(round($(date +%s.%N) - $START, 3))") s after SIGTERM"
wait "$CHECK" || true
echo "$(cat "$WORK/check") $(cat "$WORK/check-body" 2>/dev/null || echo "(no body: the connection was closed)")"

#!/usr/bin/env bash
# Prober benchmark (issue 3). Release build; nginx on 127.0.0.1 as the target (large listen backlog);
# for each N in $COUNTS: a fresh daemon (data on tmpfs), N services registered, one interval of warm-up,
# then $WINDOWS whole 10 s windows measured: probes/s achieved vs scheduled, p99 start lag, daemon CPU
# seconds per 1,000 probes, RSS. Then blackbox_exporter (http_2xx) probes the same nginx at the same rates
# (N / interval per second, paced by a small Python driver) for its CPU per probe. Bounded: every process started here is killed on exit.
#
#   Benchmarks/probe.sh                      # N = 1000 and 10000, 10 s interval, 60 s measured
#   COUNTS="1000" INTERVAL=5 Benchmarks/probe.sh
#   MALLOC_ARENA_MAX=2 Benchmarks/probe.sh   # the daemon inherits it: fewer glibc arenas, lower RSS
#   COUNTS="" MIXED_COUNT=10000 Benchmarks/probe.sh   # only the mixed run (SPEC §9)
#   COUNTS="" MIXED_COUNT=0 TCP_COUNT=3333 Benchmarks/probe.sh   # only TCP checks, beside blackbox's tcp_connect
#
# TCP_COUNT (default 0: skipped) isolates the TCP check kind (issue 13's target: at most 1/3 of blackbox_exporter's
# CPU per check): TCP_COUNT services whose health_url is tcp:// the same nginx port, nothing else, then
# blackbox_exporter's tcp_connect module at the same rate (TCP_COUNT / INTERVAL per second) against that port.
# Both figures are the process's utime+stime from /proc/PID/stat over the measured time, divided by the checks done
# in it; blackbox's includes answering the /probe HTTP request that triggers each check (that is how it is driven).
#
# Then a mixed run (MIXED_COUNT services, default 10,000; MIXED_COUNT=0 skips it): a third probed over HTTP, a
# third with a tcp:// health_url (TCP connect through the same libcurl loop), a third with ttl_seconds 30 whose
# heartbeats arrive over HTTP every interval (Benchmarks/probe/heartbeat.py). Reported: probes/s, heartbeats/s,
# lag, CPU per 1,000 checks (probes + heartbeats, the daemon's CPU only), RSS, and how many services ended unhealthy
# (0 expected). blackbox_exporter's tcp_connect module then probes the same nginx port at the TCP rate.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=${COUNTS-"1000 10000"}
MIXED_COUNT=${MIXED_COUNT:-10000}
TCP_COUNT=${TCP_COUNT:-0}
INTERVAL=${INTERVAL:-10}
WINDOWS=${WINDOWS:-6}
BLACKBOX_SECONDS=${BLACKBOX_SECONDS:-30}
for tool in nginx python3 prometheus-blackbox-exporter; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install nginx-light python3 prometheus-blackbox-exporter)" >&2; exit 1; }
done
BENCH_TMP=/dev/shm
source Benchmarks/lib.sh
[ -n "${BIN:-}" ] || build_release
start_probe_target

# probing_daemon NAME [register.py mode args...]: a fresh daemon probing every INTERVAL (debug log, which measure.py
# reads), N services registered on it. Sets PORT and DAEMON.
probing_daemon() {
  local name=$1; shift
  PORT=$(free_port)
  "$BIN" serve --host 127.0.0.1 --port "$PORT" --data-dir "$WORK/data-$name" --probe-interval "$INTERVAL" \
    --scan-interval 0 --log-level debug >"$WORK/daemon-$name.log" 2>&1 &
  DAEMON=$!
  PIDS+=($DAEMON)
  wait_http "http://127.0.0.1:$PORT/ready"
  python3 Benchmarks/probe/register.py "http://127.0.0.1:$PORT" "$TARGET" "$N" "$@"
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); interval ${INTERVAL}s; $((WINDOWS * 10))s measured; MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-unset}"
for N in $COUNTS; do
  probing_daemon "$N"
  sleep "$INTERVAL"  # every service has had its first (spread) probe: steady state
  RESULT=$(python3 Benchmarks/probe/measure.py "$DAEMON" "$WORK/daemon-$N.log" "$WINDOWS")
  echo "service-registry N=$N scheduled=$(python3 -c "print(round($N/$INTERVAL,1))")/s $RESULT"
  kill -TERM "$DAEMON"; wait "$DAEMON" || true
done

if [ "$MIXED_COUNT" -gt 0 ]; then
  N=$MIXED_COUNT
  probing_daemon mixed mixed "tcp://127.0.0.1:$NGINX_PORT" "$WORK/ttl-ids"
  HB_SECONDS=$((INTERVAL + WINDOWS * 10 + 25))
  python3 Benchmarks/probe/heartbeat.py "http://127.0.0.1:$PORT" "$WORK/ttl-ids" "$INTERVAL" "$HB_SECONDS" >"$WORK/heartbeats.json" &
  HB=$!
  PIDS+=($HB)
  sleep "$INTERVAL"  # every probed service has had its first probe, every TTL service its first heartbeat
  RESULT=$(python3 Benchmarks/probe/measure.py "$DAEMON" "$WORK/daemon-mixed.log" "$WINDOWS")
  UNHEALTHY=$(curl -fs "http://127.0.0.1:$PORT/api/services?health_status=unhealthy" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  UNKNOWN=$(curl -fs "http://127.0.0.1:$PORT/api/services?health_status=unknown" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  wait "$HB"
  HEARTBEATS=$(cat "$WORK/heartbeats.json")
  echo "service-registry mixed N=$N (1/3 http, 1/3 tcp, 1/3 ttl) probes scheduled=$(python3 -c "print(round($N*2/3/$INTERVAL,1))")/s heartbeats scheduled=$(python3 -c "print(round($N/3/$INTERVAL,1))")/s"
  echo "  prober: $RESULT"
  echo "  heartbeats (whole run): $HEARTBEATS"
  python3 - "$RESULT" "$HEARTBEATS" "$UNHEALTHY" "$UNKNOWN" <<'PY'
import json, sys
r, h = json.loads(sys.argv[1]), json.loads(sys.argv[2])
beats = h["per_s"] * r["seconds"]  # heartbeats during the measured windows (they are paced evenly)
checks = r["probes"] + beats
print(f"  cpu_s_per_1000_checks={round(r['cpu_s'] / checks * 1000, 3)} (probes {r['probes']}, heartbeats ~{int(beats)} in {r['seconds']} s); "
      f"unhealthy={sys.argv[3]} unknown={sys.argv[4]}")
PY
  kill -TERM "$DAEMON"; wait "$DAEMON" || true
fi

if [ "$TCP_COUNT" -gt 0 ]; then
  N=$TCP_COUNT
  probing_daemon tcp tcp "tcp://127.0.0.1:$NGINX_PORT"
  sleep "$INTERVAL"  # every service has had its first (spread) check
  TCP_RESULT=$(python3 Benchmarks/probe/measure.py "$DAEMON" "$WORK/daemon-tcp.log" "$WINDOWS")
  UNHEALTHY=$(curl -fs "http://127.0.0.1:$PORT/api/services?health_status=unhealthy" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  echo "service-registry tcp-only N=$N scheduled=$(python3 -c "print(round($N/$INTERVAL,1))")/s $TCP_RESULT unhealthy=$UNHEALTHY"
  kill -TERM "$DAEMON"; wait "$DAEMON" || true
fi

BB_PORT=$(free_port)
cat > "$WORK/blackbox.yml" <<CONF
modules:
  http_2xx:
    prober: http
    timeout: 2s
    http:
      preferred_ip_protocol: ip4
  tcp_connect:
    prober: tcp
    timeout: 2s
    tcp:
      preferred_ip_protocol: ip4
CONF
prometheus-blackbox-exporter --config.file="$WORK/blackbox.yml" --web.listen-address="127.0.0.1:$BB_PORT" --log.level=warn >"$WORK/blackbox.log" 2>&1 &
BB=$!
PIDS+=($BB)
wait_http "http://127.0.0.1:$BB_PORT/"
for N in $COUNTS; do
  RATE=$(python3 -c "print($N/$INTERVAL)")
  echo "blackbox_exporter rate=${RATE}/s $(python3 Benchmarks/probe/blackbox.py "$BB" "http://127.0.0.1:$BB_PORT" "$TARGET/svc/0" "$BLACKBOX_SECONDS" "$RATE")"
done
if [ "$MIXED_COUNT" -gt 0 ]; then
  RATE=$(python3 -c "print($MIXED_COUNT/3/$INTERVAL)")
  echo "blackbox_exporter tcp_connect rate=${RATE}/s $(python3 Benchmarks/probe/blackbox.py "$BB" "http://127.0.0.1:$BB_PORT" "127.0.0.1:$NGINX_PORT" "$BLACKBOX_SECONDS" "$RATE" tcp_connect)"
fi
if [ "$TCP_COUNT" -gt 0 ]; then
  RATE=$(python3 -c "print($TCP_COUNT/$INTERVAL)")
  BB_RESULT=$(python3 Benchmarks/probe/blackbox.py "$BB" "http://127.0.0.1:$BB_PORT" "127.0.0.1:$NGINX_PORT" "$BLACKBOX_SECONDS" "$RATE" tcp_connect)
  echo "blackbox_exporter tcp_connect rate=${RATE}/s $BB_RESULT"
  python3 - "$TCP_RESULT" "$BB_RESULT" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
a, b = ours["cpu_s"] / ours["probes"] * 1000, theirs["cpu_s"] / theirs["probes"] * 1000
print(f"tcp check CPU per 1,000 checks: service-registry {a:.3f} s, blackbox_exporter tcp_connect {b:.3f} s; "
      f"ratio {a / b:.3f} (target <= 0.333)")
PY
fi

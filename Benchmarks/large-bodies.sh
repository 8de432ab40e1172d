#!/usr/bin/env bash
# Large bodies benchmark (SPEC §12, `--max-large-responses-mb`): what whole-list and /metrics reads of a large
# registry cost the daemon at their peak, one at a time and with slow clients. Release build, loopback only, probing
# off (the slow-scrape case changes the data itself, as probing would).
#
#   Benchmarks/large-bodies.sh                 # 100,000 services
#   Benchmarks/large-bodies.sh 10000           # any N
#   SLOW=16 RATE=1M SLOW_SECONDS=20 SERVICE_REGISTRY_BIN=/path/to/service-registry Benchmarks/large-bodies.sh
#
# A fresh daemon is seeded with N services through POST (lib.sh `seed`), then, one case after another, its VmRSS is
# sampled every 50 ms: the peak during the case and the level 2 s after it ended are reported.
#   one read       GET /metrics identity, /metrics gzip, /api/services identity, /api/sd: bytes and seconds (curl)
#   slow scrapes   SLOW clients reading /metrics (identity) at RATE, started 0.3 s apart, each for at most SLOW_SECONDS,
#                  while a writer registers 10 services/s (so each scrape sees new data, as under probing): how many
#                  got 200 and 503; during them, one gzip scrape (what Prometheus asks for) and /health
#   slow lists     SLOW clients reading /api/services at RATE, likewise (no writer)
# Every process it starts is stopped on exit (lib.sh).
source "$(dirname "$0")/lib.sh"
need curl curl; need python3 python3
N=${1:-100000}
SLOW=${SLOW:-16}
RATE=${RATE:-1M}
SLOW_SECONDS=${SLOW_SECONDS:-20}
build_release
P=$(free_port); B="http://127.0.0.1:$P"
READY_TIMEOUT=60 start_daemon "$P" --probe-interval 0
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); binary: $BIN"
t0=$EPOCHREALTIME
seed "$P" "$N" >/dev/null
echo "seeded $N services in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}') s"
sleep 3

# peak_start / peak_stop: the largest VmRSS (MB) while the case ran.
peak_start() {
  ( peak=0; while kill -0 "$DAEMON_PID" 2>/dev/null; do
      now=$(awk '/VmRSS/ {print $2}' "/proc/$DAEMON_PID/status" 2>/dev/null || echo 0)
      if [ "${now:-0}" -gt "$peak" ]; then peak=$now; echo "$peak" > "$WORK/peak"; fi
      sleep 0.05
    done ) &
  SAMPLER=$!
}
peak_stop() { kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true; awk '{printf "%.1f", $1/1024}' "$WORK/peak"; }

echo "== one read at a time (RSS before each: MB; peak during it; 2 s after it)"
printf '%-24s %12s %8s %8s %8s %8s\n' read bytes seconds before peak after
for c in "/metrics|" "/metrics|gzip" "/api/services|" "/api/sd|"; do
  path=${c%|*}; gz=${c#*|}
  hdr=(); [ -n "$gz" ] && hdr=(-H "Accept-Encoding: gzip")
  before=$(rss_mb "$DAEMON_PID"); echo 0 > "$WORK/peak"; peak_start
  out=$(curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}' "${hdr[@]}" "$B$path")
  peak=$(peak_stop); sleep 2
  read -r code bytes secs <<<"$out"
  printf '%-24s %12s %8s %8s %8s %8s\n' "$path${gz:+ (gzip)} $code" "$bytes" "$secs" "$before" "$peak" "$(rss_mb "$DAEMON_PID")"
done

# slow_readers PATH [writer]: SLOW clients at RATE; prints "statuses; peak; after"
slow_readers() {
  local path=$1 writer=${2:-} wpid="" i
  echo 0 > "$WORK/peak"; peak_start
  if [ -n "$writer" ]; then
    python3 - "$P" <<'PY' &
import http.client, json, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
for n in range(400):
    c.request("POST", "/api/services", json.dumps({"name": "writer-%d-%d" % (time.time_ns(), n), "url": "http://127.0.0.1:9/"}),
              {"Content-Type": "application/json"})
    c.getresponse().read(); time.sleep(0.1)
PY
    wpid=$!; PIDS+=("$wpid")
  fi
  local clients=()
  for i in $(seq 1 "$SLOW"); do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time "$SLOW_SECONDS" --limit-rate "$RATE" "$B$path" > "$WORK/slow-$i" &
    clients+=("$!"); sleep 0.3
  done
  if [ -n "$writer" ]; then
    echo "  during them: gzip scrape $(curl -s -o /dev/null -w '%{http_code} %{size_download} B' -H 'Accept-Encoding: gzip' "$B/metrics"), /health $(curl -s -o /dev/null -w '%{http_code}' "$B/health")"
  fi
  wait "${clients[@]}" 2>/dev/null || true
  [ -n "$wpid" ] && kill "$wpid" 2>/dev/null
  local peak; peak=$(peak_stop); sleep 2
  echo "  statuses: $(sort "$WORK"/slow-* | uniq -c | awk '{printf "%s×%s ", $1, $2}')peak $peak MB, 2 s after $(rss_mb "$DAEMON_PID") MB"
  rm -f "$WORK"/slow-*
}
echo "== $SLOW clients reading /metrics at $RATE/s for up to ${SLOW_SECONDS}s while the data changes 10 times a second"
slow_readers /metrics writer
echo "== $SLOW clients reading /api/services at $RATE/s for up to ${SLOW_SECONDS}s"
slow_readers /api/services

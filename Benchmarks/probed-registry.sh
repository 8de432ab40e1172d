#!/usr/bin/env bash
# A large registry under probing (issue 14): what a page, the summary and a restart cost while every service is
# probed, and where the daemon's memory goes. A quicker, focused companion of Benchmarks/scale.sh's probed phase
# (about 5 minutes at 100,000 services). Release build, loopback only, bounded loops, only its own processes stopped.
#
#   Benchmarks/probed-registry.sh              # 100,000 services probed every 60 s
#   COUNT=10000 INTERVAL=10 Benchmarks/probed-registry.sh
#   DATA_TEMPLATE=/tmp/seeded TARGET_PORT=18080 Benchmarks/probed-registry.sh   # seed once into /tmp/seeded, reuse it
#   SERVICE_REGISTRY_BIN=/tmp/before DATA_TEMPLATE=/tmp/seeded TARGET_PORT=18080 Benchmarks/probed-registry.sh  # A/B
#
# Seeds COUNT services (every url is a local nginx answering 200) with probing off, restarts the daemon with
# --probe-interval INTERVAL --probe-concurrency 2000, waits WARMUP seconds (every service probed once), then:
#   page / page mid / summary   p50, p99, max ms of sequential GETs (limit=100; after=COUNT/2; /api/summary)
#   samples                     every 2 s for 60 s: resident memory from /proc/PID/smaps split into anonymous
#                               (the heap: what the daemon owns) and file-backed (binary, libraries, LMDB map),
#                               the daemon's CPU seconds, and the size of data.mdb (the uptime rollups grow it by
#                               a row per probed service per minute: docs/probe.md, "Size them into --map-size-mb")
#   scrapes                     SCRAPES (default 10) gzip /metrics scrapes one after another, as Prometheus asks:
#                               bytes, seconds, and resident memory before, 1 s and 11 s after; first the same wait
#                               without scrapes (what probing alone adds meanwhile)
#   restart                     three restarts on the probed data directory: seconds to /ready, RSS then
source "$(dirname "$0")/lib.sh"
need nginx nginx-light; need python3 python3; need curl curl
COUNT=${COUNT:-100000}; INTERVAL=${INTERVAL:-60}; WARMUP=${WARMUP:-$((INTERVAL + 10))}
build_release
# TARGET_PORT fixed with DATA_TEMPLATE: the seeded urls name it, so later runs probe a live nginx again.
TARGET_PORT=${TARGET_PORT:-$(free_port)}; start_http_ok "$TARGET_PORT"
PORT=$(free_port)
if [ -n "${DATA_TEMPLATE:-}" ] && [ -d "$DATA_TEMPLATE" ]; then
  cp -a "$DATA_TEMPLATE" "$WORK/data-$PORT"
else
  start_daemon "$PORT" --probe-interval 0
  started=$EPOCHREALTIME
  SEED_URL="http://127.0.0.1:$TARGET_PORT/" seed "$PORT" "$COUNT"
  echo "seeded $COUNT services in $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}') s"
  stop_daemon
  if [ -n "${DATA_TEMPLATE:-}" ]; then cp -a "$WORK/data-$PORT" "$DATA_TEMPLATE"; fi
fi
probing=(--probe-interval "$INTERVAL" --probe-concurrency 2000)
start_daemon "$PORT" "${probing[@]}"
echo "probing $COUNT services every $INTERVAL s; ready in $READY_SECONDS s; warming up $WARMUP s"
sleep "$WARMUP"
smaps() {
  awk '/^Rss:/ {r += $2} /^Anonymous:/ {a += $2} END {printf "rss %.0f MB (anonymous %.0f, file %.0f)", r/1024, a/1024, (r-a)/1024}' \
    "/proc/$DAEMON_PID/smaps"
}
( for i in $(seq 30); do
  echo "  t=$((i * 2)) s: $(smaps), cpu $(cpu_seconds "$DAEMON_PID") s, data.mdb $(du -m "$WORK/data-$PORT/data.mdb" | cut -f1) MB"
  sleep 2
done ) >"$WORK/samples" &
SAMPLER=$!; PIDS+=("$SAMPLER")
echo "page p50/p99/max ms:     $(latency "http://127.0.0.1:$PORT/api/services?limit=100" 2000 20 | cut -d' ' -f1-3)"
echo "page mid p50/p99/max ms: $(latency "http://127.0.0.1:$PORT/api/services?limit=100&after=$((COUNT / 2))" 2000 20 | cut -d' ' -f1-3)"
echo "summary p50/p99/max ms:  $(latency "http://127.0.0.1:$PORT/api/summary" 500 10 | cut -d' ' -f1-3)"
for _ in $(seq 120); do kill -0 "$SAMPLER" 2>/dev/null || break; sleep 1; done
cat "$WORK/samples"
echo "data.mdb: $(du -m "$WORK/data-$PORT/data.mdb" | cut -f1) MB"
echo "no scrapes: $(smaps)"; sleep 15; echo "  15 s later: $(smaps)"
echo "scrapes: before $(smaps)"
for _ in $(seq "${SCRAPES:-10}"); do
  curl -s -o /dev/null -w '%{size_download} %{time_total}\n' -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT/metrics"
done >"$WORK/scrapes"
echo "  ${SCRAPES:-10} gzip scrapes of $(tail -1 "$WORK/scrapes" | cut -d' ' -f1) B in $(cut -d' ' -f2 "$WORK/scrapes" | sort -n | tr '\n' ' ')s"
sleep 1; echo "  1 s after: $(smaps)"; sleep 10; echo "  11 s after: $(smaps)"
for r in 1 2 3; do
  stop_daemon; start_daemon "$PORT" "${probing[@]}"
  echo "restart $r: ready in $READY_SECONDS s, rss $(rss_mb "$DAEMON_PID") MB"
  sleep 3
done
stop_daemon

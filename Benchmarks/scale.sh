#!/usr/bin/env bash
# Scale benchmark (issue 14, SPEC §10): what reading a large registry costs. Release build, loopback only.
#
#   Benchmarks/scale.sh                 # N = 10,000 and 100,000
#   Benchmarks/scale.sh --quick         # N = 10,000 only (a fast check)
#   Benchmarks/scale.sh 50000           # any list of N
#   IDLE_SECONDS=60 SSE_SECONDS=10 SSE_RATE=1000 SSE_CONNECTIONS=8 PROBE_WARMUP=60 PHASES="0 60" Benchmarks/scale.sh
#   SSE_QUERY=timings=none Benchmarks/scale.sh   # subscribers that skip timing-only probe updates (the default,
#                                                # timings=all, sends every probe result to every subscriber)
#
# For each N: a fresh daemon (probing off) is seeded with N services through POST (32 keep-alive connections;
# every url points at a local nginx answering 200), then for each probe interval in PHASES ("0": probing off,
# "60": every service probed every 60 s, i.e. N/60 probes/s, --probe-concurrency PROBE_CONCURRENCY, measured after
# PROBE_WARMUP s so every service has had its first probe) it measures:
#   list page p50/p99     GET /api/services?limit=100, and ?limit=100&after=<the middle id>: sequential requests
#                         on one keep-alive connection (up to 500 or 10 s), request sent to last byte
#   full list             GET /api/services bytes identity / gzip (curl -H 'Accept-Encoding: gzip' | wc -c) and
#                         p50/p99 of each (up to 10 requests or 30 s); GET /api/sd likewise; GET /metrics with
#                         gzip, as Prometheus scrapes it, likewise; GET /api/summary
#   ETag                  a second GET with If-None-Match: the ETag of the first: status and body bytes (304, 0)
#   GET / (dashboard)     HTML bytes identity / gzip; in headless Chromium (scripts/dashboard/cdp.py) the time
#                         from navigation start to the page's `dashboard:table-painted` mark and First Contentful
#                         Paint, median of PAINT_RUNS navigations after a warm-up
#   idle tab B/s          a fresh tab left open IDLE_SECONDS while 1% of the services per minute get a new
#                         description (spread evenly): CDP encodedDataLength of every request of the tab (polls,
#                         event streams, anything) in that window, divided by its length. Whatever the page does.
#   SSE fan-out           SSE_SUBSCRIBERS raw-socket subscribers of GET /api/events while SSE_RATE description PUTs/s
#                         go out for SSE_SECONDS over SSE_CONNECTIONS keep-alive connections (each service at most once, so nothing
#                         coalesces); latency = subscriber read time minus PUT send time; p50/p99/max over all
#                         deliveries; received vs expected (PUTs × subscribers); the achieved PUT rate
#   RSS                   daemon VmRSS 1 s after each read path ended (pages, full list, gzip list, sd, /metrics, dashboard,
#                         SSE; for SSE, 1 s after the daemon closed the last stream, seen as its open descriptors back
#                         to what they were before): the daemon hands back what a large read or an ended stream freed
#                         0.1 s after it (FreedMemory.releaseSoon), and a sample taken sooner caught that moment or
#                         not. The peak VmRSS during the SSE fan-out (sampled every 100 ms) is reported beside it.
#   restart to ready      SIGTERM to the daemon (by PID), start on the same data directory: seconds until /ready
#                         answers 200 (polled every 20 ms)
# Seeding time is reported separately. The final table has the shape of issue 14's.
# Needs: curl, nginx, python3, chromium with /usr/bin/python3 + python3-websocket.
source "$(dirname "$0")/lib.sh"
need nginx nginx-light; need python3 python3; need curl curl; need chromium chromium
/usr/bin/python3 -c 'import websocket' 2>/dev/null || { echo "missing python3-websocket: apt-get install -y python3-websocket" >&2; exit 1; }

COUNTS=()
for a in "$@"; do
  case $a in
    --quick) COUNTS=(10000) ;;
    [0-9]*) COUNTS+=("$a") ;;
    *) echo "usage: $0 [--quick | N...]" >&2; exit 2 ;;
  esac
done
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(10000 100000)
PHASES=${PHASES:-"0 60"}
IDLE_SECONDS=${IDLE_SECONDS:-60}
PAINT_RUNS=${PAINT_RUNS:-3}
SSE_SUBSCRIBERS=${SSE_SUBSCRIBERS:-100}
SSE_RATE=${SSE_RATE:-1000}
SSE_SECONDS=${SSE_SECONDS:-10}
SSE_CONNECTIONS=${SSE_CONNECTIONS:-8}
SSE_QUERY=${SSE_QUERY:-}
PROBE_WARMUP=${PROBE_WARMUP:-60}
PROBE_CONCURRENCY=${PROBE_CONCURRENCY:-2000}
READY_TIMEOUT=${READY_TIMEOUT:-60}
SCALE_PY="$ROOT/Benchmarks/scale/scale.py"

build_release
T=$(free_port); start_http_ok "$T"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); chromium: $(chromium --version 2>/dev/null | head -1)"
echo "counts: ${COUNTS[*]}; probe intervals: $PHASES; idle tab ${IDLE_SECONDS}s; SSE ${SSE_SUBSCRIBERS} subscribers of /api/events${SSE_QUERY:+?$SSE_QUERY} × ${SSE_RATE}/s for ${SSE_SECONDS}s over ${SSE_CONNECTIONS} connections"

json() { python3 -c 'import json,sys; print(eval(sys.argv[2], {"d": json.loads(sys.argv[1])}))' "$1" "$2"; }
mb() { awk -v b="$1" 'BEGIN {printf "%.2f MB", b/1e6}'; }
rss_after() { sleep 1; rss_mb "$DAEMON_PID"; }  # see "RSS" above
open_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# rss_peak PID FILE: the largest VmRSS (MB) seen every 100 ms, kept in FILE, until killed.
rss_peak() {
  local peak=0 now
  while kill -0 "$1" 2>/dev/null; do
    now=$(awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0)
    if [ "${now:-0}" -gt "$peak" ]; then peak=$now; awk -v k="$peak" 'BEGIN {printf "%.1f", k/1024}' > "$2"; fi
    sleep 0.1
  done
}
etag_check() {  # URL -> "STATUS BYTES" of a second GET with If-None-Match: <ETag of the first>
  local tag
  tag=$(curl -s -D - -o /dev/null "$1" | awk 'tolower($1)=="etag:" {sub(/\r$/,""); $1=""; sub(/^ /,""); print}')
  [ -n "$tag" ] || { echo "no-ETag -"; return; }
  curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "If-None-Match: $tag" "$1"
}
ROWS=()

for N in "${COUNTS[@]}"; do
  P=$(free_port); B="http://127.0.0.1:$P"
  start_daemon "$P" --probe-interval 0
  t0=$EPOCHREALTIME
  SEED_URL="http://127.0.0.1:$T/health" seed "$P" "$N"
  seeded=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
  read -r count mid < <(json "$(python3 "$SCALE_PY" ids "$P")" 'str(d["count"]) + " " + str(d["mid"])')
  echo
  echo "== $count services: seeded in ${seeded}s through POST ($(awk -v n="$count" -v s="$seeded" 'BEGIN {printf "%.0f", n/s}')/s, 32 connections); RSS $(rss_mb "$DAEMON_PID") MB"
  for interval in $PHASES; do
    args=(--probe-interval "$interval")
    label="probing off"
    if [ "$interval" != 0 ]; then
      args+=(--probe-concurrency "$PROBE_CONCURRENCY")
      label="probing every ${interval}s ($(awk -v n="$count" -v i="$interval" 'BEGIN {printf "%.0f", n/i}') probes/s)"
      stop_daemon; start_daemon "$P" "${args[@]}"
      sleep "$PROBE_WARMUP"
      health=$(curl -s "$B/api/summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["health"])')
      echo "-- $count services, $label; after ${PROBE_WARMUP}s of warm-up: health $health"
    else
      echo "-- $count services, $label"
    fi

    read -r pg50 pg99 pgmax pgbytes pgst < <(latency "$B/api/services?limit=100" 500 10)
    read -r af50 af99 afmax afbytes afst < <(latency "$B/api/services?limit=100&after=$mid" 500 10)
    rssPages=$(rss_after)
    echo "list page limit=100:            p50 ${pg50} ms, p99 ${pg99} ms, max ${pgmax} ms, ${pgbytes} B (HTTP $pgst)"
    echo "list page limit=100&after=$mid: p50 ${af50} ms, p99 ${af99} ms, max ${afmax} ms, ${afbytes} B (HTTP $afst); RSS ${rssPages} MB"

    fullId=$(curl -s "$B/api/services" | wc -c); fullGz=$(curl -s -H 'Accept-Encoding: gzip' "$B/api/services" | wc -c)
    read -r fl50 fl99 _ _ flst < <(latency "$B/api/services" 10 30)
    rssFull=$(rss_after)
    read -r fg50 fg99 _ _ fgst < <(latency "$B/api/services" 10 30 "Accept-Encoding: gzip")
    rssGzip=$(rss_after)
    echo "full list identity:             $(mb "$fullId"), p50 ${fl50} ms, p99 ${fl99} ms (HTTP $flst); RSS ${rssFull} MB"
    echo "full list gzip:                 $(mb "$fullGz"), p50 ${fg50} ms, p99 ${fg99} ms (HTTP $fgst); RSS ${rssGzip} MB"

    sdId=$(curl -s "$B/api/sd" | wc -c); sdGz=$(curl -s -H 'Accept-Encoding: gzip' "$B/api/sd" | wc -c)
    read -r sd50 sd99 _ _ sdst < <(latency "$B/api/sd" 10 30)
    read -r sg50 sg99 _ _ _ < <(latency "$B/api/sd" 10 30 "Accept-Encoding: gzip")
    rssSd=$(rss_after)
    echo "GET /api/sd:                    identity $(mb "$sdId") p50 ${sd50} ms p99 ${sd99} ms (HTTP $sdst); gzip $(mb "$sdGz") p50 ${sg50} ms p99 ${sg99} ms; RSS ${rssSd} MB"
    mtGz=$(curl -s -H 'Accept-Encoding: gzip' "$B/metrics" | wc -c)
    read -r mt50 mt99 _ _ mtst < <(latency "$B/metrics" 10 30 "Accept-Encoding: gzip")
    rssMetrics=$(rss_after)
    echo "GET /metrics gzip (Prometheus): $(mb "$mtGz"), p50 ${mt50} ms, p99 ${mt99} ms (HTTP $mtst); RSS ${rssMetrics} MB"
    read -r su50 su99 _ subytes sust < <(latency "$B/api/summary" 500 10)
    echo "GET /api/summary:               p50 ${su50} ms, p99 ${su99} ms, ${subytes} B (HTTP $sust)"
    echo "If-None-Match (status bytes):   page $(etag_check "$B/api/services?limit=100"); full list $(etag_check "$B/api/services"); sd $(etag_check "$B/api/sd"); summary $(etag_check "$B/api/summary")"

    htmlId=$(curl -s "$B/" | wc -c); htmlGz=$(curl -s -H 'Accept-Encoding: gzip' "$B/" | wc -c)
    read -r ht50 ht99 _ _ htst < <(latency "$B/" 5 30)
    echo "GET / HTML:                     identity $(mb "$htmlId") (p50 ${ht50} ms to the last byte, HTTP $htst), gzip $(mb "$htmlGz")"
    tab=$(timeout $((IDLE_SECONDS + 900)) /usr/bin/python3 "$SCALE_PY" tab "$P" --paint-runs "$PAINT_RUNS" --idle-seconds "$IDLE_SECONDS" || echo '{"error": "tab run failed"}')
    rssDash=$(rss_after)
    paint=$(json "$tab" 'sorted(d["paint_ms"])[len(d["paint_ms"])//2] if d.get("paint_ms") else "n/a"')
    fcp=$(json "$tab" 'sorted(d["fcp_ms"])[len(d["fcp_ms"])//2] if d.get("fcp_ms") else "n/a"')
    idle=$(json "$tab" 'd.get("idle_bytes_per_s", "n/a")')
    echo "dashboard (Chromium):           table painted ${paint} ms, FCP ${fcp} ms (median; runs $(json "$tab" 'd.get("paint_ms")') / $(json "$tab" 'd.get("fcp_ms")'); rows in the DOM $(json "$tab" 'd.get("rows")')) $(json "$tab" '" ".join(d[k] for k in ("paint_error","idle_error","error") if k in d)')"
    echo "idle tab:                       ${idle} B/s over $(json "$tab" 'd.get("idle_seconds")') s ($(json "$tab" 'd.get("idle_bytes")') B; $(json "$tab" 'd.get("idle_changes")') description changes at $(json "$tab" 'd.get("idle_changes_per_min")')/min); by path: $(json "$tab" 'd.get("idle_by_path")'); RSS ${rssDash} MB"

    fdsBefore=$(open_fds "$DAEMON_PID")
    peakFile="$WORK/sse-peak-$count-$interval"
    rss_peak "$DAEMON_PID" "$peakFile" & peakSampler=$!
    sse=$(timeout $((SSE_SECONDS + 300)) python3 "$SCALE_PY" sse "$P" --subscribers "$SSE_SUBSCRIBERS" --rate "$SSE_RATE" --seconds "$SSE_SECONDS" --connections "$SSE_CONNECTIONS" --query "$SSE_QUERY" || echo '{"error": "sse run failed"}')
    kill "$peakSampler" 2>/dev/null || true; wait "$peakSampler" 2>/dev/null || true
    for _ in $(seq 100); do [ "$(open_fds "$DAEMON_PID")" -le $((fdsBefore + 2)) ] && break; sleep 0.1; done
    rssSse=$(rss_after)
    sse99=$(json "$sse" 'd.get("p99_ms", "n/a")')
    echo "SSE fan-out:                    $(json "$sse" 'd.get("subscribers")') subscribers (HTTP $(json "$sse" 'd.get("statuses")')); PUTs $(json "$sse" 'd.get("puts_ok")') ok / $(json "$sse" 'd.get("puts_failed")') failed in $(json "$sse" 'd.get("seconds")') s = $(json "$sse" 'd.get("achieved_per_s")')/s (target $SSE_RATE/s; PUT p50 $(json "$sse" 'd.get("put_p50_ms")') ms p99 $(json "$sse" 'd.get("put_p99_ms")') ms)"
    echo "                                delivered $(json "$sse" 'd.get("received")') of $(json "$sse" 'd.get("expected")') expected (fewest per subscriber $(json "$sse" 'd.get("min_per_subscriber")')), $(json "$sse" 'd.get("events_total")') events in all; latency p50 $(json "$sse" 'd.get("p50_ms")') ms, p99 ${sse99} ms, max $(json "$sse" 'd.get("max_ms")') ms; RSS ${rssSse} MB (peak during: $(cat "$peakFile" 2>/dev/null || echo n/a) MB) $(json "$sse" 'd.get("error", "")')"

    stop_daemon; start_daemon "$P" "${args[@]}"
    restart=$READY_SECONDS
    echo "restart to ready:               ${restart} s (RSS just after: $(rss_mb "$DAEMON_PID") MB)"
    rssMax=$(printf '%s\n' "$rssPages" "$rssFull" "$rssGzip" "$rssSd" "$rssMetrics" "$rssDash" "$rssSse" | sort -g | tail -1)
    ROWS+=("| $count | $label | ${pg99} ms (after=mid ${af99} ms) | $(mb "$fullId") / $(mb "$fullGz") | ${paint} ms (FCP ${fcp} ms), $(mb "$htmlId") / $(mb "$htmlGz") gzip | ${idle} | ${sse99} ms | ${rssMax} MB | ${restart} s |")
  done
  stop_daemon
done

echo
echo "| services | probing | list page p99 (limit=100) | full list identity / gzip | GET / first paint, HTML identity / gzip | idle tab B/s | SSE p99 | RSS (max after reads) | restart to ready |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"

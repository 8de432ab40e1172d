#!/usr/bin/env bash
# Fleet benchmark (issue 16): N registries x S services on this machine, probing every 60 s against one nginx,
# one Prometheus scraping every registry every 15 s; once with --metrics-detail full, once with basic.
# Reports, per mode: series in Prometheus, scrape duration p99 per registry, Prometheus RSS, each registry's RSS
# and CPU, and the sizing extrapolation used in docs/fleet.md (1,000 hosts x 50 services).
# Usage: Benchmarks/fleet.sh [REGISTRIES=20] [SERVICES=1000] [SECONDS=90 per mode]. Loopback only; every
# process it starts is stopped (by PID) on exit. Results also go to Benchmarks/results/fleet-<time>.txt.
# Needs: prometheus, nginx-light, curl, jq, python3. Total run time about 2 x (SECONDS + 30) s plus the build.
source "$(dirname "$0")/lib.sh"
REGISTRIES=${1:-20}
SERVICES=${2:-1000}
DURATION=${3:-90}
need prometheus prometheus
need nginx nginx-light
need jq jq

DIR="$("$ROOT/scripts/build-release.sh" service-registry metrics-benchmark)"
BIN="$DIR/service-registry"

mkdir -p "$ROOT/Benchmarks/results"
OUT="$ROOT/Benchmarks/results/fleet-$(date -u +%Y%m%dT%H%M%SZ).txt"
exec > >(tee "$OUT") 2>&1
echo "# fleet benchmark $(date -u +%FT%TZ): $REGISTRIES registries x $SERVICES services, probe interval 60 s, scrape interval 15 s, ${DURATION}s per mode"
echo "# $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: absolute figures are noisy)"

# One nginx answering every probe.
NPORT=$(free_port)
mkdir -p "$WORK/html"; echo ok >"$WORK/html/health"; chmod -R a+rX "$WORK"
start_nginx "$NPORT" "$WORK/html"

# The registries' data, written once (the same records for both modes): every third service a systemd unit,
# all probing nginx over HTTP, each with a last probe result so every per-service series exists at the first scrape.
PORTS=()
for i in $(seq "$REGISTRIES"); do
  port=$(free_port); PORTS+=("$port")
  "$DIR/metrics-benchmark" populate "$SERVICES" "$WORK/data-$port" "http://127.0.0.1:$NPORT/health" >/dev/null
done

# Prometheus's own footprint, scraping only itself, so the per-series figure below is the marginal cost.
BPORT=$(free_port)
echo "scrape_configs: [{job_name: prometheus, scrape_interval: 15s, static_configs: [{targets: ['127.0.0.1:$BPORT']}]}]" >"$WORK/prometheus-idle.yml"
prometheus --config.file="$WORK/prometheus-idle.yml" --storage.tsdb.path="$WORK/tsdb-idle" \
  --web.listen-address="127.0.0.1:$BPORT" --log.level=warn >"$WORK/prometheus-idle.log" 2>&1 &
IDLE_PID=$!; PIDS+=("$IDLE_PID")
sleep 20
PROM_BASE_MB=$(rss_mb "$IDLE_PID")
kill "$IDLE_PID"; wait "$IDLE_PID" 2>/dev/null || true
echo "Prometheus RSS scraping only itself: $PROM_BASE_MB MB"

prom_query() { curl -sf --get "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" | jq -r "$2"; }

run_mode() {
  local mode=$1 pids=() prom_pid cpu0=() cpu1=()
  echo
  echo "## --metrics-detail $mode"
  for port in "${PORTS[@]}"; do
    start_daemon "$port" --probe-interval 60 --metrics-detail "$mode"
    pids+=("$DAEMON_PID")
  done
  PPORT=$(free_port)
  {
    echo "global: {scrape_interval: 15s, evaluation_interval: 15s}"
    echo "scrape_configs:"
    echo "  - job_name: prometheus"
    echo "    static_configs: [{targets: ['127.0.0.1:$PPORT']}]"
    echo "  - job_name: service-registry"
    echo "    static_configs:"
    echo "      - targets:"
    for port in "${PORTS[@]}"; do echo "          - 127.0.0.1:$port"; done
  } >"$WORK/prometheus-$mode.yml"
  prometheus --config.file="$WORK/prometheus-$mode.yml" --storage.tsdb.path="$WORK/tsdb-$mode" \
    --web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$WORK/prometheus-$mode.log" 2>&1 &
  prom_pid=$!; PIDS+=("$prom_pid")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PPORT/-/ready" >/dev/null && break; sleep 0.2; done
  # Wait for the first scrape of every registry, then measure over DURATION seconds.
  for _ in $(seq 120); do
    [ "$(prom_query 'count(up{job="service-registry"} == 1)' '.data.result[0].value[1] // 0')" = "$REGISTRIES" ] && break
    sleep 1
  done
  for p in "${pids[@]}"; do cpu0+=("$(cpu_seconds "$p")"); done
  sleep "$DURATION"
  for p in "${pids[@]}"; do cpu1+=("$(cpu_seconds "$p")"); done

  local series head p99 rss_prom
  series=$(prom_query 'count({job="service-registry"})' '.data.result[0].value[1]')
  head=$(prom_query 'prometheus_tsdb_head_series' '.data.result[0].value[1]')
  rss_prom=$(rss_mb "$prom_pid")
  p99=$(prom_query "quantile_over_time(0.99, scrape_duration_seconds{job=\"service-registry\"}[${DURATION}s])" \
        '[.data.result[].value[1] | tonumber * 1000] | sort | "min \(.[0] | floor) ms, median \(.[length/2|floor] | floor) ms, max \(.[-1] | floor) ms"')
  local samples
  samples=$(prom_query "count_over_time(scrape_duration_seconds{job=\"service-registry\"}[${DURATION}s])" '[.data.result[].value[1] | tonumber] | min')
  echo "series from the registries in Prometheus: $series (per registry $((series / REGISTRIES)), per service $(awk -v s="$series" -v r="$REGISTRIES" -v n="$SERVICES" 'BEGIN {printf "%.1f", s / r / n}'))"
  echo "Prometheus head series (all jobs): $head"
  echo "scrape duration p99 per registry (over ${DURATION}s, >= $samples scrapes each): $p99"
  echo "Prometheus RSS: $rss_prom MB ($(awk -v r="$rss_prom" -v b="$PROM_BASE_MB" -v h="$head" 'BEGIN {printf "%.0f", (r - b) * 1048576 / h}') bytes per head series above the idle $PROM_BASE_MB MB, after ${DURATION}s)"
  local rss_list=() cpu_list=()
  for i in "${!pids[@]}"; do
    rss_list+=("$(rss_mb "${pids[$i]}")")
    cpu_list+=("$(awk -v a="${cpu0[$i]}" -v b="${cpu1[$i]}" -v d="$DURATION" 'BEGIN {printf "%.2f", (b - a) / d * 100}')")
  done
  echo "registry RSS MB (each): ${rss_list[*]}"
  echo "registry CPU % of one core over the window (each): ${cpu_list[*]}"
  printf '%s\n' "${rss_list[@]}" | sort -n | awk '{a[NR]=$1} END {printf "registry RSS MB: min %s, median %s, max %s\n", a[1], a[int((NR+1)/2)], a[NR]}'
  printf '%s\n' "${cpu_list[@]}" | sort -n | awk '{a[NR]=$1} END {printf "registry CPU %%: min %s, median %s, max %s\n", a[1], a[int((NR+1)/2)], a[NR]}'
  # Sizing: 1,000 hosts x 50 services, this run's series per service (this mix: 1/3 systemd units, HTTP) plus
  # the per-registry series (those without an id: the registry's own, process_*, and Prometheus's up and
  # scrape_* series), and this run's bytes per head series.
  local per_registry_overhead
  per_registry_overhead=$(prom_query "count({job=\"service-registry\",id=\"\"}) / $REGISTRIES" '.data.result[0].value[1]')
  awk -v s="$series" -v r="$REGISTRIES" -v n="$SERVICES" -v o="$per_registry_overhead" -v rss="$rss_prom" -v b="$PROM_BASE_MB" -v h="$head" -v mode="$mode" 'BEGIN {
    per_service = (s / r - o) / n; hosts = 1000; svc = 50; per_series = (rss - b) * 1048576 / h
    total = hosts * (svc * per_service + o)
    printf "sizing %s: %.1f series per service + %.0f per registry -> 1,000 hosts x 50 services = %.0f series, ~%.2f GB Prometheus RSS at %.0f bytes/series (+ %s MB idle)\n",
      mode, per_service, o, total, (total * per_series + b * 1048576) / 1e9, per_series, b }'

  kill "$prom_pid" 2>/dev/null || true; wait "$prom_pid" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}

run_mode full
run_mode basic
echo
echo "# done $(date -u +%FT%TZ); load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

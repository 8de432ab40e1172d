#!/usr/bin/env bash
# /metrics benchmark (issue 5). Release build, one run, figures compared within the run.
#   1. render time and bytes of a full, uncached /metrics render with 1,000 and 10,000 probed services;
#   2. wrk requests/s on the daemon's /metrics holding 1,000 services, and in the same run on nginx
#      (127.0.0.1) serving the very same bytes as a static file.
# Usage: Benchmarks/metrics.sh [wrk seconds, default 5]. Needs wrk and nginx (nginx-light). Loopback only;
# every process it starts is stopped on exit. Results also go to Benchmarks/results/metrics-<time>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-5}"
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$NGINX" ] || { echo "nginx is missing (apt-get install nginx-light)" >&2; exit 1; }

BIN="$(scripts/build-release.sh service-registry metrics-benchmark)"

WORK="$(mktemp -d /tmp/metrics-bench.XXXXXX)"
DAEMON_PID=""; NGINX_PID=""
cleanup() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

mkdir -p Benchmarks/results
OUT="Benchmarks/results/metrics-$(date -u +%Y%m%dT%H%M%SZ).txt"
# Everything below also goes to $OUT. (Not a `{ } | tee` pipeline: that would run in a subshell where the
# EXIT trap cannot see the server pids, and the servers would hold the pipe open.)
exec > >(tee "$OUT") 2>&1
echo "# /metrics benchmark $(date -u +%FT%TZ) on $(nproc) cores, wrk ${DURATION}s, 2 threads, 32 connections"
echo "## 1. render (in-process, full render without the cache; 20 runs)"
"$BIN/metrics-benchmark" render 1000 20
"$BIN/metrics-benchmark" render 10000 20

echo "## 2. wrk: daemon /metrics vs nginx static file, 1000 services"
"$BIN/metrics-benchmark" populate 1000 "$WORK/data" >/dev/null
PORT="$(free_port)"
"$BIN/service-registry" serve --host 127.0.0.1 --port "$PORT" --data-dir "$WORK/data" --log-level error \
  --scan-interval 0 >"$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/metrics" -o "$WORK/metrics.txt"
echo "daemon /metrics bytes=$(stat -c %s "$WORK/metrics.txt") (process_* values differ per scrape by a few bytes)"

NPORT="$(free_port)"
mkdir -p "$WORK/nginx/html" "$WORK/nginx/tmp"
cp "$WORK/metrics.txt" "$WORK/nginx/html/metrics"
chmod -R a+rX "$WORK"   # nginx workers run as nobody
cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type text/plain;
  client_body_temp_path $WORK/nginx/tmp; proxy_temp_path $WORK/nginx/tmp; fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp; scgi_temp_path $WORK/nginx/tmp;
  server { listen 127.0.0.1:$NPORT; root $WORK/nginx/html; }
}
CONF
"$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -e "$WORK/nginx/error.log" >/dev/null 2>&1 &
NGINX_PID=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$NPORT/metrics" -o /dev/null && break; sleep 0.1; done
if cmp -s <(curl -sf "http://127.0.0.1:$NPORT/metrics") "$WORK/metrics.txt"; then echo "nginx serves the same bytes"
else echo "nginx does not serve the file: $(cat "$WORK/nginx/error.log")" >&2; exit 1; fi

rps() { wrk -t2 -c32 -d"${DURATION}s" "$@" | awk '/Requests\/sec/ {print $2}'; }
DAEMON_RPS="$(rps "http://127.0.0.1:$PORT/metrics")"
NGINX_RPS="$(rps "http://127.0.0.1:$NPORT/metrics")"
GZIP_RPS="$(rps -H 'Accept-Encoding: gzip' -H 'Accept: application/openmetrics-text;version=1.0.0' "http://127.0.0.1:$PORT/metrics")"
echo "wrk daemon /metrics (text, identity)           req/s=$DAEMON_RPS"
echo "wrk nginx static copy                          req/s=$NGINX_RPS"
echo "ratio daemon/nginx                             $(awk -v a="$DAEMON_RPS" -v b="$NGINX_RPS" 'BEGIN {printf "%.2f", a / b}')"
echo "wrk daemon /metrics (OpenMetrics, gzip, as Prometheus asks) req/s=$GZIP_RPS"

# Shared helpers for the benchmark scripts (sourced). Loopback only; every load is bounded in time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# BENCH_TMP=/dev/shm keeps the daemons' data on tmpfs (the probe benchmarks measure the prober, not the disk).
WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/sr-bench.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { echo "missing $1: apt-get install -y $2" >&2; exit 1; }; }

wait_http() { for _ in $(seq 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# SERVICE_REGISTRY_BIN=FILE runs that binary instead (a before/after comparison in one session).
build_release() {
  if [ -n "${SERVICE_REGISTRY_BIN:-}" ]; then BIN=$SERVICE_REGISTRY_BIN; return; fi
  BIN="$("$ROOT/scripts/build-release.sh" service-registry)/service-registry"
}

# start_daemon PORT [extra args...]: starts the release daemon on 127.0.0.1:PORT with its own data dir.
# With DAEMON_CA=FILE it is an https daemon (pass --tls-* args) whose certificate FILE verifies.
start_daemon() {
  local port=$1; shift
  local ready="http://127.0.0.1:$port/ready" tls=()
  if [ -n "${DAEMON_CA:-}" ]; then ready="https://127.0.0.1:$port/ready"; tls=(--cacert "$DAEMON_CA"); fi
  # MALLOC_ARENA_MAX=2 as in packaging/service-registry.service (the production setting).
  MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} "$BIN" serve --host 127.0.0.1 --port "$port" --data-dir "$WORK/data-$port" --log-level error \
    --scan-interval 0 "$@" >"$WORK/daemon-$port.log" 2>&1 &
  DAEMON_PID=$!; PIDS+=("$DAEMON_PID")
  # Polled every 20 ms for up to READY_TIMEOUT seconds (default 10); READY_SECONDS is the time from launch to the
  # first 200 from /ready (what "restart to ready" reports).
  local started=$EPOCHREALTIME deadline=$((EPOCHSECONDS + ${READY_TIMEOUT:-10}))
  while [ "$EPOCHSECONDS" -le "$deadline" ]; do
    if curl -sf "${tls[@]}" "$ready" >/dev/null; then
      READY_SECONDS=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}'); return 0
    fi
    sleep 0.02
  done
  cat "$WORK/daemon-$port.log" >&2; return 1
}

# start_probe_target: the probe benchmarks' target, nginx on a free 127.0.0.1 port answering 200 "ok" at every path,
# one worker, a listen backlog of 8,192 (10,000 services probed at once must not wait out SYN retries).
# Sets NGINX_PORT and TARGET (http://127.0.0.1:NGINX_PORT).
start_probe_target() {
  NGINX_PORT=$(free_port)
  mkdir -p "$WORK/nginx"
  cat > "$WORK/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=8192;
    location / { return 200 "ok\n"; }
  }
}
CONF
  nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
  PIDS+=($!)
  TARGET="http://127.0.0.1:$NGINX_PORT"
  wait_http "$TARGET/"
}

# stop_daemon: SIGTERM to the daemon start_daemon started last (by PID), waits for it (at most 30 s, then
# SIGKILL) and forgets its PID, so cleanup never signals a PID that may have been reused.
stop_daemon() {
  local pid=$DAEMON_PID
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local kept=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  PIDS=("${kept[@]}")
}

# start_http_ok PORT: nginx answering 200 "ok" to every path on 127.0.0.1:PORT (a probe target; listen backlog
# 8192, one worker), as Benchmarks/probe.sh uses.
start_http_ok() {
  local port=$1 dir=$WORK/nginx-ok-$1
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $dir; proxy_temp_path $dir; fastcgi_temp_path $dir; uwsgi_temp_path $dir; scgi_temp_path $dir;
  server { listen 127.0.0.1:$port backlog=8192; keepalive_requests 1000000; location / { return 200 "ok\n"; } }
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir" -g 'daemon off;' &
  PIDS+=($!)
  for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && return 0; sleep 0.1; done
  echo "nginx did not start" >&2; return 1
}

# latency URL RUNS SECONDS [HEADER...]: sequential GETs on one keep-alive connection (at most RUNS, at most
# SECONDS), time from sending the request to the last body byte; prints "P50_MS P99_MS MAX_MS BYTES STATUS"
# (BYTES and STATUS of the last response; no decompression, so with "Accept-Encoding: gzip" BYTES is the
# compressed size).
latency() {
  python3 - "$@" <<'PY'
import http.client, sys, time, urllib.parse
url, runs, seconds, headers = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
u = urllib.parse.urlsplit(url)
h = dict(x.split(": ", 1) for x in headers)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
path = u.path + ("?" + u.query if u.query else "")
times, size, status = [], 0, 0
end = time.monotonic() + seconds
for i in range(runs + 1):
    t = time.perf_counter()
    c.request("GET", path, headers=h)
    r = c.getresponse(); body = r.read()
    if i: times.append((time.perf_counter() - t) * 1000)   # the first request warms up
    size, status = len(body), r.status
    if i and time.monotonic() > end: break
times.sort()
q = lambda p: times[min(len(times) - 1, int(len(times) * p))]
print(f"{q(0.5):.2f} {q(0.99):.2f} {times[-1]:.2f} {size} {status}")
PY
}

# start_nginx PORT ROOTDIR [CERT KEY]: nginx serving ROOTDIR statically on 127.0.0.1:PORT (https with CERT and KEY).
start_nginx() {
  local port=$1 root=$2
  local listen="listen 127.0.0.1:$port;"
  if [ -n "${3:-}" ]; then listen="listen 127.0.0.1:$port ssl; ssl_certificate $3; ssl_certificate_key $4;"; fi
  mkdir -p "$WORK/nginx-$port/logs"
  cat >"$WORK/nginx-$port/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx-$port/nginx.pid;
error_log $WORK/nginx-$port/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  types { application/json json; text/plain txt; }
  server { $listen root $root; keepalive_requests 1000000; }
}
CONF
  nginx -c "$WORK/nginx-$port/nginx.conf" -p "$WORK/nginx-$port" -g 'daemon off;' &
  PIDS+=($!)
  local scheme=http; [ -n "${3:-}" ] && scheme=https
  for _ in $(seq 50); do curl -sk -o /dev/null "$scheme://127.0.0.1:$port/" && return 0; sleep 0.1; done
  echo "nginx did not start" >&2; return 1
}

# wrk_run URL [DURATION] [extra wrk args]: prints "REQS_PER_SEC P99_MS"
wrk_run() {
  local url=$1 duration=${2:-5}; shift 2 || shift $#
  local out
  out=$(wrk -t2 -c32 -d"${duration}s" --latency "$@" "$url")
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  echo "$rps $p99"
}

rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
cpu_seconds() { awk '{printf "%.2f", ($14+$15)/100}' "/proc/$1/stat"; }

# seed PORT COUNT [PREFIX]: registers COUNT services concurrently (32 connections, group commit); over https
# when DAEMON_CA is set. With SEED_URL set, every service's url is SEED_URL (e.g. a start_http_ok target) instead
# of a port of 127.0.0.1 that mostly refuses.
seed() {
  python3 - "$1" "$2" "${3:-svc}" "${DAEMON_CA:-}" "${SEED_URL:-}" <<'PY'
import http.client, json, ssl, sys
from concurrent.futures import ThreadPoolExecutor
port, count, prefix, ca, seed_url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def worker(k):
    if ca:
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=ssl.create_default_context(cafile=ca))
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(k, count, 32):
        body = json.dumps({"name": f"{prefix}-{i:05d}", "url": seed_url or f"http://127.0.0.1:{1 + i % 60000}/health",
                           "port": 1 + i % 60000, "description": f"benchmark service {i}", "labels": {"team": "bench"}})
        c.request("POST", "/api/services", body, {"Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        assert r.status == 200, r.status
with ThreadPoolExecutor(32) as pool:
    list(pool.map(worker, range(32)))
PY
}

#!/usr/bin/env bash
# REST API benchmark (issue 2): GET /api/services with 100 and 10,000 records, POST upserts, daemon RSS,
# and nginx serving the same 100-record JSON as a static file, all in one run on loopback; then the same
# 100-record GET over HTTPS (issue 11), beside nginx serving the file over HTTPS with the same certificate.
# Usage: Benchmarks/api.sh [seconds-per-wrk-run, default 5]
source "$(dirname "$0")/lib.sh"
need wrk wrk; need nginx nginx-light; need python3 python3; need openssl openssl
D=${1:-5}
build_release
P=$(free_port); start_daemon "$P" --probe-interval 86400

seed "$P" 100
curl -s "http://127.0.0.1:$P/api/services" >"$WORK/services.json"
mkdir -p "$WORK/www" && cp "$WORK/services.json" "$WORK/www/services.json"
N=$(free_port); start_nginx "$N" "$WORK/www"
read -r get100 get100p99 < <(wrk_run "http://127.0.0.1:$P/api/services" "$D")
read -r nginx100 nginx100p99 < <(wrk_run "http://127.0.0.1:$N/services.json" "$D")
rss100=$(rss_mb "$DAEMON_PID")

# HTTPS: a second daemon with a throwaway certificate, the same 100 records; wrk keeps its connections alive
# (as Prometheus and pollers do), so this is the cost of encryption, not of handshakes.
PLAIN_PID=$DAEMON_PID
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/tls.key" -out "$WORK/tls.crt" \
  -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
S=$(free_port); DAEMON_CA="$WORK/tls.crt" start_daemon "$S" --probe-interval 86400 --tls-cert-file "$WORK/tls.crt" --tls-key-file "$WORK/tls.key"
DAEMON_CA="$WORK/tls.crt" seed "$S" 100
TLS_PID=$DAEMON_PID; DAEMON_PID=$PLAIN_PID
curl -s --cacert "$WORK/tls.crt" "https://127.0.0.1:$S/api/services" |
  python3 -c 'import json,sys; n=len(json.load(sys.stdin)); sys.exit(0 if n == 100 else f"https list has {n} records")'
NS=$(free_port); start_nginx "$NS" "$WORK/www" "$WORK/tls.crt" "$WORK/tls.key"
read -r gettls gettlsp99 < <(wrk_run "https://127.0.0.1:$S/api/services" "$D")
read -r nginxtls nginxtlsp99 < <(wrk_run "https://127.0.0.1:$NS/services.json" "$D")
kill "$TLS_PID"; wait "$TLS_PID" 2>/dev/null || true

# Upserts: each request registers one of 2,000 names (creates, then updates), 32 connections.
cat >"$WORK/upsert.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"name":"upsert-%d-%d","url":"http://127.0.0.1:9/h","port":%d}', math.random(1, 20), n % 100, 1 + n % 60000)
  return wrk.format("POST", "/api/services", {["Content-Type"] = "application/json"}, body)
end
LUA
read -r post postp99 < <(wrk_run "http://127.0.0.1:$P/api/services" "$D" -s "$WORK/upsert.lua")

count() { curl -s "http://127.0.0.1:$P/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["services"])'; }
seed "$P" $((10000 - $(count))) big
count=$(count)
sleep 3   # the heap is trimmed 2 s after a write burst
rss10k=$(rss_mb "$DAEMON_PID")
read -r get10k get10kp99 < <(wrk_run "http://127.0.0.1:$P/api/services" "$D")
bytes10k=$(curl -s "http://127.0.0.1:$P/api/services" | wc -c)
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
start_daemon "$P" --probe-interval 86400
rssRestart=$(rss_mb "$DAEMON_PID")
# The same data with the default probe interval (60 s: about 170 probes/s, to loopback ports that mostly refuse).
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
start_daemon "$P"
sleep 15
rssProbing=$(rss_mb "$DAEMON_PID")

printf '\n%-46s %12s %10s\n' "measurement" "req/s" "p99 ms"
printf '%-46s %12s %10s\n' "GET /api/services, 100 records" "$get100" "$get100p99"
printf '%-46s %12s %10s\n' "nginx static, same 100-record JSON" "$nginx100" "$nginx100p99"
printf '%-46s %12s %10s\n' "GET /api/services over HTTPS, 100 records" "$gettls" "$gettlsp99"
printf '%-46s %12s %10s\n' "nginx static over HTTPS, same JSON" "$nginxtls" "$nginxtlsp99"
printf '%-46s %12s %10s\n' "POST /api/services upserts" "$post" "$postp99"
printf '%-46s %12s %10s\n' "GET /api/services, $count records ($bytes10k B)" "$get10k" "$get10kp99"
python3 -c "print(f'\nGET 100 / nginx static: {$get100/$nginx100:.2f}x (target >= 0.5x)')"
python3 -c "print(f'GET 100 over HTTPS / plain: {$gettls/$get100:.2f}x; / nginx static over HTTPS: {$gettls/$nginxtls:.2f}x')"
echo "daemon RSS: ${rss100} MB with 100 records; with $count records: ${rss10k} MB after registering them, ${rssRestart} MB after a restart (target < 50 MB)"
echo "daemon RSS with $count records probed every 60 s (the default), 15 s after start: ${rssProbing} MB"

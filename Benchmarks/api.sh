#!/usr/bin/env bash
# REST API benchmark (issue 2): GET /api/services with 100 and 10,000 records, POST upserts, daemon RSS,
# and nginx serving the same 100-record JSON as a static file, all in one run on loopback.
# Usage: Benchmarks/api.sh [seconds-per-wrk-run, default 5]
source "$(dirname "$0")/lib.sh"
need wrk wrk; need nginx nginx-light; need python3 python3
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
printf '%-46s %12s %10s\n' "POST /api/services upserts" "$post" "$postp99"
printf '%-46s %12s %10s\n' "GET /api/services, $count records ($bytes10k B)" "$get10k" "$get10kp99"
python3 -c "print(f'\nGET 100 / nginx static: {$get100/$nginx100:.2f}x (target >= 0.5x)')"
echo "daemon RSS: ${rss100} MB with 100 records; with $count records: ${rss10k} MB after registering them, ${rssRestart} MB after a restart (target < 50 MB)"
echo "daemon RSS with $count records probed every 60 s (the default), 15 s after start: ${rssProbing} MB"

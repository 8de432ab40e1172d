#!/bin/bash
# Writes a data directory with the daemon of the current checkout, for the storage golden fixture
# (Tests/ServiceRegistryTests/Fixtures/datadir-v*/, docs/STORAGE.md).
# usage: scripts/make-datadir-fixture.sh OUT_DIR [BINARY]
#   BINARY defaults to .build/debug/service-registry (build it first: swift build).
# Everything listens on 127.0.0.1; every process started here is stopped by its PID at the end.
# What it writes: API records with http, https-less tcp, ttl (fresh and expired) checks, labels, every optional
# field; systemd-discovered records (from a fake systemctl) with user-owned overrides; a deleted discovered unit
# (the ignored list); a non-NFC name; status and health history; probe results with phases; uptime rollups.
set -euo pipefail
OUT=${1:?usage: $0 OUT_DIR [BINARY]}
BIN=${2:-.build/debug/service-registry}
TOKEN=fixture-token
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A fake systemctl: three units; their cgroups do not exist, so discovery finds no ports.
cat > "$WORK/systemctl" <<'SH'
#!/bin/sh
case "$*" in
  *list-units*)
    echo '[{"unit":"web.service","load":"loaded","active":"active","sub":"running","description":"Web front end"},'
    echo ' {"unit":"worker.service","load":"loaded","active":"failed","sub":"failed","description":"Queue worker"},'
    echo ' {"unit":"gone.service","load":"loaded","active":"inactive","sub":"dead","description":"Removed later"}]' ;;
  *show*)
    printf 'Id=web.service\nDescription=Web front end\nLoadState=loaded\nActiveState=active\nSubState=running\nMainPID=0\nControlGroup=/system.slice/fixture-web.service\nNRestarts=0\n\n'
    printf 'Id=worker.service\nDescription=Queue worker\nLoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\nControlGroup=\nNRestarts=3\n\n'
    printf 'Id=gone.service\nDescription=Removed later\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nMainPID=0\nControlGroup=\nNRestarts=0\n' ;;
  *) exit 1 ;;
esac
SH
chmod +x "$WORK/systemctl"

# Probe targets: an HTTP server (healthy) and a plain TCP listener.
HTTP_PORT=$(free_port)
python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$WORK" >/dev/null 2>&1 &
PIDS+=($!)
TCP_PORT=$(free_port)
python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); time.sleep(600)' "$TCP_PORT" &
PIDS+=($!)
CLOSED_PORT=$(free_port)

PORT=$(free_port)
mkdir -p "$OUT"
"$BIN" serve --host 127.0.0.1 --port "$PORT" --data-dir "$OUT" --api-token "$TOKEN" --systemctl "$WORK/systemctl" \
    --scan-interval 0 --probe-interval 1 --probe-timeout 0.5 >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
PIDS+=($DAEMON)
API=http://127.0.0.1:$PORT
for _ in $(seq 100); do curl -sf "$API/health" >/dev/null && break; sleep 0.1; done

call() { curl -sf -X "$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$API$2" ${3:+-d "$3"}; echo; }

call POST /api/services "{\"name\":\"billing-api\",\"url\":\"http://127.0.0.1:$HTTP_PORT/\",\"port\":$HTTP_PORT,\"description\":\"Billing API\",\"labels\":{\"team\":\"payments\",\"env\":\"prod\"},\"probe_interval_seconds\":1,\"probe_timeout_seconds\":0.5,\"follow_redirects\":true,\"rise\":2,\"fall\":3,\"deregister_after_seconds\":86400}"
call POST /api/services "{\"name\":\"search\",\"url\":\"http://127.0.0.1:$CLOSED_PORT/\",\"health_url\":\"http://127.0.0.1:$CLOSED_PORT/healthz\",\"status\":\"active\"}"
call POST /api/services "{\"name\":\"postgres\",\"url\":\"http://127.0.0.1:$TCP_PORT/\",\"health_url\":\"tcp://127.0.0.1:$TCP_PORT\",\"labels\":{\"kind\":\"database\"}}"
call POST /api/services '{"name":"batch-job","url":"http://127.0.0.1:9/","ttl_seconds":3600}'
call POST /api/services/4/heartbeat '{"status":"warning","output":"queue is long"}'
call POST /api/services '{"name":"cron-job","url":"http://127.0.0.1:9/","ttl_seconds":1}'
# "cafe\u0301": a name not in NFC (the name index is keyed in NFC, the record keeps the name as sent).
call POST /api/services '{"name":"cafe\u0301","url":"http://127.0.0.1:9/","status":"inactive","probe_interval_seconds":86400}'
call PUT /api/services/6 '{"status":"active","description":"status changed once"}'
call POST /api/scan
# Look discovered records up by unit.
id_of() { curl -sf -H "Authorization: Bearer $TOKEN" "$API/api/services" | python3 -c "import json,sys; print(next(s['id'] for s in json.load(sys.stdin) if s['unit']==sys.argv[1]))" "$1"; }
WEB=$(id_of web.service); GONE=$(id_of gone.service)
call PUT "/api/services/$WEB" "{\"url\":\"http://127.0.0.1:$HTTP_PORT/\",\"port\":$HTTP_PORT,\"labels\":{\"owner\":\"ops\"}}"
call DELETE "/api/services/$GONE"
# Let the prober run a few rounds (results, phases, health transitions, TTL expiry, rollups).
sleep 6
call POST /api/services/2/check || true
kill -TERM "$DAEMON"
wait "$DAEMON" || true
rm -f "$OUT/lock.mdb" "$OUT/daemon.lock"
tail -2 "$WORK/daemon.log"

# What the API showed from this directory, read back by the same binary from a copy (nothing probes or scans):
# the golden fixture's test compares what a later build reads from the directory with these.
cp -r "$OUT" "$WORK/readback"
"$BIN" serve --host 127.0.0.1 --port "$PORT" --data-dir "$WORK/readback" --scan-interval 0 --probe-interval 0 >"$WORK/readback.log" 2>&1 &
DAEMON=$!
PIDS+=($DAEMON)
for _ in $(seq 100); do curl -sf "$API/health" >/dev/null && break; sleep 0.1; done
curl -sf "$API/api/services" | python3 -m json.tool --indent 1 > "$OUT/api-services.json"
python3 - "$API" "$OUT/api-services.json" > "$OUT/api-history.json" <<'PY'
import json, sys, urllib.request
api, services = sys.argv[1], json.load(open(sys.argv[2]))
history = {str(s["id"]): json.load(urllib.request.urlopen(f"{api}/api/services/{s['id']}/history")) for s in services}
print(json.dumps(history, indent=1, sort_keys=True))
PY
kill -TERM "$DAEMON"
wait "$DAEMON" || true
ls -la "$OUT"

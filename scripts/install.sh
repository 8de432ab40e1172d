#!/usr/bin/env bash
# Installs service-registry on a Debian host (as root) and starts it with working defaults:
# listens on 0.0.0.0:8000, data in /var/lib/service-registry. Needs a Swift 6.2+ toolchain on PATH.
# Settings go to /etc/default/service-registry (e.g. SERVICE_REGISTRY_TOKEN=...).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
command -v swift >/dev/null || { echo "install.sh: swift not found on PATH (install a Swift 6.2+ toolchain)" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends liblmdb-dev libcurl4-openssl-dev pkg-config zlib1g-dev curl >/dev/null

bin=$(scripts/build-release.sh service-registry)
install -m 0755 "$bin/service-registry" /usr/local/bin/service-registry
install -d -m 0755 /usr/local/share/doc/service-registry
install -m 0644 README.md /usr/local/share/doc/service-registry/README.md
install -d -m 0750 /var/lib/service-registry
port=$(. /etc/default/service-registry 2>/dev/null; echo "${SERVICE_REGISTRY_PORT:-8000}")

if [ -d /run/systemd/system ]; then
  install -m 0644 packaging/service-registry.service /etc/systemd/system/service-registry.service
  systemctl daemon-reload
  systemctl enable service-registry >/dev/null
  systemctl restart service-registry
else
  # No systemd as PID 1 (a container): run it in the background instead.
  pkill -f '^/usr/local/bin/service-registry serve' 2>/dev/null && sleep 1 || true
  set -a; [ -f /etc/default/service-registry ] && . /etc/default/service-registry; set +a
  MALLOC_ARENA_MAX=2 nohup /usr/local/bin/service-registry serve --data-dir /var/lib/service-registry \
    >>/var/log/service-registry.log 2>&1 </dev/null &
  echo "systemd is not running: started in the background, log in /var/log/service-registry.log"
fi

for _ in $(seq 50); do
  if curl -sf "http://127.0.0.1:$port/ready" >/dev/null; then
    echo "service-registry is up: http://127.0.0.1:$port/ (API at /api/services, metrics at /metrics)"
    exit 0
  fi
  sleep 0.2
done
echo "install.sh: service-registry did not become ready; see journalctl -u service-registry or /var/log/service-registry.log" >&2
exit 1

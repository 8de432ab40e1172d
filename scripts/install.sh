#!/usr/bin/env bash
# Installs service-registry on a Debian host (as root) and starts it with working defaults:
# listens on 0.0.0.0:8000, data in /var/lib/service-registry, runs as the unprivileged system user
# `service-registry` (with only CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, for discovery). Needs a Swift 6.2+ toolchain on PATH.
# Settings go to /etc/default/service-registry; on first install it is created (mode 0600) with a random
# SERVICE_REGISTRY_TOKEN, which writes then need (`Authorization: Bearer ...`). It is never overwritten.
set -euo pipefail

settings_file=/etc/default/service-registry
service_user=service-registry
pid_file=/run/service-registry.pid

# A random token: 32 bytes from the kernel, in hex.
random_token() {
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
}

# Creates the settings file FILE (mode 0600) with a random token when it does not exist; a file that exists
# is never overwritten, but one that assigns no token at all gets one appended (an explicit empty
# `SERVICE_REGISTRY_TOKEN=` is respected: writes stay open). Prints what it did.
write_settings_file() {
  local file=$1
  if [ ! -e "$file" ]; then
    (umask 077; printf '# service-registry settings (read by the systemd unit and by the client subcommands).\n# Writes need: Authorization: Bearer $SERVICE_REGISTRY_TOKEN\nSERVICE_REGISTRY_TOKEN=%s\n' "$(random_token)" >"$file")
    chmod 0600 "$file"
    echo "created $file with a random SERVICE_REGISTRY_TOKEN (mode 0600): writes need it as a bearer token"
  elif ! grep -Eq '^[[:space:]]*(export[[:space:]]+)?SERVICE_REGISTRY_(API_)?TOKEN=' "$file"; then
    printf 'SERVICE_REGISTRY_TOKEN=%s\n' "$(random_token)" >>"$file"
    chmod go-rwx "$file"
    echo "added a random SERVICE_REGISTRY_TOKEN to $file: writes need it as a bearer token"
  else
    echo "kept $file as it is (its token is unchanged)"
  fi
}

# Stops the daemon this script started without systemd (by the PID it recorded, only if that PID is still
# our binary), never other instances.
stop_background_daemon() {
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/local/bin/service-registry ]; then
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$file"
}

main() {
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
  id -u "$service_user" >/dev/null 2>&1 \
    || useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$service_user"
  install -d -m 0700 -o "$service_user" -g "$service_user" /var/lib/service-registry
  # Data written by earlier versions, which ran as root.
  chown -R "$service_user:$service_user" /var/lib/service-registry
  write_settings_file "$settings_file"
  port=$(. "$settings_file" 2>/dev/null; echo "${SERVICE_REGISTRY_PORT:-8000}")

  if [ -d /run/systemd/system ]; then
    install -m 0644 packaging/service-registry.service /etc/systemd/system/service-registry.service
    systemctl daemon-reload
    systemctl enable service-registry >/dev/null
    systemctl restart service-registry
  else
    # No systemd as PID 1 (a container): run it in the background, unprivileged as under the unit, and
    # remember its PID so that the next install stops this instance and no other.
    stop_background_daemon "$pid_file"
    set -a; . "$settings_file"; set +a
    MALLOC_ARENA_MAX=2 nohup setpriv --reuid="$service_user" --regid="$service_user" --init-groups \
      --inh-caps=-all,+sys_ptrace,+dac_read_search --ambient-caps=-all,+sys_ptrace,+dac_read_search \
      --bounding-set=-all,+sys_ptrace,+dac_read_search \
      /usr/local/bin/service-registry serve --data-dir /var/lib/service-registry \
      >>/var/log/service-registry.log 2>&1 </dev/null &
    echo $! >"$pid_file"
    echo "systemd is not running: started in the background (PID $(cat "$pid_file") in $pid_file), log in /var/log/service-registry.log"
  fi

  for _ in $(seq 50); do
    if curl -sf "http://127.0.0.1:$port/ready" >/dev/null; then
      echo "service-registry is up: http://127.0.0.1:$port/ (API at /api/services, metrics at /metrics)"
      echo "writes need the token in $settings_file, e.g.:"
      echo "  curl -H \"Authorization: Bearer \$(sudo sed -n 's/^SERVICE_REGISTRY_TOKEN=//p' $settings_file)\" -X POST http://127.0.0.1:$port/api/scan"
      exit 0
    fi
    sleep 0.2
  done
  echo "install.sh: service-registry did not become ready; see journalctl -u service-registry or /var/log/service-registry.log" >&2
  exit 1
}

# Sourcing the script (tests do) defines the functions without installing anything.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi

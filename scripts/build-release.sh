#!/usr/bin/env bash
# Builds the release products (default: service-registry) and prints the directory holding them.
# Release builds link the Swift runtime and Foundation statically (--static-swift-stdlib):
# - the daemon then maps no shared Swift libraries, whose symbol tables and relocations cost about 4.6 MB
#   of resident memory (Benchmarks/api.sh measures it);
# - the installed binary runs on a host without the Swift toolchain (it needs only the apt libraries).
# Every release build goes through here, so .build/release is never rebuilt with other flags.
set -euo pipefail
cd "$(dirname "$0")/.."
products=("$@"); [ ${#products[@]} -gt 0 ] || products=(service-registry)
log=$(mktemp); trap 'rm -f "$log"' EXIT
for product in "${products[@]}"; do
  # Quiet unless the build fails: benchmark scripts print their figures on stdout.
  swift build -c release --static-swift-stdlib --product "$product" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
done
swift build -c release --static-swift-stdlib --show-bin-path

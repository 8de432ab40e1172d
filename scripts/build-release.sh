#!/usr/bin/env bash
# Builds the release products (default: service-registry) and prints the directory holding them.
# Two choices, both for a leaner daemon (Benchmarks/api.sh measures RSS):
# - --static-swift-stdlib: the Swift runtime and Foundation are linked in, so no shared Swift libraries are mapped
#   (their symbol tables and relocations cost 4.6 MB), and the installed binary runs on a host without the Swift
#   toolchain (it needs only the apt libraries).
# - lld with packed relative relocations (DT_RELR; needs glibc >= 2.36, i.e. Debian 12 or later): the relocation
#   table of the position-independent binary shrinks from 2.5 MB, read at every start and kept resident, to 20 KB
#   (2.6 MB less RSS). The binary stays position-independent, so ASLR still applies.
# Every release build goes through here, so .build/release is never rebuilt with other flags.
set -euo pipefail
# --force-resolved-versions: exactly the dependency versions committed in Package.resolved (reproducible builds).
flags=(-c release --static-swift-stdlib --force-resolved-versions --explicit-target-dependency-import-check error)
toolchain_bin=$(dirname "$(readlink -f "$(command -v swift)")")
if [ -x "$toolchain_bin/ld.lld" ] || command -v ld.lld >/dev/null; then
  flags+=(-Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld -Xlinker -z -Xlinker pack-relative-relocs)
else
  echo "build-release.sh: no ld.lld in the toolchain; linking without packed relocations (about 2.6 MB more RSS)" >&2
fi
cd "$(dirname "$0")/.."
products=("$@"); [ ${#products[@]} -gt 0 ] || products=(service-registry)
log=$(mktemp); trap 'rm -f "$log"' EXIT
for product in "${products[@]}"; do
  # Quiet unless the build fails: benchmark scripts print their figures on stdout.
  swift build "${flags[@]}" --product "$product" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
done
swift build "${flags[@]}" --show-bin-path

#!/usr/bin/env bash
# Lints the Swift sources with the toolchain's swift-format and the repository's .swift-format
# (150-column lines, 4-space indent). Exit status non-zero on any finding.
#   scripts/lint.sh            # lint (what CI will run)
#   scripts/lint.sh --fix      # rewrite the files in place with `swift format format`, then lint
# .ci/run runs it before the suite: code that does not pass does not land.
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Sources Tests Package.swift Benchmarks/metrics)
if [ "${1:-}" = "--fix" ]; then
  swift format format --in-place --parallel --recursive "${paths[@]}"
fi
exec swift format lint --strict --parallel --recursive "${paths[@]}"

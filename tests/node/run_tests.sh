#!/usr/bin/env bash
# Runs the official Node.js client tests against real `kiroku serve` processes.
# Usage: run_tests.sh path/to/kiroku
set -euo pipefail
KIROKU_BIN=$(realpath "${1:?usage: run_tests.sh path/to/kiroku}")
export KIROKU_BIN
cd "$(dirname "$0")"
# Exactly the locked versions; no install scripts are needed by these packages.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --ignore-scripts >/dev/null
fi
# Only the committed suites (scratch files are named _*.mjs and not matched).
exec node --test --test-concurrency=1 --test-timeout=120000 ./[a-z]*.test.mjs

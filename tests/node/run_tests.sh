#!/usr/bin/env bash
# Runs the official Node.js client tests against real `kiroku serve` processes.
# Usage: run_tests.sh path/to/kiroku
set -euo pipefail
cd "$(dirname "$0")"
export KIROKU_BIN=${1:?usage: run_tests.sh path/to/kiroku}
# Exactly the locked versions; no install scripts are needed by these packages.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --ignore-scripts >/dev/null
fi
exec node --test --test-concurrency=1 --test-timeout=120000 ./*.test.mjs

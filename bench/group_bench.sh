#!/usr/bin/env bash
# Consumer-group benchmark (issue: persistent subscriptions). Starts a private
# `kiroku serve` (durable mode) on loopback in a temporary directory, runs
# kiroku-group-bench against it, stops it. Bounded in time.
set -euo pipefail
KIROKU=${1:?usage: group_bench.sh path/to/kiroku path/to/kiroku-group-bench [args]}
BENCH=${2:?usage: group_bench.sh path/to/kiroku path/to/kiroku-group-bench [args]}
shift 2
DIR=$(mktemp -d)
LOG=$DIR/server.log
"$KIROKU" serve --data "$DIR/data" --port 0 --http-port 0 >"$LOG" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do grep -q 'gRPC' "$LOG" && break; sleep 0.1; done
PORT=$(sed -n 's/.*gRPC  [0-9.]*:\([0-9]*\).*/\1/p' "$LOG")
echo "== kiroku consumer-group benchmark: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), durable (fdatasync per group); load generator on the same cores"
timeout 900 "$BENCH" --url "esdb://127.0.0.1:$PORT?tls=false" "$@"

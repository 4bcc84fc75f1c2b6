#!/usr/bin/env bash
# Server benchmarks over gRPC (issue: KurrentDB-compatible server). Starts a private
# `kiroku serve` (durable mode) on loopback in a temporary directory, runs
# `kiroku bench append|subscribe` against it, stops it. Bounded in time.
set -euo pipefail
KIROKU=${1:?usage: server_bench.sh path/to/kiroku}
DIR=$(mktemp -d)
LOG=$DIR/server.log
"$KIROKU" serve --data "$DIR/data" --port 0 --http-port 0 >"$LOG" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do grep -q 'gRPC' "$LOG" && break; sleep 0.1; done
PORT=$(sed -n 's/.*gRPC  [0-9.]*:\([0-9]*\).*/\1/p' "$LOG")
URL="esdb://127.0.0.1:$PORT?tls=false"
echo "== kiroku server benchmark: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), durable (fdatasync per group)"
timeout 300 "$KIROKU" bench append --url "$URL" --events 400000 --batch 100 --connections 4 || echo "  (this workload missed its goal or failed; see above)"
timeout 300 "$KIROKU" bench append --url "$URL" --events 60000 --batch 1 --concurrency 64 --connections 4 || echo "  (this workload missed its goal or failed; see above)"
timeout 300 "$KIROKU" bench subscribe --url "$URL" --subscribers 10 --rate 10000 --seconds 10 || echo "  (this workload missed its goal or failed; see above)"
timeout 300 "$KIROKU" bench subscribe --url "$URL" --subscribers 2 --rate 5000 --seconds 10 || echo "  (this workload missed its goal or failed; see above)"

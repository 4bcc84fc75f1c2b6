#!/usr/bin/env bash
# The projection benchmark with a private PostgreSQL 15 server (started here, stopped after):
#   bench/projection_bench.sh BUILD_DIR/kiroku-projection-bench [extra flags, e.g. --events N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: projection_bench.sh path/to/kiroku-projection-bench [flags]}
shift
# Benchmark settings for the throwaway cluster (not for production).
export PG_FSYNC=off PG_SHARED_BUFFERS=1GB
source "$here/../tests/projections/pg_cluster.sh"
pg_cluster_start
"$bin" --dir "${KIROKU_BENCH_DIR:-./bench-data-projections}" --pg-url "$KIROKU_TEST_PG_URL" "$@"

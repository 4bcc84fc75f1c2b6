#!/usr/bin/env bash
# Runs the projection tests against a real PostgreSQL server started here (and stopped
# afterwards): the same runner suite the SQLite target runs, and the SIGKILL rounds.
# Usage: run_pg_tests.sh RUNNER_TEST_BIN [KILL_TEST_BIN]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/pg_cluster.sh"
pg_cluster_start
"$1" --gtest_filter='*postgresql*'
if [ $# -ge 2 ]; then
  "$2" --gtest_filter='*postgresql*'
fi

#!/usr/bin/env bash
# End-to-end tests of examples/studylog over HTTP against real processes: a private
# `kiroku serve` with the studylog projections and the `studylog` service, started and
# stopped by the test files themselves (tests/studylog/harness.mjs); this script only
# provides the binaries, a scratch directory and, for postgresql, a private PostgreSQL 15
# cluster (tests/projections/pg_cluster.sh). Node 20's built-in test runner and fetch; no
# npm packages.
# Usage: run_tests.sh KIROKU_BIN STUDYLOG_BIN STUDYLOG_GEN_BIN [sqlite|postgresql]
set -euo pipefail
usage="usage: run_tests.sh KIROKU_BIN STUDYLOG_BIN STUDYLOG_GEN_BIN [sqlite|postgresql]"
KIROKU_BIN=$(realpath "${1:?$usage}")
STUDYLOG_BIN=$(realpath "${2:?$usage}")
STUDYLOG_GEN_BIN=$(realpath "${3:?$usage}")
STUDYLOG_BACKEND=${4:-sqlite}
case "$STUDYLOG_BACKEND" in sqlite | postgresql) ;; *) echo "$usage" >&2; exit 2 ;; esac
for b in "$KIROKU_BIN" "$STUDYLOG_BIN" "$STUDYLOG_GEN_BIN"; do
  [ -x "$b" ] || { echo "run_tests.sh: $b is not an executable" >&2; exit 2; }
done
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
STUDYLOG_TEST_WORK=$(mktemp -d "${TMPDIR:-/tmp}/studylog-e2e-$STUDYLOG_BACKEND.XXXXXX")
export KIROKU_BIN STUDYLOG_BIN STUDYLOG_GEN_BIN STUDYLOG_BACKEND STUDYLOG_TEST_WORK
export STUDYLOG_PROJECTIONS=${STUDYLOG_PROJECTIONS:-$root/examples/studylog/projections}

# Whatever happens (a failure, a timeout, a signal): no process of ours survives, the
# PostgreSQL cluster is stopped and the scratch directory removed. The harness already
# kills its children when a test file ends; this catches a test file killed outright.
NODE_PID=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$NODE_PID" ]; then kill -TERM "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; fi
  if [ -f "$STUDYLOG_TEST_WORK/pids" ]; then
    # Only a process that is still ours: it carries this run's STUDYLOG_TEST_WORK.
    while read -r pid _; do
      if tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF "STUDYLOG_TEST_WORK=$STUDYLOG_TEST_WORK"; then
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done <"$STUDYLOG_TEST_WORK/pids"
  fi
  if [ "$rc" -ne 0 ]; then
    # The servers' own logs help more than a stack trace.
    for f in "$STUDYLOG_TEST_WORK"/*/kiroku.log "$STUDYLOG_TEST_WORK"/*/studylog.log; do
      [ -f "$f" ] || continue
      echo "----- ${f#"$STUDYLOG_TEST_WORK"/} (last 25 lines)" >&2
      tail -n 25 "$f" >&2
    done
  fi
  if [ "$STUDYLOG_BACKEND" = postgresql ]; then pg_cluster_stop; fi
  if [ -z "${STUDYLOG_KEEP_WORK:-}" ]; then rm -rf "$STUDYLOG_TEST_WORK"; else echo "kept $STUDYLOG_TEST_WORK" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$STUDYLOG_BACKEND" = postgresql ]; then
  # shellcheck source=../projections/pg_cluster.sh
  source "$root/tests/projections/pg_cluster.sh"
  pg_cluster_start
  trap cleanup EXIT # pg_cluster_start sets its own EXIT trap; cleanup stops the cluster too
  export STUDYLOG_TEST_PG_URL=$KIROKU_TEST_PG_URL
  export STUDYLOG_TEST_PSQL=$PG_BIN/psql
fi

cd "$here"
echo "studylog e2e ($STUDYLOG_BACKEND): $(node --version), work dir $STUDYLOG_TEST_WORK"
# Only the committed suites (scratch files are named _*.mjs and not matched), or the ones
# named in STUDYLOG_TEST_FILES. A hard bound below CTest's TIMEOUT, so that cleanup always
# runs.
# shellcheck disable=SC2086
timeout -k 10 "${STUDYLOG_TEST_TIMEOUT:-400}" \
  node --test --test-concurrency="${STUDYLOG_TEST_CONCURRENCY:-1}" --test-timeout=300000 \
  ${STUDYLOG_TEST_FILES:-./[a-z]*.test.mjs} &
NODE_PID=$!
set +e
wait "$NODE_PID"
rc=$?
set -e
NODE_PID=
exit "$rc"

#!/usr/bin/env bash
# `make run`'s script (examples/studylog/run.sh) end to end: first start loads a sample and
# serves pages, Ctrl-C (SIGINT to the process group) stops kiroku and studylog cleanly, a
# second start keeps the data (no reload, same pages, the lesson written before is there).
#   make_run_test.sh BUILD_DIR
set -euo pipefail
set -m  # job control: the background script gets its own process group, like a terminal's
BUILD=$(cd "${1:?usage: make_run_test.sh BUILD_DIR}" && pwd)
RUN_SH=$(cd "$(dirname "$0")/../../examples/studylog" && pwd)/run.sh
WORK=$(mktemp -d)
cleanup() {
  [ -n "${PGID:-}" ] && kill -KILL -- "-$PGID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- run output:" >&2; cat "$WORK"/run*.out >&2 || true; exit 1; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
export KIROKU_PORT=$(free_port) KIROKU_HTTP_PORT=$(free_port) STUDYLOG_PORT=$(free_port)
export STUDYLOG_SAMPLE_LEARNERS=200 STUDYLOG_SAMPLE_EVENTS=3000
API="http://127.0.0.1:$STUDYLOG_PORT"
cd "$WORK"

start() {  # $1: output file
  bash "$RUN_SH" "$BUILD" >"$1" 2>&1 &
  PGID=$!
  for _ in $(seq 600); do
    grep -q 'Ctrl-C stops both' "$1" && return 0
    kill -0 "$PGID" 2>/dev/null || fail "run.sh exited early"
    sleep 0.2
  done
  fail "run.sh did not become ready in 120 s"
}
stop() {  # Ctrl-C: SIGINT to the whole process group
  kill -INT -- "-$PGID"
  for _ in $(seq 150); do
    pgrep -g "$PGID" >/dev/null || break
    sleep 0.2
  done
  pgrep -g "$PGID" >/dev/null && fail "processes left after Ctrl-C: $(pgrep -g "$PGID" -a)"
  wait "$PGID" 2>/dev/null || true
  PGID=
}
page() { curl -sf "$API/groups/g00000/learners?sort=minutes&limit=50"; }
wait_for() {  # $1: a command that must succeed within 10 s
  for _ in $(seq 100); do eval "$1" && return 0; sleep 0.1; done
  fail "timed out waiting for: $1"
}

start run1.out
grep -q 'First run: loading a sample' run1.out || fail "first run loaded no sample"
[ -f data/.sample-loaded ] || fail "no sample marker"
wait_for '[ "$(curl -sf "$API/learners/l000000" | grep -o "\"lessons\":[0-9]*")" != "" ]'
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$API/learners/l000000/lessons" \
  -d '{"lesson_id":"make-run-test","minutes":600,"score":50,"completed_at":"2026-01-02T03:04:05Z"}')
[ "$code" = 201 ] || fail "lesson POST answered $code"
wait_for 'curl -sf "$API/learners/l000000/history" | grep -q make-run-test'
wait_for '[ "$(page)" = "$(curl -sf "$API/naive/groups/g00000/learners?sort=minutes&limit=50")" ]'
before=$(page)
echo "$before" | grep -q '"learner_id"' || fail "empty group page: $before"
stop
grep -q 'Stopped.' run1.out || fail "no clean stop message"

start run2.out
grep -q 'First run' run2.out && fail "second run loaded the sample again"
wait_for '[ "$(page)" = "$before" ]'
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$API/learners/l000000/lessons" \
  -d '{"lesson_id":"make-run-test","minutes":600,"score":50}')
[ "$code" = 200 ] || fail "repeating the lesson after a restart answered $code, not 200 (duplicate)"
stop
echo "make_run_test: ok (sample loaded once, pages kept across a restart, clean Ctrl-C)"

#!/usr/bin/env bash
# `kiroku projection …` and `kiroku serve --projections` end to end with SQLite files: spec
# errors with FILE:LINE, a projection inside the server (HTTP /projections and /metrics),
# rebuild of version 2 beside the live version 1 while appends continue, verify, switch,
# drop, and a failing projection's status.
set -euo pipefail
KIROKU=${1:?usage: cli_test.sh path/to/kiroku}
DIR=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill -9 "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [ -f "$DIR/server.out" ] && tail -20 "$DIR/server.out" >&2
  exit 1
}
mkdir -p "$DIR/specs" "$DIR/v2" "$DIR/read"

spec() {  # spec VERSION TARGET
  cat <<YAML
name: learners
version: $1
source: { categories: [learner] }
target: sqlite:$2
schema: |
  CREATE TABLE learners(learner_id TEXT NOT NULL PRIMARY KEY, group_id TEXT,
    study_days INTEGER NOT NULL, minutes INTEGER NOT NULL, last_day TEXT);
  CREATE INDEX learners_by_group ON learners(group_id);
on:
  JoinedGroup: INSERT INTO learners VALUES (:data.learner_id, :data.group_id, 0, 0, NULL)
  LessonCompleted: |
    UPDATE learners SET minutes = minutes + :data.minutes,
      study_days = study_days + CASE WHEN last_day IS NULL OR last_day <> :data.day
                                     THEN 1 ELSE 0 END,
      last_day = :data.day
    WHERE learner_id = :data.learner_id
batch: { events: 100, ms: 10 }
YAML
}
spec 1 "$DIR/read/learners.db" >"$DIR/specs/learners.yaml"
spec 2 "$DIR/read/learners.db" >"$DIR/v2/learners.yaml"

# --- spec errors name the file and line, and carry the database's message
sed 's/UPDATE learners SET minutes/UPDATE learnerz SET minutes/' "$DIR/specs/learners.yaml" \
  >"$DIR/bad.yaml"
set +e
"$KIROKU" projection validate "$DIR/bad.yaml" 2>"$DIR/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "validate exit code $rc"
grep -q "bad.yaml:12: LessonCompleted: no such table: learnerz" "$DIR/err" ||
  fail "validate message: $(cat "$DIR/err")"
sed 's/:data.group_id/:data.group_id, :event.typo/' "$DIR/specs/learners.yaml" >"$DIR/bad2.yaml"
set +e
"$KIROKU" projection validate "$DIR/bad2.yaml" 2>"$DIR/err"
set -e
grep -q "bad2.yaml:10: JoinedGroup: unknown parameter :event.typo" "$DIR/err" ||
  fail "unknown parameter message: $(cat "$DIR/err")"
"$KIROKU" projection validate "$DIR/specs/learners.yaml" | grep -q ok || fail "validate ok"

# --- a projection inside the server
"$KIROKU" serve --data "$DIR/data" --port 0 --http-port 0 --durability none \
  --projections "$DIR/specs" >"$DIR/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do grep -q 'HTTP' "$DIR/server.out" && break; sleep 0.1; done
PORT=$(sed -n 's/.*gRPC  [0-9.]*:\([0-9]*\).*/\1/p' "$DIR/server.out")
HTTP=$(sed -n 's/.*http:\/\/[0-9.]*:\([0-9]*\)\/.*/\1/p' "$DIR/server.out")
[ -n "$PORT" ] && [ -n "$HTTP" ] || fail "server did not start"
URL="esdb://127.0.0.1:$PORT?tls=false"

append_lessons() {  # append_lessons LEARNER FROM TO
  for i in $(seq "$2" "$3"); do
    printf '{"type":"LessonCompleted","data":{"learner_id":"%s","minutes":%d,"day":"d%d"}}\n' \
      "$1" "$i" "$((i / 3))"
  done | "$KIROKU" append --url "$URL" --stream "learner-$1" >/dev/null
}
for l in a b c; do
  "$KIROKU" append --url "$URL" --stream "learner-$l" --type JoinedGroup \
    --payload "{\"learner_id\":\"$l\",\"group_id\":\"g1\"}" >/dev/null
  append_lessons "$l" 1 30
done
"$KIROKU" append --url "$URL" --stream "teacher-1" --type LessonCompleted \
  --payload '{"learner_id":"a","minutes":1000,"day":"x"}' >/dev/null

wait_caught_up() {
  for _ in $(seq 200); do
    if curl -sf "http://127.0.0.1:$HTTP/projections" | grep -q '"lag_events":0'; then return 0; fi
    sleep 0.05
  done
  fail "projection did not catch up: $(curl -s "http://127.0.0.1:$HTTP/projections")"
}
wait_caught_up
[ "$(sqlite3 "$DIR/read/learners.db" "SELECT minutes, study_days FROM learners WHERE learner_id='a'")" = "465|11" ] ||
  fail "read model: $(sqlite3 "$DIR/read/learners.db" 'SELECT * FROM learners')"
curl -sf "http://127.0.0.1:$HTTP/projections" | grep -q '"state":"running"' || fail "state"
curl -sf "http://127.0.0.1:$HTTP/metrics" |
  grep -q 'kiroku_projection_events_applied_total{projection="learners",version="1"} 93' ||
  fail "metrics: $(curl -s "http://127.0.0.1:$HTTP/metrics" | grep kiroku_projection)"

# --- rebuild version 2 beside the live version 1 while appends continue
( for k in $(seq 31 60); do append_lessons b "$k" "$k"; done ) &
APPENDER=$!
"$KIROKU" projection rebuild "$DIR/v2/learners.yaml" --url "$URL" 2>"$DIR/rebuild.err" |
  grep -q "rebuilt learners v2" || fail "rebuild: $(cat "$DIR/rebuild.err")"
grep -q 'ev/s' "$DIR/rebuild.err" || fail "no progress bar"
sqlite3 "$DIR/read/learners.db" "SELECT count(*) FROM learners" | grep -q 3 ||
  fail "the live version stopped serving during the rebuild"
wait "$APPENDER"
wait_caught_up
"$KIROKU" projection verify "$DIR/v2/learners.yaml" --url "$URL" >"$DIR/verify.out" ||
  fail "verify: $(cat "$DIR/verify.out")"
grep -q '^EQUAL' "$DIR/verify.out" || fail "verify output: $(cat "$DIR/verify.out")"
"$KIROKU" projection switch "$DIR/v2/learners.yaml" | grep -q 'live version 1 -> 2' || fail switch
[ "$(readlink "$DIR/read/learners.db")" = "learners.db.v2" ] || fail "symlink"
[ "$(sqlite3 "$DIR/read/learners.db" "SELECT minutes FROM learners WHERE learner_id='b'")" = "1830" ] ||
  fail "v2 read model after switch"
"$KIROKU" projection status "$DIR/v2/learners.yaml" --url "$URL" --json |
  grep -q '"live_version":2' || fail "status json"
set +e
"$KIROKU" projection drop "$DIR/v2/learners.yaml" --version 2 2>/dev/null
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "dropped the live version"
kill "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=
"$KIROKU" projection drop "$DIR/v2/learners.yaml" --version 1 | grep -q dropped || fail drop
[ ! -e "$DIR/read/learners.db.v1" ] || fail "v1 file still there"

# --- a failing projection stops with the event, the statement and the database error
sed -e 's/minutes INTEGER NOT NULL/minutes INTEGER NOT NULL CHECK (minutes < 100)/' \
  -e "s#$DIR/read/learners.db#$DIR/read/strict.db#" -e 's/name: learners/name: strict/' \
  "$DIR/specs/learners.yaml" >"$DIR/strict.yaml"
set +e
"$KIROKU" projection run "$DIR/strict.yaml" --data "$DIR/data" --once 2>"$DIR/err"
rc=$?
"$KIROKU" projection status "$DIR/strict.yaml" --data "$DIR/data" >"$DIR/status.out"
src=$?
set -e
[ "$rc" -ne 0 ] || fail "failing projection exit code"
[ "$src" -eq 1 ] || fail "status exit code $src"
grep -q 'strict v1: failed' "$DIR/status.out" || fail "status: $(cat "$DIR/status.out")"
grep -q 'CHECK constraint failed' "$DIR/status.out" || fail "status error: $(cat "$DIR/status.out")"
grep -q 'strict.yaml:12: UPDATE learners' "$DIR/status.out" || fail "status statement: $(cat "$DIR/status.out")"
grep -q 'lag ' "$DIR/status.out" || fail "status lag"

echo "projection cli_test: passed"

#!/usr/bin/env bash
# `make run`: kiroku on its embedded default (./data/events) with the study-log
# projections (read model in ./data/read/studylog.db), the studylog service in front of it,
# and a small sample on the first run. Ctrl-C stops both cleanly; running again keeps data.
#   examples/studylog/run.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
# Data, logs and the read model live under ./data of the directory it is started from
# (the repository root for `make run`); the projection specs come from this checkout.
SPECS=$(cd "$(dirname "$0")/projections" && pwd)
KIROKU_PORT=${KIROKU_PORT:-2113}
KIROKU_HTTP_PORT=${KIROKU_HTTP_PORT:-2114}
STUDYLOG_PORT=${STUDYLOG_PORT:-8080}
export STUDYLOG_READ_MODEL=${STUDYLOG_READ_MODEL:-sqlite:data/read/studylog.db}
mkdir -p data/read
first_run=0
[ -f data/.sample-loaded ] || first_run=1

for p in "$KIROKU_PORT" "$KIROKU_HTTP_PORT" "$STUDYLOG_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "make run: port $p is already in use (another kiroku or studylog running?)." >&2
    echo "          Stop it, or set KIROKU_PORT / KIROKU_HTTP_PORT / STUDYLOG_PORT." >&2
    exit 1
  fi
done

KIROKU_PID= STUDYLOG_PID=
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping (the data stays in ./data) ..."
  [ -n "$STUDYLOG_PID" ] && kill -TERM "$STUDYLOG_PID" 2>/dev/null || true
  [ -n "$STUDYLOG_PID" ] && wait "$STUDYLOG_PID" 2>/dev/null || true
  [ -n "$KIROKU_PID" ] && kill -TERM "$KIROKU_PID" 2>/dev/null || true
  [ -n "$KIROKU_PID" ] && wait "$KIROKU_PID" 2>/dev/null || true
  echo "Stopped."
}
trap stop INT TERM EXIT

# wait_ready PID LOG TEXT: until LOG shows TEXT; fails with the log if PID exits or 30 s pass.
wait_ready() {
  for _ in $(seq 300); do
    grep -q "$3" "$2" && return 0
    kill -0 "$1" 2>/dev/null || { cat "$2" >&2; exit 1; }
    sleep 0.1
  done
  echo "make run: $2 shows no '$3' after 30 s:" >&2
  cat "$2" >&2
  exit 1
}

"$BUILD/kiroku" serve --data data/events --port "$KIROKU_PORT" --http-port "$KIROKU_HTTP_PORT" \
  --projections "$SPECS" > data/kiroku.log 2>&1 &
KIROKU_PID=$!
wait_ready "$KIROKU_PID" data/kiroku.log 'gRPC'
URL="esdb://127.0.0.1:$KIROKU_PORT?tls=false"

"$BUILD/studylog" --kiroku "$URL" --read-model "$STUDYLOG_READ_MODEL" --port "$STUDYLOG_PORT" \
  > data/studylog.log 2>&1 &
STUDYLOG_PID=$!
wait_ready "$STUDYLOG_PID" data/studylog.log 'listening'

SAMPLE_LEARNERS=${STUDYLOG_SAMPLE_LEARNERS:-2000}
SAMPLE_EVENTS=${STUDYLOG_SAMPLE_EVENTS:-100000}
if [ "$first_run" = 1 ]; then
  echo "First run: loading a sample ($SAMPLE_LEARNERS learners, 20 groups, $SAMPLE_EVENTS lessons over 90 days) ..."
  "$BUILD/studylog-gen" --target "$URL" --learners "$SAMPLE_LEARNERS" --groups 20 \
    --events "$SAMPLE_EVENTS" --days 90
  touch data/.sample-loaded
fi

API="http://127.0.0.1:$STUDYLOG_PORT"
cat <<MSG

kiroku is running on ./data/events (gRPC $URL, admin http://127.0.0.1:$KIROKU_HTTP_PORT),
with the study-log read model in ${STUDYLOG_READ_MODEL#sqlite:}.
studylog is at $API. Try:

  curl -s '$API/groups/g00000/learners?sort=study_days&limit=5'
  curl -s '$API/naive/groups/g00000/learners?sort=study_days&limit=5'     # from raw events
  curl -s -XPOST $API/learners -d '{"learner_id":"ada","name":"Ada"}'
  curl -s -XPOST $API/groups/g00000/members -d '{"learner_id":"ada"}'
  curl -s -XPOST $API/learners/ada/lessons -d '{"lesson_id":"intro-1","minutes":25,"score":91}'
  curl -s '$API/learners/ada/history'
  curl -s 'http://127.0.0.1:$KIROKU_HTTP_PORT/projections'                 # projection status

Logs: data/kiroku.log, data/studylog.log. Walk-through: examples/studylog/README.md.
Ctrl-C stops both.
MSG
wait "$STUDYLOG_PID" "$KIROKU_PID"

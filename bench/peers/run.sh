#!/usr/bin/env bash
# kiroku next to its peers on one machine, one run (issue 8; docs/benchmarks-peers.md):
#
#   bash bench/peers/run.sh BUILD_DIR        (make bench-peers does this with build/)
#
# 1. installs the peers from Debian packages if missing (postgresql-15, nats-server,
#    redis-server; without letting apt start their system services);
# 2. starts each privately on loopback in one temporary directory under /tmp, durable:
#    `kiroku serve --durability sync`, PostgreSQL 15 with fsync and synchronous_commit on,
#    nats-server with JetStream file storage (sync_interval: always when the version has
#    it), redis-server with appendonly yes / appendfsync always;
# 3. loads the read data set into each (not measured), then runs every workload against
#    every target, repeated and interleaved: for each repetition, for each workload, every
#    target once, the target order rotated each repetition;
# 4. stops everything (also on error or Ctrl-C) and prints one Markdown table.
#
# Bounded: every step has a timeout, and once PEER_BENCH_BUDGET seconds have passed the
# remaining steps are skipped (and reported as missing). Settings (environment):
#   PEER_BENCH_REPEAT (3)  PEER_BENCH_SECONDS (3, timed window per write run)
#   PEER_BENCH_READ_EVENTS (300000)  PEER_BENCH_TARGETS, PEER_BENCH_WORKLOADS (all)
#   PEER_BENCH_RESULTS (keep the JSON lines there)  PEER_BENCH_TABLE (keep the table there)
#   PEER_BENCH_BUDGET (900)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:?usage: run.sh BUILD_DIR (with kiroku and kiroku-peer-bench built)}
KIROKU=$BUILD/kiroku
BENCH=$BUILD/kiroku-peer-bench
REPEAT=${PEER_BENCH_REPEAT:-3}
WINDOW=${PEER_BENCH_SECONDS:-3}
READ_EVENTS=${PEER_BENCH_READ_EVENTS:-300000}
read -r -a TARGETS <<<"${PEER_BENCH_TARGETS:-kiroku-embedded kiroku-grpc postgres nats redis}"
read -r -a WORKLOADS <<<"${PEER_BENCH_WORKLOADS:-batch single8 single64 readall catchup}"
BUDGET=${PEER_BENCH_BUDGET:-900}
STEP_TIMEOUT=120
T0=$(date +%s)
for f in "$KIROKU" "$BENCH"; do
  [ -x "$f" ] || { echo "run.sh: $f is not built" >&2; exit 1; }
done
log() { echo "[peers $(($(date +%s) - T0))s] $*" >&2; }
wants() { [[ " ${TARGETS[*]} " == *" $1 "* ]]; }

# ---- 1. install what is missing ----
missing=()
if wants postgres && ! ls /usr/lib/postgresql/15/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql-15)
fi
wants nats && ! command -v nats-server >/dev/null && missing+=(nats-server)
wants redis && ! command -v redis-server >/dev/null && missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "run.sh: install ${missing[*]} (needs root)" >&2; exit 1; }
  log "installing ${missing[*]}"
  # policy-rc.d 101 = "do not start services": the packages must not leave daemons running.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  rc=0
  timeout 600 apt-get install -y -q "${missing[@]}" >/dev/null ||
    { timeout 300 apt-get update -q >/dev/null && timeout 600 apt-get install -y -q "${missing[@]}" >/dev/null; } ||
    rc=$?
  [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
  [ "$rc" -eq 0 ] || { echo "run.sh: apt-get install ${missing[*]} failed" >&2; exit 1; }
fi

# ---- 2. start the servers ----
WORK=$(mktemp -d /tmp/kiroku-peers.XXXXXX)
RESULTS=${PEER_BENCH_RESULTS:-$WORK/results.jsonl}
: >"$RESULTS"
KIROKU_PID='' NATS_PID='' REDIS_PID=''
stop_pid() {  # TERM, wait up to 10 s, then KILL
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_servers() {
  set +e
  [ -n "$KIROKU_PID" ] && stop_pid "$KIROKU_PID"
  [ -n "$NATS_PID" ] && stop_pid "$NATS_PID"
  [ -n "$REDIS_PID" ] && stop_pid "$REDIS_PID"
  KIROKU_PID='' NATS_PID='' REDIS_PID=''
  declare -F pg_cluster_stop >/dev/null && pg_cluster_stop
  set -e
}
cleanup() {
  stop_servers
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {  # port, pid, log: up to 30 s
  for _ in $(seq 300); do
    kill -0 "$2" 2>/dev/null || { echo "run.sh: server exited:" >&2; tail -20 "$3" >&2; exit 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run.sh: nothing listens on $1 after 30 s" >&2; tail -20 "$3" >&2; exit 1
}

declare -A ARGS
if wants kiroku-embedded; then
  ARGS[kiroku-embedded]="--kiroku-dir $WORK/kiroku-embedded"
fi
if wants kiroku-grpc; then
  "$KIROKU" serve --data "$WORK/kiroku-grpc" --port 0 --http-port 0 --durability sync \
    >"$WORK/kiroku.log" 2>&1 &
  KIROKU_PID=$!
  for _ in $(seq 300); do grep -q 'gRPC' "$WORK/kiroku.log" && break; sleep 0.1; done
  port=$(sed -n 's/.*gRPC  [0-9.]*:\([0-9]*\).*/\1/p' "$WORK/kiroku.log")
  [ -n "$port" ] || { echo "run.sh: kiroku serve did not start" >&2; cat "$WORK/kiroku.log" >&2; exit 1; }
  ARGS[kiroku-grpc]="--url esdb://127.0.0.1:$port?tls=false"
  log "kiroku serve on 127.0.0.1:$port"
fi
if wants postgres; then
  # Durable as shipped (fsync, synchronous_commit and full_page_writes on), with the usual
  # tuning for a write-heavy server: bigger shared buffers and WAL, so checkpoints do not
  # land in the middle of a 3-second window.
  export PG_FSYNC=on PG_SHARED_BUFFERS=1GB PG_MAX_CONNECTIONS=100
  export PG_EXTRA_OPTS="-c synchronous_commit=on -c full_page_writes=on -c max_wal_size=8GB \
-c checkpoint_timeout=30min -c wal_buffers=64MB"
  # shellcheck source=SCRIPTDIR/../../tests/projections/pg_cluster.sh
  source "$here/../../tests/projections/pg_cluster.sh"
  pg_cluster_start
  trap cleanup EXIT  # pg_cluster_start set its own
  ARGS[postgres]="--url $KIROKU_TEST_PG_URL"
fi
if wants nats; then
  port=$(free_port)
  mkdir -p "$WORK/nats"
  write_nats_conf() {
    cat >"$WORK/nats.conf" <<EOF
listen: 127.0.0.1:$port
jetstream {
  store_dir: "$WORK/nats"
  max_memory_store: 1GB
  max_file_store: 50GB
  $1
}
EOF
  }
  nats_sync=--nats-sync-always
  write_nats_conf "sync_interval: always"
  if ! nats-server -c "$WORK/nats.conf" -t >/dev/null 2>&1; then
    log "$(nats-server --version) has no sync_interval option: JetStream acks before fsync"
    nats_sync=
    write_nats_conf ""
  fi
  nats-server -c "$WORK/nats.conf" >"$WORK/nats.log" 2>&1 &
  NATS_PID=$!
  wait_port "$port" "$NATS_PID" "$WORK/nats.log"
  ARGS[nats]="--port $port $nats_sync"
  log "nats-server on 127.0.0.1:$port"
fi
if wants redis; then
  port=$(free_port)
  mkdir -p "$WORK/redis"
  # AOF rewrites (a fork that rewrites the whole file) are turned off so they cannot land
  # in a timed window; everything else is the shipped default.
  redis-server --bind 127.0.0.1 --port "$port" --dir "$WORK/redis" --appendonly yes \
    --appendfsync always --save '' --auto-aof-rewrite-percentage 0 --daemonize no \
    --logfile "$WORK/redis.log" &
  REDIS_PID=$!
  wait_port "$port" "$REDIS_PID" "$WORK/redis.log"
  ARGS[redis]="--port $port"
  log "redis-server on 127.0.0.1:$port"
fi

# ---- 3. measure ----
"$BENCH" --workload probe --dir "$WORK" --when start >>"$RESULTS"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# One step: the target's JSON line, or one with "error" if it failed or timed out.
step() {  # target workload rep [extra args]
  local t=$1 w=$2 rep=$3
  shift 3
  if [ $(($(date +%s) - T0)) -ge "$BUDGET" ]; then
    echo "{\"target\":\"$t\",\"workload\":\"$w\",\"rep\":$rep,\"error\":\"skipped: over the ${BUDGET}s budget\"}" >>"$RESULTS"
    log "$w $t: skipped (budget)"
    return 0
  fi
  local out rc=0
  set -f  # ARGS are split on spaces but not globbed (the gRPC URL has a '?')
  # shellcheck disable=SC2086
  out=$(timeout -k 10 "$STEP_TIMEOUT" "$BENCH" --target "$t" --workload "$w" --rep "$rep" \
    ${ARGS[$t]} --read-events "$READ_EVENTS" --seconds "$WINDOW" "$@") || rc=$?
  set +f
  if [ "$rc" -ne 0 ] || [ -z "$out" ]; then
    out="{\"target\":\"$t\",\"workload\":\"$w\",\"rep\":$rep,\"error\":\"exit status $rc (124 = timed out after ${STEP_TIMEOUT}s)\"}"
  fi
  echo "$out" >>"$RESULTS"
  local eps err
  eps=$(grep -o '"events_per_s":[0-9.e+]*' <<<"$out" | cut -d: -f2 || true)
  err=$(grep -o '"error":"[^"]*' <<<"$out" | cut -d'"' -f4 || true)
  log "$w $t rep $rep: ${eps:+$(printf '%.0f' "$eps") events/s}${err:+FAILED: $err}"
}

for t in "${TARGETS[@]}"; do
  step "$t" load 0
done
n=${#TARGETS[@]}
for rep in $(seq "$REPEAT"); do
  for w in "${WORKLOADS[@]}"; do
    for i in $(seq 0 $((n - 1))); do
      step "${TARGETS[$(((i + rep - 1) % n))]}" "$w" "$rep" --run-id "r$rep-$w"
    done
  done
done

"$BENCH" --workload probe --dir "$WORK" --when end >>"$RESULTS"
wall=$(($(date +%s) - T0))
echo "{\"workload\":\"meta\",\"load_start\":\"$load_start\",\"load_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"repeat\":\"$REPEAT\",\"wall_seconds\":\"$wall\"}" >>"$RESULTS"

# ---- 4. stop, then the table ----
stop_servers
table=$("$BENCH" --report "$RESULTS" --command "bash bench/peers/run.sh $BUILD")
echo "$table"
if [ -n "${PEER_BENCH_TABLE:-}" ]; then echo "$table" >"$PEER_BENCH_TABLE"; fi

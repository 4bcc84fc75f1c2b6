#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for tests and benchmarks: initdb in a temporary directory
# as the postgres user (PostgreSQL refuses to run as root), a free loopback port, trust
# authentication on loopback only. Source this file, then:
#   pg_cluster_start   -> exports KIROKU_TEST_PG_URL (postgresql://postgres@127.0.0.1:PORT/kiroku)
#   pg_cluster_stop    -> stops the server and removes the directory (also on EXIT)
# Settings: PG_FSYNC (on), PG_SHARED_BUFFERS (128MB), PG_MAX_CONNECTIONS (50), and
# PG_EXTRA_OPTS, more "-c name=value" server options (e.g. synchronous_commit=on).
set -euo pipefail

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  elif [ "$(id -un)" = postgres ]; then
    "$@"
  else
    sudo -u postgres -- "$@"
  fi
}

pg_cluster_start() {
  if [ ! -x "$PG_BIN/initdb" ]; then
    echo "pg_cluster: no PostgreSQL server binaries (apt-get install postgresql-15)" >&2
    return 1
  fi
  PG_DIR=$(mktemp -d /tmp/kiroku-pg.XXXXXX)
  chown postgres "$PG_DIR" 2>/dev/null || true
  chmod 700 "$PG_DIR"
  PG_PORT=$(pg_free_port)
  pg_as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-sync \
    -E UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=${PG_FSYNC:-on} \
        -c max_connections=${PG_MAX_CONNECTIONS:-50} -c shared_buffers=${PG_SHARED_BUFFERS:-128MB} \
        ${PG_EXTRA_OPTS:-}" \
    start >/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
  pg_as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAt \
    -c "CREATE DATABASE kiroku" >/dev/null
  export KIROKU_TEST_PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/kiroku"
  trap pg_cluster_stop EXIT
  echo "pg_cluster: PostgreSQL on 127.0.0.1:$PG_PORT ($PG_DIR)" >&2
}

pg_cluster_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
  PG_DIR=
}

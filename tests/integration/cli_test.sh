#!/usr/bin/env bash
# CLI integration test: drives the real `kiroku` binary against an embedded store and checks
# its output and exit codes, including `admin verify` finding a flipped byte and
# `admin reindex` rebuilding the index.
set -euo pipefail
KIROKU=${1:?usage: cli_test.sh path/to/kiroku}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$KIROKU" --help | grep -q admin || fail "--help lists no admin command"
"$KIROKU" append --help | grep -q -- --expected || fail "append --help"

"$KIROKU" append --data "$DIR" --stream learner-1 --type Joined --payload '{"group":"g1"}' \
  --expected no_stream --json | grep -q '"current_revision":0' || fail "first append"
printf '%s\n' '{"type":"Lesson","data":{"minutes":10}}' '{"type":"Lesson","data":{"minutes":20}}' |
  "$KIROKU" append --data "$DIR" --stream learner-1 --expected 0 --json |
  grep -q '"current_revision":2' || fail "stdin append"

set +e
"$KIROKU" append --data "$DIR" --stream learner-1 --type X --expected 0 2>"$DIR/err"
rc=$?
set -e
[ "$rc" -eq 4 ] || fail "wrong expected version exit code $rc"
grep -q WrongExpectedVersion "$DIR/err" || fail "wrong expected version message"

set +e
"$KIROKU" append --data "$DIR" --stream "" --type X 2>"$DIR/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "empty stream name exit code $rc"

out=$("$KIROKU" read --data "$DIR" --stream learner-1 --json)
[ "$(echo "$out" | wc -l)" -eq 3 ] || fail "read returned: $out"
echo "$out" | tail -1 | grep -q '"minutes":20' || fail "payload round trip"
"$KIROKU" read --data "$DIR" --all --backwards --count 1 | grep -q 'learner-1@2' ||
  fail "read --all --backwards"
"$KIROKU" read --data "$DIR" --all --type-prefix Less --json | grep -c Lesson | grep -q 2 ||
  fail "type prefix filter"

"$KIROKU" admin verify --data "$DIR" | grep -q '^OK' || fail "verify of a healthy store"
"$KIROKU" admin reindex --data "$DIR" | grep -q 'reindexed 3 events' || fail "reindex"
"$KIROKU" read --data "$DIR" --stream learner-1 | grep -c learner-1 | grep -q 3 || fail "after reindex"

# Flip one byte inside the second record's body: verify must name the file and offset.
seg=$(ls "$DIR"/log/*.log | head -1)
size=$(stat -c %s "$seg")
offset=$((size - 20))
printf '\x5a' | dd of="$seg" bs=1 seek="$offset" conv=notrunc status=none
set +e
"$KIROKU" admin verify --data "$DIR" >"$DIR/verify.out"
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "verify exit code $rc on damage"
grep -q "DAMAGE: .*$(basename "$seg") at offset" "$DIR/verify.out" || fail "verify output: $(cat "$DIR/verify.out")"
[ -f "$seg" ] || fail "damaged segment was removed"

echo "cli_test: 1 passed, 0 failed"

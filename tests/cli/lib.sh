# Shared helpers for the CLI tests: a scratch workspace, assertions, JSON fields.
# Each test script sources this, then runs the built binary ($MILKCAST).
set -euo pipefail
: "${MILKCAST:?run through ctest, or set MILKCAST to the built binary}"
: "${MC_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
TMP=$(mktemp -d /tmp/mc-cli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export MILKCAST_HOME="$TMP/home"
PY=/usr/bin/python3

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# expect_exit CODE CMD...: run CMD, capture stdout/stderr into $TMP/out, $TMP/err.
expect_exit() {
	local want=$1; shift
	set +e
	"$@" >"$TMP/out" 2>"$TMP/err"
	local got=$?
	set -e
	if [ "$got" -ne "$want" ]; then
		echo "--- stdout"; cat "$TMP/out"; echo "--- stderr"; cat "$TMP/err"
		fail "'$*' exited $got, expected $want"
	fi
}

# json_get FILE EXPR: evaluate a Python expression on the parsed JSON `j`.
json_get() { $PY -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

assert_eq() { [ "$1" = "$2" ] || fail "${3:-value}: got '$1', expected '$2'"; }
assert_contains() { grep -q -- "$2" "$1" || { cat "$1"; fail "'$1' does not contain '$2'"; }; }

# A fingerprint of the lake and database tables that must not change on failure.
lake_state() {
	(cd "$MILKCAST_HOME" 2>/dev/null && find lake -type f -name '*.parquet' -exec sha256sum {} + | sort) || true
	sqlite3 "$MILKCAST_HOME/milkcast.db" "select count(*) from lake_partitions; select count(*) from ingest_files; select count(*) from quarantine" 2>/dev/null || true
}

. "$MC_SRC/tests/cli/moto.sh"

# start_fake EVENTS.json: the loopback fake of the Lambda Runtime API
# (tests/oracle/fake_lambda_runtime.py; FAKE_DEADLINE_MS and FAKE_MAX_RESPONSE from the
# environment) serving those events; AWS_LAMBDA_RUNTIME_API exported, FAKE_PID its PID,
# what the runtime answered in $TMP/record.json (rec EXPR reads it).  stop_fake stops it.
FAKE_PID=
start_fake() {
	rm -f "$TMP/port" "$TMP/record.json"
	$PY "$MC_SRC/tests/oracle/fake_lambda_runtime.py" "$1" "$TMP/record.json" "$TMP/port" & FAKE_PID=$!
	for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
	[ -s "$TMP/port" ] || fail "the fake runtime API did not start"
	AWS_LAMBDA_RUNTIME_API="127.0.0.1:$(cat "$TMP/port")"
	export AWS_LAMBDA_RUNTIME_API
}
stop_fake() { if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi; FAKE_PID=; }
rec() { json_get "$TMP/record.json" "$1"; }

#!/usr/bin/env bash
# t31-fetch-failures: `milkcast fetch` rejects truncated, HTML, oversized and non-zip bodies,
# retries 5xx/429, gives up on timeouts, and never clobbers a saved file when it fails.
set -euo pipefail
: "${MILKCAST:?MILKCAST must name the milkcast binary}"
MC_SRC=${MC_SRC:-$PWD}
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skipped: $PY is missing"; exit 77; }
WORKBOOK=$MC_SRC/data/sniim/raw/Leche31032025.xlsx
SLOW=20 # seconds the slow endpoint waits before answering

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mc-t31.XXXXXX")
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY MILKCAST_SNIIM_URL

fail() {
	{
		echo "FAIL: $*"
		echo "--- stdout"; cat "$tmp/out" 2>/dev/null || true
		echo "--- stderr"; cat "$tmp/err" 2>/dev/null || true
	} >&2
	exit 1
}

"$PY" "$MC_SRC/tests/fakes/sniim_server.py" --workbook "$WORKBOOK" --port-file "$tmp/port" \
	--log "$tmp/requests.log" --slow "$SLOW" &
server_pid=$!
for _ in $(seq 200); do
	[ -s "$tmp/port" ] && break
	sleep 0.05
done
[ -s "$tmp/port" ] || fail "the fake SNIIM server did not start"
BASE=http://127.0.0.1:$(cat "$tmp/port")/sniim

H=$tmp/home
mc() {
	set +e
	"$MILKCAST" --home "$H" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
	! grep -q "Sanitizer" "$tmp/err" || fail "sanitizer report from: milkcast $*"
}
expect_rc() { [ "$rc" -eq "$1" ] || fail "$2: exit status $rc, expected $1"; }
expect_err() { grep -qiE -- "$1" "$tmp/err" || fail "stderr lacks /$1/"; }
requests_for() { grep -c "^$1 /sniim/$2 " "$tmp/requests.log" || true; }
now_ms() { date +%s%3N; }
no_temp_files() { [ -z "$(find "$H" -name '*.tmp.*')" ] || fail "temporary files left: $1"; }

# Each failing date, first into an empty home: exit 1, the expected words, raw/ stays empty.
check_rejected() { # DATE(ISO) PATTERN [OPTIONS...]
	local date=$1 pattern=$2
	shift 2
	rm -rf "$H"
	mc fetch --date "$date" --base-url "$BASE" --retries 1 "$@"
	expect_rc 1 "$date"
	expect_err "$pattern"
	[ -z "$(ls -A "$H/raw" 2>/dev/null)" ] || fail "$date left files in raw/: $(ls -A "$H/raw")"
}
check_rejected 2025-04-02 "truncated"                 # Content-Length honest, zip cut
check_rejected 2025-04-03 "truncated|closed early"    # Content-Length lies, connection closes
[ "$(requests_for GET Leche03042025.xlsx)" = 2 ] || fail "a short body was not retried once"
check_rejected 2025-04-04 "HTML|not an xlsx"          # an error page with status 200
check_rejected 2025-04-23 "not an xlsx"               # xlsx Content-Type, not a zip
check_rejected 2025-04-15 "size cap"                  # announces 100 MiB
check_rejected 2025-04-16 "size cap"                  # streams 80 MiB without a length
check_rejected 2025-04-22 "HTTP 503"                  # always 503
[ "$(requests_for HEAD Leche22042025.xlsx)" = 2 ] || fail "503 was not retried exactly once"

# --json reports a failure as an object too.
mc --json fetch --date 2025-04-04 --base-url "$BASE" --retries 0
expect_rc 1 "json failure"
"$PY" - "$tmp/out" <<'EOF' || fail "failure JSON"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "failed" and r["error"] == "format" and "HTML" in r["message"], r
EOF

# 500 then 200: succeeds, and -v shows the retry.
rm -rf "$H"
mc -v fetch --date 2025-04-07 --base-url "$BASE"
expect_rc 0 "500 then 200"
expect_err "HTTP 500 \(attempt 1 of 4\); retrying in"
cmp "$WORKBOOK" "$H/raw/Leche07042025.xlsx" || fail "workbook after a retry differs"

# 429 with Retry-After: 1 is honoured.
t0=$(now_ms)
mc -v fetch --date 2025-04-11 --base-url "$BASE"
t1=$(now_ms)
expect_rc 0 "429 then 200"
expect_err "HTTP 429.*retrying in 1\.0 s as Retry-After asks"
[ $((t1 - t0)) -ge 1000 ] || fail "Retry-After not honoured ($((t1 - t0)) ms)"

# A server that does not answer: exit 1 well before it would (2 attempts of 1 s + backoff).
t0=$(now_ms)
mc -v fetch --date 2025-04-08 --base-url "$BASE" --timeout 1 --retries 1
t1=$(now_ms)
expect_rc 1 "timeout"
expect_err "timed out after 1 s"
expect_err "attempt 2 of 2"
[ $((t1 - t0)) -lt 8000 ] || fail "timeout took $((t1 - t0)) ms"

# Nothing listening: connection errors are retried, then reported.
mc fetch --date 2025-03-31 --base-url http://127.0.0.1:1/sniim --retries 1 --timeout 5
expect_rc 1 "connection refused"
expect_err "connect"
expect_err "2 attempts"

# A saved file survives every kind of failed fetch, byte for byte, even with --force.
rm -rf "$H"
mkdir -p "$H/raw"
for d in 02042025 03042025 04042025 08042025 15042025 16042025 22042025 23042025 01042025; do
	cp "$WORKBOOK" "$H/raw/Leche$d.xlsx"
done
for iso in 2025-04-02 2025-04-03 2025-04-04 2025-04-08 2025-04-15 2025-04-16 2025-04-22 \
	2025-04-23 2025-04-01; do
	mc fetch --force --date "$iso" --base-url "$BASE" --retries 0 --timeout 1
	expect_rc 1 "clobber check $iso"
	d=$(echo "$iso" | awk -F- '{print $3 $2 $1}')
	cmp "$WORKBOOK" "$H/raw/Leche$d.xlsx" || fail "a failed fetch of $iso changed the saved file"
done
no_temp_files "after failed fetches"
# shellcheck disable=SC2012 # plain names
[ "$(ls -A "$H/raw" | wc -l)" = 9 ] || fail "raw/ holds $(ls -A "$H/raw")"

echo "t31-fetch-failures: ok"

#!/usr/bin/env bash
# t30-fetch: `milkcast fetch` against a loopback fake SNIIM server: saving, unpublished dates,
# JSON, HEAD fallback, redirects, ranges, and the unchanged/conflict/--force policy.
set -euo pipefail
: "${MILKCAST:?MILKCAST must name the milkcast binary}"
MC_SRC=${MC_SRC:-$PWD}
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skipped: $PY is missing"; exit 77; }
WORKBOOK=$MC_SRC/data/sniim/raw/Leche31032025.xlsx

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mc-t30.XXXXXX")
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
# Loopback only: no proxy may intercept, no inherited base URL.
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
	--log "$tmp/requests.log" &
server_pid=$!
for _ in $(seq 200); do
	[ -s "$tmp/port" ] && break
	sleep 0.05
done
[ -s "$tmp/port" ] || fail "the fake SNIIM server did not start"
HOST=http://127.0.0.1:$(cat "$tmp/port")
BASE=$HOST/sniim

H=$tmp/home
# mc ARGS...: run `milkcast --home $H ARGS`, keep stdout/stderr in $tmp/out, $tmp/err, status in rc.
mc() {
	set +e
	"$MILKCAST" --home "$H" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
	! grep -q "Sanitizer" "$tmp/err" || fail "sanitizer report from: milkcast $*"
}
expect_rc() { [ "$rc" -eq "$1" ] || fail "$2: exit status $rc, expected $1"; }
expect_out() { grep -qE -- "$1" "$tmp/out" || fail "stdout lacks /$1/"; }
expect_err() { grep -qiE -- "$1" "$tmp/err" || fail "stderr lacks /$1/"; }
json_field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
	"$tmp/out" "$1"; }
requests_for() { grep -c " /$1 " "$tmp/requests.log" || true; }

# --help, and `milkcast help fetch`
mc fetch --help
expect_rc 0 "--help"
expect_out "usage: milkcast fetch"
expect_out "--base-url"
mc help fetch
expect_rc 0 "help fetch"
expect_out "usage: milkcast fetch"

# Usage errors exit 2 and request nothing.
for args in "--date 2025-02-30" "--date 31/03/2025" "--date 2025-03-31 --from 2025-03-31" \
	"--to 2025-03-31" "--from 2025-04-02 --to 2025-04-01" "--retries -1" "--timeout 0" \
	"--base-url ftp://127.0.0.1/x" "--date 2025-03-31 extra"; do
	# shellcheck disable=SC2086
	MILKCAST_SNIIM_URL=$BASE mc fetch $args
	expect_rc 2 "fetch $args"
done
[ ! -e "$tmp/requests.log" ] || fail "usage errors made requests"

# A published date is saved byte for byte; HEAD comes first; our User-Agent is sent.
mc fetch --date 2025-03-31 --base-url "$BASE"
expect_rc 0 "good date"
cmp "$WORKBOOK" "$H/raw/Leche31032025.xlsx" || fail "saved workbook differs"
expect_out "^fetched 2025-03-31 → .*/raw/Leche31032025\.xlsx \(351 KiB\)$"
head -n 1 "$tmp/requests.log" | grep -q "^HEAD /sniim/Leche31032025.xlsx milkcast/" ||
	fail "the first request is not HEAD with a milkcast User-Agent"
sed -n 2p "$tmp/requests.log" | grep -q "^GET /sniim/Leche31032025.xlsx" || fail "no GET after HEAD"

# The same bytes again: unchanged, the file is not rewritten.
before=$(stat -c '%i %Y' "$H/raw/Leche31032025.xlsx")
mc fetch --date 2025-03-31 --base-url "$BASE/"
expect_rc 0 "refetch"
expect_out "^unchanged 2025-03-31"
[ "$(stat -c '%i %Y' "$H/raw/Leche31032025.xlsx")" = "$before" ] || fail "unchanged file rewritten"

# --json: one object that parses, with the documented fields.
mc fetch --json --date 2025-03-31 --base-url "$BASE"
expect_rc 0 "json"
"$PY" -m json.tool "$tmp/out" >/dev/null || fail "--json output does not parse"
[ "$(json_field status)" = unchanged ] || fail "json status"
[ "$(json_field bytes)" = "$(stat -c %s "$WORKBOOK")" ] || fail "json bytes"
[ "$(json_field url)" = "$BASE/Leche31032025.xlsx" ] || fail "json url"
[ "$(json_field path)" = "$H/raw/Leche31032025.xlsx" ] || fail "json path"
[ "$(json_field date)" = 2025-03-31 ] || fail "json date"

# $MILKCAST_SNIIM_URL sets the base; --base-url wins over it.
rm -rf "$H"
MILKCAST_SNIIM_URL=$BASE mc fetch --date 2025-03-31
expect_rc 0 "MILKCAST_SNIIM_URL"
cmp "$WORKBOOK" "$H/raw/Leche31032025.xlsx" || fail "env base url"
MILKCAST_SNIIM_URL=http://127.0.0.1:1/nowhere mc fetch --date 2025-03-31 --base-url "$BASE"
expect_rc 0 "--base-url over MILKCAST_SNIIM_URL"

# Not published (404, 403): exit 1, a clear message, nothing saved, no retries, no GET.
rm -rf "$H"
for d in 01042025:2025-04-01 14042025:2025-04-14; do
	mc fetch --date "${d#*:}" --base-url "$BASE"
	expect_rc 1 "unpublished ${d#*:}"
	expect_err "not published"
	[ -z "$(ls -A "$H/raw" 2>/dev/null)" ] || fail "raw/ is not empty after ${d#*:}"
	[ "$(requests_for "sniim/Leche${d%%:*}.xlsx")" = 1 ] || fail "${d#*:}: not exactly one request"
done
mc fetch --json --date 2025-04-01 --base-url "$BASE"
expect_rc 1 "unpublished json"
"$PY" -m json.tool "$tmp/out" >/dev/null || fail "not_published JSON does not parse"
[ "$(json_field status)" = not_published ] || fail "json not_published"
[ "$(json_field date)" = 2025-04-01 ] || fail "json not_published date"

# HEAD refused (405): falls back to GET.
mc -v fetch --date 2025-04-09 --base-url "$BASE"
expect_rc 0 "HEAD 405"
expect_err "HEAD is not supported"
cmp "$WORKBOOK" "$H/raw/Leche09042025.xlsx" || fail "HEAD-405 workbook differs"

# Redirects are followed, a loop is not.
mc -v fetch --date 2025-04-10 --base-url "$BASE"
expect_rc 0 "redirect"
expect_err "followed 1 redirect"
cmp "$WORKBOOK" "$H/raw/Leche10042025.xlsx" || fail "redirected workbook differs"
mc fetch --date 2025-04-17 --base-url "$BASE"
expect_rc 1 "redirect loop"
expect_err "redirect"
[ ! -e "$H/raw/Leche17042025.xlsx" ] || fail "redirect loop saved a file"

# application/octet-stream and an absent Content-Type are accepted.
mc fetch --date 2025-04-18 --base-url "$BASE"
expect_rc 0 "octet-stream"
mc fetch --date 2025-04-21 --base-url "$BASE"
expect_rc 0 "no Content-Type"
cmp "$WORKBOOK" "$H/raw/Leche21042025.xlsx" || fail "no-Content-Type workbook differs"

# Republished upstream with other bytes: kept without --force (exit 1), replaced with it.
rm -rf "$H"
mc fetch --date 2025-03-31 --base-url "$BASE"
expect_rc 0 "before conflict"
mc fetch --date 2025-03-31 --base-url "$HOST/v2"
expect_rc 1 "conflict"
expect_err "differs"
expect_err "--force"
cmp "$WORKBOOK" "$H/raw/Leche31032025.xlsx" || fail "conflict replaced the saved file"
mc fetch --json --date 2025-03-31 --base-url "$HOST/v2"
expect_rc 1 "conflict json"
[ "$(json_field status)" = conflict ] || fail "json conflict"
mc fetch --json --force --date 2025-03-31 --base-url "$HOST/v2"
expect_rc 0 "--force"
[ "$(json_field status)" = replaced ] || fail "json replaced"
[ "$(tail -c 11 "$H/raw/Leche31032025.xlsx")" = republished ] || fail "--force kept the old file"
[ -z "$(find "$H" -name '*.tmp.*')" ] || fail "temporary files left behind"

# A range: weekdays only; unpublished days are reported, not failures.
rm -rf "$H"
: >"$tmp/requests.log"
mc fetch --from 2025-03-29 --to 2025-04-06 --base-url "$HOST/range"
expect_rc 0 "range"
expect_out "^fetched 2025-03-31"
expect_out "^not published 2025-04-01"
expect_out "^fetched 2025-04-04"
expect_out "3 fetched, 0 unchanged, 0 replaced, 2 not published, 0 failed"
# shellcheck disable=SC2012 # plain names
[ "$(ls "$H/raw" | tr '\n' ' ')" = "Leche02042025.xlsx Leche04042025.xlsx Leche31032025.xlsx " ] ||
	fail "range saved $(ls "$H/raw")"
! grep -qE "Leche(29|30)032025|Leche0[56]042025" "$tmp/requests.log" || fail "weekend requested"
mc fetch --json --from 2025-03-29 --to 2025-04-06 --base-url "$HOST/range"
expect_rc 0 "range json"
"$PY" - "$tmp/out" <<'EOF' || fail "range JSON"
import json, sys
r = json.load(open(sys.argv[1]))
assert (r["from"], r["to"]) == ("2025-03-29", "2025-04-06"), r
assert [x["status"] for x in r["results"]] == \
    ["unchanged", "not_published", "unchanged", "not_published", "unchanged"], r
assert (r["unchanged"], r["not_published"], r["failed"], r["conflict"]) == (3, 2, 0, 0), r
EOF

echo "t30-fetch: ok"

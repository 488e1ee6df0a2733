#!/usr/bin/env bash
# The CLI contract: help, --help on every command, --version, exit codes, --home.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$MILKCAST" help
for cmd in ingest fetch lake help version; do
	assert_contains "$TMP/out" "  $cmd "
	expect_exit 0 "$MILKCAST" "$cmd" --help
	assert_contains "$TMP/out" "usage: milkcast $cmd"
	expect_exit 0 "$MILKCAST" help "$cmd"
	assert_contains "$TMP/out" "usage: milkcast $cmd"
	"$MILKCAST" help >"$TMP/out"
done
pass "help for every command"

expect_exit 0 "$MILKCAST" --version
assert_contains "$TMP/out" "milkcast [0-9]"
expect_exit 0 "$MILKCAST" --json version
json_get "$TMP/out" "j['version']" >/dev/null
pass "version"

expect_exit 2 "$MILKCAST"
expect_exit 2 "$MILKCAST" frobnicate
assert_contains "$TMP/err" "'frobnicate' is not a milkcast command"
expect_exit 2 "$MILKCAST" --frob
expect_exit 2 "$MILKCAST" lake
expect_exit 2 "$MILKCAST" lake bogus
expect_exit 2 "$MILKCAST" lake export --format xml
expect_exit 2 "$MILKCAST" lake quarantine --limit many
pass "usage errors exit 2"

# --home before or after the command, and MILKCAST_HOME.
expect_exit 0 "$MILKCAST" --home "$TMP/h1" lake ls
[ -f "$TMP/h1/milkcast.db" ] || [ -d "$TMP/h1/lake" ] || fail "--home before the command ignored"
expect_exit 0 "$MILKCAST" lake ls --home "$TMP/h2"
[ -d "$TMP/h2/lake" ] || fail "--home after the command ignored"
MILKCAST_HOME="$TMP/h3" "$MILKCAST" -q lake ls >/dev/null
[ -d "$TMP/h3/lake" ] || fail "MILKCAST_HOME ignored"
pass "workspace selection"

# -q silences normal output.
expect_exit 0 "$MILKCAST" -q ingest "$MC_SRC/data/sniim/2024-01-data.parquet"
[ ! -s "$TMP/out" ] || fail "-q printed: $(cat "$TMP/out")"
pass "quiet"

#!/usr/bin/env bash
# kill -9 at random moments of an ingest: the lake stays readable, no half file is ever
# visible, and a later ingest completes it to exactly the rows of an uninterrupted one.
. "$(dirname "$0")/lib.sh"
DATA="$MC_SRC/data/sniim"

MILKCAST_HOME="$TMP/ref" "$MILKCAST" -q ingest "$DATA"
MILKCAST_HOME="$TMP/ref" "$MILKCAST" lake export -o "$TMP/ref.csv"

killed=0
for i in $(seq 1 12); do
	# Alternate inputs so that later rounds also rewrite existing partitions.
	if [ $((i % 2)) -eq 0 ]; then input="$DATA/raw/Leche31032025.xlsx"; else input="$DATA"; fi
	"$MILKCAST" -q ingest --apply-revisions "$input" &
	pid=$!
	sleep "0.$((RANDOM % 5))$((RANDOM % 10))"
	if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
	wait "$pid" 2>/dev/null || true
	# Every partition visible now is a complete Parquet file.
	"$MILKCAST" -q lake ls --json > "$TMP/ls.json" || fail "lake unreadable after kill $i"
done
echo "killed $killed of 12 runs mid-way"

expect_exit 0 "$MILKCAST" --json ingest "$DATA"
"$MILKCAST" lake export -o "$TMP/after.csv"
cut -d, -f1-7 "$TMP/ref.csv" > "$TMP/a"
cut -d, -f1-7 "$TMP/after.csv" > "$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || { diff "$TMP/a" "$TMP/b" | head; fail "lake differs after crashes"; }
[ -z "$(find "$MILKCAST_HOME/lake" -name '*.tmp.*')" ] || fail "stale temp files remain"
running=$(sqlite3 "$MILKCAST_HOME/milkcast.db" "select count(*) from ingest_runs where status='running'")
assert_eq "$running" 0 "runs still marked running"
interrupted=$(sqlite3 "$MILKCAST_HOME/milkcast.db" "select count(*) from ingest_runs where error like 'interrupted%'")
echo "runs recorded as interrupted: $interrupted"
pass "crash-safe ingest"

#!/usr/bin/env bash
# Ingest the shipped workbook and the shipped Parquet files: same rows, idempotent, incremental.
. "$(dirname "$0")/lib.sh"
DATA="$MC_SRC/data/sniim"

# 1. The workbook: 184 dates × 56 rows × 4 cells, 5,705 of them missing (blank, N.d. or 0).
expect_exit 0 "$MILKCAST" --json ingest "$DATA/raw/Leche31032025.xlsx"
cp "$TMP/out" "$TMP/first.json"
assert_eq "$(json_get "$TMP/first.json" "j['rows_read']")" 41216 "rows read"
assert_eq "$(json_get "$TMP/first.json" "j['dates_added']")" 184 "dates added"
assert_eq "$(json_get "$TMP/first.json" "j['rows_added']")" 41216 "rows added"
assert_eq "$(json_get "$TMP/first.json" "j['rows_missing']")" 5705 "rows missing"
assert_eq "$(json_get "$TMP/first.json" "j['rows_quarantined']")" 0 "rows quarantined"
assert_eq "$(json_get "$TMP/first.json" "j['partitions_written']")" 15 "partitions"
assert_eq "$(json_get "$TMP/first.json" "j['first_date']+' '+j['last_date']")" "2024-01-03 2025-03-31" "date range"
pass "workbook ingested"

# 2. Again: nothing added, everything unchanged, lake files untouched.
before=$(lake_state | head -15)
expect_exit 0 "$MILKCAST" --json ingest "$DATA/raw/Leche31032025.xlsx"
assert_eq "$(json_get "$TMP/out" "j['rows_added']")" 0 "rows added on re-ingest"
assert_eq "$(json_get "$TMP/out" "j['rows_unchanged']")" 41216 "rows unchanged"
assert_eq "$(json_get "$TMP/out" "j['partitions_written']")" 0 "partitions rewritten"
assert_eq "$(lake_state | head -15)" "$before" "lake after re-ingest"
pass "idempotent"

# 3. The Parquet files give exactly the same lake rows (source and ingest time aside).
"$MILKCAST" lake export --format csv -o "$TMP/from-xlsx.csv"
export MILKCAST_HOME="$TMP/home2"
expect_exit 0 "$MILKCAST" --json ingest "$DATA"/*.parquet
assert_eq "$(json_get "$TMP/out" "j['rows_added']")" 41216 "rows added from Parquet"
assert_eq "$(json_get "$TMP/out" "j['rows_quarantined']")" 0 "quarantined from Parquet"
"$MILKCAST" lake export --format csv -o "$TMP/from-parquet.csv"
cut -d, -f1-7 "$TMP/from-xlsx.csv" > "$TMP/a"
cut -d, -f1-7 "$TMP/from-parquet.csv" > "$TMP/b"
[ "$(wc -l < "$TMP/a")" -eq 41217 ] || fail "export has $(wc -l < "$TMP/a") lines"
cmp -s "$TMP/a" "$TMP/b" || { diff "$TMP/a" "$TMP/b" | head; fail "workbook and Parquet lakes differ"; }
pass "workbook and Parquet ingest give identical rows"

# 4. Incremental: 2024 from Parquet first, then the cumulative workbook adds only 2025.
export MILKCAST_HOME="$TMP/home3"
expect_exit 0 "$MILKCAST" --json ingest "$DATA"/2024-*.parquet
assert_eq "$(json_get "$TMP/out" "j['dates_added']")" 148 "2024 dates"
expect_exit 0 "$MILKCAST" --json ingest "$DATA/raw/Leche31032025.xlsx"
assert_eq "$(json_get "$TMP/out" "j['dates_added']")" 36 "dates added by the newer workbook"
assert_eq "$(json_get "$TMP/out" "j['rows_added']")" 8064 "rows added by the newer workbook"
assert_eq "$(json_get "$TMP/out" "j['rows_unchanged']")" 33152 "rows already present"
assert_eq "$(json_get "$TMP/out" "j['partitions_written']")" 3 "partitions written"
pass "incremental ingest adds only new dates"

# 5. The manifest records runs, files and partitions.
runs=$(sqlite3 "$MILKCAST_HOME/milkcast.db" "select count(*) from ingest_runs where status='completed'")
assert_eq "$runs" 2 "completed runs"
parts=$(sqlite3 "$MILKCAST_HOME/milkcast.db" "select count(*), sum(rows) from lake_partitions")
assert_eq "$parts" "15|41216" "partitions in the manifest"
pass "manifest"

# 6. --dry-run counts what would happen and writes nothing.
export MILKCAST_HOME="$TMP/home4"
expect_exit 0 "$MILKCAST" --json ingest --dry-run "$DATA/raw/Leche31032025.xlsx"
assert_eq "$(json_get "$TMP/out" "j['rows_added']")" 41216 "dry-run rows counted"
assert_eq "$(json_get "$TMP/out" "j['dry_run']")" True "dry-run flag"
[ -z "$(find "$MILKCAST_HOME/lake" -name '*.parquet')" ] || fail "dry run wrote partitions"
pass "dry run"

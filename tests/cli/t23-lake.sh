#!/usr/bin/env bash
# lake ls, stats and export (CSV and Parquet, read back by DuckDB).
. "$(dirname "$0")/lib.sh"
DATA="$MC_SRC/data/sniim"
DUCK="node $MC_SRC/tests/oracle/duck.mjs"

"$MILKCAST" -q ingest "$DATA"

expect_exit 0 "$MILKCAST" --json lake ls
assert_eq "$(json_get "$TMP/out" "len(j)")" 15 "partitions"
assert_eq "$(json_get "$TMP/out" "sum(p['rows'] for p in j)")" 41216 "rows"
assert_eq "$(json_get "$TMP/out" "sum(p['dates'] for p in j)")" 184 "dates"
assert_eq "$(json_get "$TMP/out" "j[0]['first_date']+' '+j[-1]['last_date']")" "2024-01-03 2025-03-31" "range"
expect_exit 0 "$MILKCAST" lake ls
assert_contains "$TMP/out" "15 partitions, 41216 rows"
pass "lake ls"

# stats: 216 city series + 8 national, 27 city series never observed (data README).
expect_exit 0 "$MILKCAST" --json lake stats
assert_eq "$(json_get "$TMP/out" "len(j)")" 224 "series"
# 27 city series are null throughout (data README); San Luis Río Colorado's four are all 0
# or null, and 0 means missing: 31 city series never observed.
empty=$($DUCK "select count(*) n from (select Estado, Ciudad, Tipo, Canal from read_parquet('$DATA/*.parquet') where Ciudad not like 'Promedio%' group by all having count(Precio) filter (where Precio > 0) = 0)" | $PY -c "import json,sys; print(json.loads(sys.stdin.read())['n'])")
assert_eq "$empty" 31 "DuckDB count of never-observed city series"
assert_eq "$(json_get "$TMP/out" "sum(1 for s in j if s['kind']=='city' and s['observed']==0)")" "$empty" "empty city series"
assert_eq "$(json_get "$TMP/out" "sum(1 for s in j if s['kind']=='national')")" 8 "national series"
assert_eq "$(json_get "$TMP/out" "[s['count'] for s in j if s['city']=='Cd. Juárez'][0]")" 184 "Cd. Juárez dates"
# Cross-check one series against DuckDB on the raw files.
want=$($DUCK "select count(Precio) filter (where Precio > 0) n from read_parquet('$DATA/*.parquet') where trim(Ciudad)='Veracruz' and Tipo='Ultrapasteurizada' and Canal='Autoservicios'" | $PY -c "import json,sys; print(json.loads(sys.stdin.read())['n'])")
got=$(json_get "$TMP/out" "[s['observed'] for s in j if s['city']=='Veracruz' and s['milk_type']=='ultrapasteurizada' and s['channel']=='autoservicios'][0]")
assert_eq "$got" "$want" "Veracruz observed count vs DuckDB"
pass "lake stats"

# export: CSV with a date filter, Parquet that DuckDB reads with the lake's types.
expect_exit 0 "$MILKCAST" lake export --from 2025-03-01 --to 2025-03-31 -o "$TMP/march.csv"
assert_eq "$(head -1 "$TMP/march.csv")" "date,kind,state,city,milk_type,channel,price,source,ingested_at" "CSV header"
march_dates=$($DUCK "select count(distinct Fecha) n from read_parquet('$DATA/2025-03-data.parquet')" | $PY -c "import json,sys; print(json.loads(sys.stdin.read())['n'])")
assert_eq "$(($(wc -l < "$TMP/march.csv") - 1))" "$((224 * march_dates))" "March rows"
expect_exit 0 "$MILKCAST" lake export --format parquet -o "$TMP/all.parquet"
$DUCK "select count(*) n, count(price) np, count(distinct date) d, min(date)::varchar lo, typeof(any_value(date)) t, typeof(any_value(ingested_at)) ts from read_parquet('$TMP/all.parquet')" > "$TMP/duck.json"
assert_eq "$(json_get "$TMP/duck.json" "j['n']+' '+j['np']+' '+j['d']+' '+j['lo']+' '+j['t']")" "41216 35511 184 2024-01-03 DATE" "DuckDB reads the export"
# The export re-ingests into an empty workspace as the same rows.
MILKCAST_HOME="$TMP/again" "$MILKCAST" --json ingest "$TMP/all.parquet" > "$TMP/again.json"
assert_eq "$(json_get "$TMP/again.json" "j['rows_added']")" 41216 "re-ingest of the export"
expect_exit 1 "$MILKCAST" lake export --format parquet -o /nonexistent-dir/x.parquet
assert_contains "$TMP/err" "/nonexistent-dir/x.parquet"
pass "lake export"

#!/usr/bin/env bash
# train → backtest → predict on the shipped data: the issue's acceptance, determinism,
# as-of discipline, output formats, and bad input.
. "$(dirname "$0")/lib.sh"
DUCK="node $MC_SRC/tests/oracle/duck.mjs"
"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"

# Training needs a lake: an empty workspace is a clear error.
expect_exit 1 "$MILKCAST" --home "$TMP/empty" train --trials 2
assert_contains "$TMP/err" "lake in '$TMP/empty' is empty"

expect_exit 0 "$MILKCAST" --json train --until 2024-12-31 --trials 8 --seed 7
bundle=$(json_get "$TMP/out" "j['bundle']")
for f in model.ubj bundle.json snapshot.parquet; do [ -s "$bundle/$f" ] || fail "bundle lacks $f"; done
[ "$(readlink "$MILKCAST_HOME/models/latest")" = "$(basename "$bundle")" ] || fail "models/latest"
B="$bundle/bundle.json"
assert_eq "$(json_get "$B" "len(j['features'])")" 31 "features documented"
assert_eq "$(json_get "$B" "all(f['description'] for f in j['features'])")" True "feature descriptions"
assert_eq "$(json_get "$B" "j['training']['until']")" 2024-12-30 "training cut-off (last publication)"
assert_eq "$(json_get "$B" "j['training']['test']['targets_to'] <= '2024-12-31'")" True "test window"
assert_eq "$(json_get "$B" "j['training']['validation']['targets_to'] < j['training']['test']['targets_from']")" True "validation before test"
assert_eq "$(json_get "$B" "len(j['trials'])")" 8 "trials recorded"
# The snapshot holds the last 60 publications, and DuckDB reads it.
assert_eq "$($DUCK "select count(distinct date) n from read_parquet('$bundle/snapshot.parquet')" | $PY -c "import json,sys; print(json.loads(sys.stdin.read())['n'])")" 60 "snapshot dates"
pass "train writes a documented bundle"

# The same seed gives the same model, bit for bit, although trials run on two threads.
cp "$bundle/model.ubj" "$TMP/first.ubj"
expect_exit 0 "$MILKCAST" --json train --until 2024-12-31 --trials 8 --seed 7
cmp -s "$TMP/first.ubj" "$(json_get "$TMP/out" "j['bundle']")/model.ubj" || fail "same seed, different model"
pass "training is deterministic for a seed"

# Acceptance: on 2025-01-01..2025-03-31 the bundle's RMSE is below the last value's at
# every horizon, or equal where the bundle fell back to it; 90% intervals cover 85-95%.
expect_exit 0 "$MILKCAST" --json backtest --from 2025-01-01 --to 2025-03-31
cp "$TMP/out" "$TMP/bt.json"
assert_eq "$(json_get "$TMP/bt.json" "len(j['horizons'])")" 6 "horizons"
assert_eq "$(json_get "$TMP/bt.json" "j['in_sample']")" False "out of sample"
# Origins start early enough for every horizon to reach the window's first date.
assert_eq "$(json_get "$TMP/bt.json" "len({h['bundle']['n'] for h in j['horizons']})")" 1 "the same rows at every horizon"
assert_eq "$(json_get "$TMP/bt.json" "j['first_origin']")" 2024-12-16 "first origin (6 publications before 2025-01-03)"
$PY - "$TMP/bt.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
for h in j["horizons"]:
    b, n = h["bundle"], h["last_value"]
    assert b["n"] == n["n"] > 5000, h
    if h["forecast"] == "model":
        assert b["rmse"] < n["rmse"], f"h={h['h']}: model RMSE {b['rmse']} vs last value {n['rmse']}"
    else:
        assert b["rmse"] == n["rmse"], h
    assert 0.85 <= b["coverage"] <= 0.95, f"h={h['h']}: coverage {b['coverage']}"
    print(f"h={h['h']} {h['forecast']:>10}: RMSE {b['rmse']:.4f} vs last value {n['rmse']:.4f}, "
          f"coverage {b['coverage']:.3f}")
PY
pass "backtest: bundle at least as good as the last value at every horizon"

# --refit K retrains with the bundle's parameters every K origins on data up to the origin.
expect_exit 0 "$MILKCAST" --json backtest --from 2025-01-01 --to 2025-03-31 --refit 12
assert_eq "$(json_get "$TMP/out" "j['refits'] == -(-j['origins'] // 12)")" True "a refit every 12 origins"
assert_eq "$(json_get "$TMP/out" "j['in_sample']")" False "refit backtest is out of sample"
assert_eq "$(json_get "$TMP/out" "j['horizons'][0]['last_value']['rmse'] == json.load(open('$TMP/bt.json'))['horizons'][0]['last_value']['rmse']")" True "same rows as without refits"
# A backtest inside the training window says so.
expect_exit 0 "$MILKCAST" --json backtest --from 2024-10-01 --to 2024-12-31
assert_eq "$(json_get "$TMP/out" "j['in_sample']")" True "in-sample flagged"
pass "backtest --refit and in-sample warning"

# predict: exact CSV columns, sane rows, the report page.
expect_exit 0 "$MILKCAST" predict --as-of 2025-03-31 --output "$TMP/f.csv"
assert_eq "$(head -1 "$TMP/f.csv")" "state,city,milk_type,channel,as_of,target_date,h,price,lower,upper" "CSV header"
$PY - "$TMP/f.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 193 * 6, len(rows)
for r in rows:
    p, lo, hi = float(r["price"]), float(r["lower"]), float(r["upper"])
    assert lo <= p <= hi and 10 < p < 60, r
    assert r["as_of"] == "2025-03-31" and r["target_date"] > "2025-03-31", r
assert {r["target_date"] for r in rows if r["h"] == "1"} == {"2025-04-02"}
PY
report="$MILKCAST_HOME/reports/predictions/2025-03-31.html"
[ -s "$report" ] || fail "no report"
assert_contains "$report" "<svg"
! grep -o 'https\?://[^"]*' "$report" | grep -v '^http://www.w3.org/2000/svg$' || fail "the report refers to the network"
pass "predict CSV and report"

# As-of discipline: forecasts as of 2024-12-31 are the same whether or not the lake holds
# 2025 (a second workspace gets only the rows up to 2024-12-31).
expect_exit 0 "$MILKCAST" lake export --to 2024-12-31 --format parquet -o "$TMP/to2024.parquet"
"$MILKCAST" -q --home "$TMP/h2024" ingest "$TMP/to2024.parquet"
expect_exit 0 "$MILKCAST" predict --as-of 2024-12-31 --no-report --output "$TMP/a.csv"
expect_exit 0 "$MILKCAST" --home "$TMP/h2024" predict --model "$bundle" --as-of 2024-12-31 --no-report --output "$TMP/b.csv"
cmp -s "$TMP/a.csv" "$TMP/b.csv" || { diff "$TMP/a.csv" "$TMP/b.csv" | head; fail "later data changed an as-of forecast"; }
pass "predict uses only data up to --as-of"

# Parquet and JSON outputs; the Parquet reads back in DuckDB.
expect_exit 0 "$MILKCAST" predict --as-of 2025-03-31 --no-report --horizon 2 --output "$TMP/f.parquet"
assert_eq "$($DUCK "select count(*) n from read_parquet('$TMP/f.parquet') where h <= 2 and lower <= price and price <= upper" | $PY -c "import json,sys; print(json.loads(sys.stdin.read())['n'])")" $((193 * 2)) "Parquet rows"
expect_exit 0 "$MILKCAST" predict --as-of 2025-03-31 --no-report --output "$TMP/f.json"
assert_eq "$(json_get "$TMP/f.json" "len(j)")" $((193 * 6)) "JSON rows"
pass "Parquet and JSON outputs"

# Python's xgboost loads model.ubj and predicts the same on the same feature rows.
expect_exit 0 "$MILKCAST" predict --as-of 2025-03-31 --no-report --output "$TMP/g.csv" --features "$TMP/features.csv"
$PY "$MC_SRC/tests/oracle/xgb_bundle_check.py" "$bundle" "$TMP/features.csv" || fail "Python's xgboost disagrees"
pass "Python's xgboost gives the same predictions from model.ubj"

# Filters: one state; a misspelt name gets close matches; a series without prices is named.
expect_exit 0 "$MILKCAST" predict --as-of 2025-03-31 --no-report --state jalisco -o "$TMP/j.csv"
assert_eq "$(cut -d, -f1 "$TMP/j.csv" | sort -u | tr '\n' ' ')" "Jalisco state " "filtered states"
expect_exit 1 "$MILKCAST" predict --as-of 2025-03-31 --no-report --state Jaliscoo -o "$TMP/x.csv"
assert_contains "$TMP/err" "state 'Jaliscoo' has no prices up to --as-of; close: Jalisco"
expect_exit 1 "$MILKCAST" predict --as-of 2025-03-31 --no-report --city Durango --milk-type ultrapasteurizada --channel tiendas -o "$TMP/x.csv"
assert_contains "$TMP/err" "no series with prices up to --as-of has all of city Durango"
# Two publications into the data, no series has the 4 prices a forecast needs.
expect_exit 1 "$MILKCAST" predict --as-of 2024-01-05 --no-report -o "$TMP/x.csv"
assert_contains "$TMP/err" "no series has enough history on 2024-01-05"
pass "series filters and too little history"

# Bad input: clear errors, non-zero exits.
expect_exit 2 "$MILKCAST" predict --output "$TMP/x.csv"
assert_contains "$TMP/err" "--as-of"
expect_exit 2 "$MILKCAST" predict --as-of 2025-03-31 --output "$TMP/x.txt"
expect_exit 1 "$MILKCAST" predict --as-of 2023-01-01 --output "$TMP/x.csv"
assert_contains "$TMP/err" "no prices on or before 2023-01-01"
expect_exit 1 "$MILKCAST" predict --as-of 2025-03-31 --horizon 9 --output "$TMP/x.csv"
assert_contains "$TMP/err" "1 to 6"
expect_exit 1 "$MILKCAST" predict --as-of 2025-03-31 --model "$TMP/nowhere" --output "$TMP/x.csv"
assert_contains "$TMP/err" "$TMP/nowhere/bundle.json"
[ ! -e "$TMP/x.csv" ] || fail "a failed predict wrote its output"
echo '{"max_depth": {"type": "quniform", "low": 3, "high": 2, "q": 1}}' > "$TMP/space.json"
expect_exit 1 "$MILKCAST" train --trials 2 --space "$TMP/space.json"
assert_contains "$TMP/err" "space.json: parameter 'max_depth'"
echo '{"depth": {"type": "uniform", "low": 3, "high": 5}}' > "$TMP/space2.json"
expect_exit 1 "$MILKCAST" train --trials 2 --space "$TMP/space2.json"
assert_contains "$TMP/err" "parameter 'depth' is not an XGBoost setting"
expect_exit 1 "$MILKCAST" train --trials 2 --horizons 13
assert_contains "$TMP/err" "horizons must be 1 to 12"
expect_exit 1 "$MILKCAST" train --trials 2 --until 2024-01-20
assert_contains "$TMP/err" "too little history"
# A corrupt bundle is refused with the file named.
cp -r "$bundle" "$TMP/broken"
head -c 100 "$bundle/model.ubj" > "$TMP/broken/model.ubj"
expect_exit 1 "$MILKCAST" predict --model "$TMP/broken" --as-of 2025-03-31 --output "$TMP/x.csv"
assert_contains "$TMP/err" "model.ubj"
pass "bad input"

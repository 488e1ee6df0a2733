#!/usr/bin/env bash
# monitor, continued: the quarantine_spike rule on rows really quarantined by ingest (silent on
# the clean shipped data, exit 3 after a file of implausible prices, both of its limits, a bad
# row read again from another file counted once); forecast performance per model version, each
# next to its own training metrics and recomputed in Python; the performance rules judging the
# champion's forecasts only; --model-version.
. "$(dirname "$0")/lib.sh"
ORACLE="$MC_SRC/tests/oracle"
command -v node >/dev/null && [ -d "$ORACLE/node_modules/@duckdb/node-api" ] ||
	{ echo "skip: DuckDB (npm @duckdb/node-api) is not installed"; exit 77; }
DUCK="node $ORACLE/duck.mjs"
"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"
REP="$MILKCAST_HOME/reports/monitoring"
J="$REP/2025-03-31.json"
PROM="$MILKCAST_HOME/metrics/milkcast_monitor.prom"
# Reference 2024 against 2025-Q1, with drift (--drift-share 1: every column would have to
# drift) and the performance rules (--min-rows) out of the way: the exit status is the
# quarantine rule's.
Q1=(--as-of 2025-03-31 --reference-from 2024-01-01 --reference-to 2024-12-31 --current-from 2025-01-01
	--current-to 2025-03-31 --no-alerts --drift-share 1 --min-rows 1000000)

# ---- quarantine_spike ----
expect_exit 2 "$MILKCAST" monitor --quarantine-share 100
assert_contains "$TMP/err" "quarantine-share"
expect_exit 2 "$MILKCAST" monitor --quarantine-ratio -1
expect_exit 2 "$MILKCAST" monitor --model-version ""
expect_exit 0 "$MILKCAST" monitor "${Q1[@]}"
assert_eq "$(json_get "$J" "([(r['evaluated'], r['fired']) for r in j['rules'] if r['rule'] == 'quarantine_spike'], j['health']['quarantined']['current'], j['settings']['quarantine_share'], j['settings']['quarantine_ratio'])")" \
	"([(True, False)], 0, 0.01, 3.0)" "clean data: judged, silent"
grep -qx 'milkcast_alerts_fired{rule="quarantine_spike"} 0' "$PROM" || fail "gauge 0"
pass "the clean shipped data: no quarantine spike, exit 0"

# Implausible prices (ten times the real ones) for every city row of one publication date.
bad_rows() { # DATE FILE [EXTRA_SQL]
	"$MILKCAST" -q lake export --format parquet --from "$1" --to "$1" -o "$TMP/day.parquet"
	$DUCK "COPY (SELECT date, kind, state, city, milk_type, channel, price * 10 AS price, source, ingested_at
		FROM '$TMP/day.parquet' WHERE kind = 'city' ${3:-}) TO '$2' (FORMAT parquet)" >/dev/null
}
bad_rows 2025-03-14 "$TMP/bad-march.parquet"
expect_exit 0 "$MILKCAST" --json ingest "$TMP/bad-march.parquet"
nbad=$(json_get "$TMP/out" "j['rows_quarantined']")
[ "$nbad" -gt 100 ] || fail "the bad file is quarantined ($nbad rows)"
expect_exit 3 "$MILKCAST" monitor "${Q1[@]}"
assert_contains "$TMP/out" "ALERT quarantine_spike: Quarantine spike: "
assert_eq "$(json_get "$J" "[r['rule'] for r in j['rules'] if r['fired']]")" "['quarantine_spike']" "only the quarantine rule"
# The numbers, recomputed from milkcast.db and a lake export.
"$MILKCAST" -q lake export -o "$TMP/lake.csv"
sqlite3 "$MILKCAST_HOME/milkcast.db" "select date, state, city, milk_type, channel, raw_value, reason, source from quarantine" >"$TMP/q.txt"
check_shares() {
	$PY - "$J" "$TMP/lake.csv" "$TMP/q.txt" <<'EOF' || fail "quarantine numbers differ from the recomputation"
import csv, json, sys
j = json.load(open(sys.argv[1]))
lake = [r["date"] for r in csv.DictReader(open(sys.argv[2], encoding="utf-8"))]
q = [l.rstrip("\n").split("|") for l in open(sys.argv[3], encoding="utf-8")]
got = j["health"]["quarantined"]
for win, key in (("current", "current"), ("reference", "reference")):
    w = j["windows"][win]
    inside = lambda d: w["from"] <= d <= w["to"]
    n = len({tuple(r[:7]) for r in q if inside(r[0])})
    rows = sum(1 for d in lake if inside(d))
    assert (got[key], got["lake_rows_" + key]) == (n, rows), (win, got, n, rows)
    assert abs(got["share_" + key] - n / (n + rows)) < 1e-15, (got, n, rows)
cur = j["windows"]["current"]
by_file = {}
for r in q:
    if cur["from"] <= r[0] <= cur["to"]:
        by_file[r[7]] = by_file.get(r[7], 0) + 1
assert {s["source"]: s["rows"] for s in got["current_sources"]} == by_file, (got, by_file)
print("ok", {k: got[k] for k in ("current", "reference", "share_current", "share_reference")})
EOF
}
check_shares
assert_eq "$(json_get "$J" "[r['details'].count('bad-march.parquet') for r in j['rules'] if r['fired']]")" "[1]" "the alert names the file"
grep -qx 'milkcast_alerts_fired{rule="quarantine_spike"} 1' "$PROM" || fail "gauge 1"
grep -q '^milkcast_quarantined_share{window="current"} 0\.0' "$PROM" || fail "share gauge"
promtool check metrics <"$PROM" || fail "promtool"
grep -q 'quarantine_spike' "$REP/2025-03-31.html" && grep -q 'bad-march.parquet' "$REP/2025-03-31.html" || fail "the page"
pass "a file of implausible prices: quarantine_spike fires, exit 3 (shares equal the recomputation)"

# Its two limits, around the measured shares.
cur=$(json_get "$J" "j['health']['quarantined']['share_current']")
expect_exit 0 "$MILKCAST" monitor "${Q1[@]}" --quarantine-share "$($PY -c "print(100 * $cur * 1.01)")"
expect_exit 3 "$MILKCAST" monitor "${Q1[@]}" --quarantine-share "$($PY -c "print(100 * $cur * 0.99)")"
# Bad rows in the reference too: the ratio decides.
bad_rows 2024-06-14 "$TMP/bad-june.parquet"
"$MILKCAST" -q ingest "$TMP/bad-june.parquet"
expect_exit 3 "$MILKCAST" monitor "${Q1[@]}"
k=$(json_get "$J" "j['health']['quarantined']['share_current'] / j['health']['quarantined']['share_reference']")
expect_exit 0 "$MILKCAST" monitor "${Q1[@]}" --quarantine-ratio "$($PY -c "print($k * 1.01)")"
expect_exit 3 "$MILKCAST" monitor "${Q1[@]}" --quarantine-ratio "$($PY -c "print($k * 0.99)")"
pass "quarantine_spike: above --quarantine-share and --quarantine-ratio times the reference share"

# The same bad rows again from another file (plus one more): counted once.
before=$(json_get "$J" "j['health']['quarantined']['current']")
bad_rows 2025-03-14 "$TMP/bad-again.parquet" "UNION ALL (SELECT DATE '2025-03-12', 'city', 'Jalisco', 'Guadalajara', 'pasteurizada', 'tiendas', 999.0::DOUBLE, 'x', ingested_at FROM '$TMP/day.parquet' LIMIT 1)"
"$MILKCAST" -q ingest "$TMP/bad-again.parquet"
expect_exit 3 "$MILKCAST" monitor "${Q1[@]}"
assert_eq "$(json_get "$J" "j['health']['quarantined']['current']")" "$((before + 1))" "distinct quarantined rows"
sqlite3 "$MILKCAST_HOME/milkcast.db" "select date, state, city, milk_type, channel, raw_value, reason, source from quarantine" >"$TMP/q.txt"
check_shares
pass "a bad row read again from another file counts once"

# ---- performance per model version ----
# Start again with a clean quarantine: a new workspace.
export MILKCAST_HOME="$TMP/home2"
REP="$MILKCAST_HOME/reports/monitoring"
J="$REP/2025-03-31.json"
PRED="$MILKCAST_HOME/predictions"
"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"
"$MILKCAST" -q lake export -o "$TMP/lake.csv"
expect_exit 0 "$MILKCAST" -q train --until 2024-12-31 --trials 3 --horizons 2
for d in 2025-01-10 2025-02-03 2025-02-28; do
	expect_exit 0 "$MILKCAST" -q predict --as-of "$d" -o "$TMP/p.csv" --no-report
done
expect_exit 0 "$MILKCAST" -q train --until 2024-12-31 --trials 2 --horizons 2 --seed 7
expect_exit 0 "$MILKCAST" models promote milkcast-forecast 2
for d in 2025-02-03 2025-03-14; do # 2025-02-03 again: another version, not a repeat
	expect_exit 0 "$MILKCAST" -q predict --as-of "$d" -o "$TMP/p.csv" --no-report
done
assert_eq "$(cat "$PRED"/*.jsonl | $PY -c "import json, sys; print(sorted({json.loads(l)['model_version'] for l in sys.stdin}))")" "['1', '2']" "two versions logged"
sqlite3 "$MILKCAST_HOME/milkcast.db" "select v.version, m.key, m.value from model_versions v join metrics m on m.run_uuid = v.run_id where m.key like 'test_%'" >"$TMP/train.txt"

# The recomputation: per version (or only FILTER) the errors per horizon next to that
# version's own test metrics; the pooled line over the same forecasts.
check_versions() { # FILTER ('' = every version)
	$PY - "$PRED" "$TMP/lake.csv" "$J" "$TMP/train.txt" "$1" <<'EOF' || fail "per-version performance differs from the recomputation"
import csv, glob, json, math, sys
pred_dir, lake_csv, report, train, only = sys.argv[1:6]
actual = {}
for r in csv.DictReader(open(lake_csv, encoding="utf-8")):
    if r["price"] != "":
        actual[(r["state"], r["city"], r["milk_type"], r["channel"], r["date"])] = float(r["price"])
trained = {}
for l in open(train):
    v, k, x = l.strip().split("|")
    trained[(v, k)] = float(x)
seen, rows, forecasts, other = set(), {}, {}, 0
for f in sorted(glob.glob(pred_dir + "/*.jsonl")):
    for line in open(f, encoding="utf-8"):
        e = json.loads(line)
        s = e["series"]
        v = e["model_version"]
        key = (s["state"], s["city"], s["milk_type"], s["channel"], e["origin"], e["horizon"], v)
        if key in seen:
            continue
        seen.add(key)
        if only and v != only:
            other += 1
            continue
        forecasts[v] = forecasts.get(v, 0) + 1
        a = actual.get((s["state"], s["city"], s["milk_type"], s["channel"], e["target_date"]))
        if a is not None and "2025-01-01" <= e["target_date"] <= "2025-03-31":
            rows.setdefault(v, {}).setdefault(e["horizon"], []).append((a, e["price"], e["last_price"]))

def check(got, r):
    n = len(r)
    want = (n, sum(abs(a - f) for a, f, _ in r) / n, math.sqrt(sum((a - f) ** 2 for a, f, _ in r) / n),
            math.sqrt(sum((a - l) ** 2 for a, _, l in r) / n))
    have = (got["n"], got["mae"], got["rmse"], got["naive"]["rmse"])
    assert have[0] == want[0] and all(math.isclose(x, y, rel_tol=1e-9) for x, y in zip(have[1:], want[1:])), (have, want)

j = json.load(open(report))
p = j["performance"]
assert p["predictions"]["other_versions"] == other, (p["predictions"], other)
assert p["model_version"] == (only or None), p["model_version"]
vs = {v["version"]: v for v in p["versions"]}
assert list(vs) == sorted(forecasts), (list(vs), forecasts)
for v, hz in rows.items():
    got = vs[v]
    assert got["forecasts"] == forecasts[v], (v, got["forecasts"], forecasts[v])
    assert got["run_id"] and got["champion"] == (v == "2") and got["judged"] == (v == (only or "2")), got
    check(got["all"], [x for r in hz.values() for x in r])
    for h in got["horizons"]:
        check(h, hz[h["horizon"]])
        for k, name in (("rmse", "test_h%d_rmse"), ("mae", "test_h%d_mae"), ("naive_rmse", "test_last_value_h%d_rmse")):
            assert math.isclose(h["training"][k], trained[(v, name % h["horizon"])], rel_tol=1e-12), (v, h)
pooled = [x for hz in rows.values() for r in hz.values() for x in r]
check(p["all"], pooled)
assert p["judged"] == {"version": only or "2", "by": "--model-version" if only else "champion"}, p["judged"]
print("ok", {v: {h: len(r) for h, r in hz.items()} for v, hz in rows.items()}, "other versions", other)
EOF
}
expect_exit 0 "$MILKCAST" monitor "${Q1[@]}"
check_versions ""
H="$REP/2025-03-31.html"
for s in '<h3>Every model version</h3>' '<h3>Model version 1</h3>' 'Model version 2 <span class="muted">(champion; judged by the rules)</span>' \
	'judge only the forecasts of model version 2 (the champion)' 'training test RMSE'; do
	assert_contains "$H" "$s"
done
$PY -c "import sys, xml.etree.ElementTree as E; E.fromstring(open(sys.argv[1]).read().replace('<!DOCTYPE html>', ''))" "$H" || fail "well-formed"
P="$MILKCAST_HOME/metrics/milkcast_monitor.prom"
promtool check metrics <"$P" || fail "promtool"
for m in 'milkcast_version_rolling_rmse{model_version="1",horizon="1"}' 'milkcast_version_rolling_rows{model_version="2",horizon="all"}' \
	'milkcast_training_test_rmse{model_version="2",horizon="2"}' 'milkcast_version_judged{model_version="2"} 1'; do
	grep -qF "$m" "$P" || fail "metric $m"
done
pass "performance per model version, each next to its own training metrics (recomputed)"

expect_exit 0 "$MILKCAST" monitor "${Q1[@]}" --model-version 1
assert_contains "$TMP/out" "model version 1 only"
check_versions 1
assert_contains "$REP/2025-03-31.html" '<h3>Model version 1</h3>'
expect_exit 0 "$MILKCAST" monitor "${Q1[@]}" --model-version 9
assert_contains "$TMP/err" "no logged forecast of model version 9"
assert_eq "$(json_get "$J" "((p := j['performance'])['all']['n'], [v['version'] for v in p['versions']], p['predictions']['other_versions'] > 0)")" \
	"(0, ['9'], True)" "a version nobody logged"
pass "--model-version restricts the performance section to one version"

# The rules judge the champion only: version 1 misses every price by 3, version 2 is exact.
mv "$PRED" "$PRED.real"
mkdir "$PRED"
$PY - "$TMP/lake.csv" "$PRED/batch-hand.jsonl" <<'EOF'
import csv, json, sys
by = {}
for r in csv.DictReader(open(sys.argv[1], encoding="utf-8")):
    if r["kind"] == "city" and r["price"] != "" and r["date"] <= "2025-03-31":
        by.setdefault((r["state"], r["city"], r["milk_type"], r["channel"]), []).append((r["date"], float(r["price"])))
out = open(sys.argv[2], "w")
for key in sorted(by)[:5]:
    s = dict(zip(("state", "city", "milk_type", "channel"), key))
    p = sorted(by[key])
    for (d0, last), (d1, actual) in zip(p[-11:-1], p[-10:]):  # targets: the last 10 publications
        for v, price in (("1", actual + 3), ("2", actual)):
            out.write(json.dumps({"route": "batch", "series": s, "as_of": d0, "origin": d0, "horizon": 1,
                                  "target_date": d1, "price": price, "last_price": last, "model_version": v}) + "\n")
EOF
expect_exit 0 "$MILKCAST" monitor "${Q1[@]}" --min-rows 20 --naive-publications 10
assert_eq "$(json_get "$J" "[(r['rule'], r['evaluated'], r['fired']) for r in j['rules'] if r['rule'] in ('rmse_degraded', 'worse_than_naive')]")" \
	"[('rmse_degraded', True, False), ('worse_than_naive', True, False)]" "judged on version 2"
assert_eq "$(json_get "$J" "(p := j['performance'])['last_publications']['rmse'] > p['last_publications']['naive']['rmse'] and p['last_publications']['n'] == 100")" True \
	"pooled, the model would be worse than the last value"
expect_exit 3 "$MILKCAST" monitor "${Q1[@]}" --min-rows 20 --naive-publications 10 --model-version 1
assert_eq "$(json_get "$J" "[r['rule'] for r in j['rules'] if r['fired']]")" "['rmse_degraded', 'worse_than_naive']" "judged on version 1"
assert_eq "$(json_get "$J" "[r['details'].count('model version 1 (--model-version)') for r in j['rules'] if r['fired']]")" "[1, 1]" "the alerts say which forecasts"
expect_exit 0 "$MILKCAST" -q models promote milkcast-forecast 1
expect_exit 3 "$MILKCAST" monitor "${Q1[@]}" --min-rows 20 --naive-publications 10
assert_contains "$TMP/out" "ALERT rmse_degraded: Forecast RMSE of version 1 degraded"
assert_contains "$TMP/out" "ALERT worse_than_naive"
pass "rmse_degraded and worse_than_naive judge the champion's forecasts (or --model-version's) only"

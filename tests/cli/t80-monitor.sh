#!/usr/bin/env bash
# monitor: reports on the shipped data (reference 2024, current 2025-Q1) with every column's
# test and score; no drift between a window and itself (exit 0); drift after an ingest of
# shifted prices (exit 3); performance equal to a Python recomputation from the logs and the
# lake; alerts delivered to a fake Telegram and webhook, then suppressed; a page with no URL;
# promtool on the textfile and on serve's /metrics; bad options.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "skip: curl is not installed"; exit 77; }
PIDS=()
# shellcheck disable=SC2154 # p is the loop variable inside the trap's string
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"' EXIT
"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"
expect_exit 0 "$MILKCAST" -q train --until 2024-12-31 --trials 3 --horizons 2
for d in 2025-01-10 2025-02-03 2025-02-28 2025-03-14 2025-03-14; do
	expect_exit 0 "$MILKCAST" -q predict --as-of "$d" -o "$TMP/p.csv" --no-report
done
PRED="$MILKCAST_HOME/predictions"
[ "$(wc -l <"$PRED/batch-2025-03-14.jsonl")" -eq $(($(wc -l <"$TMP/p.csv") * 2 - 2)) ] ||
	fail "predict appends its forecasts to the batch log"
assert_eq "$(json_get <(head -1 "$PRED/batch-2025-01-10.jsonl") "(sorted(j), j['route'], j['model_version'], sorted(j['series']))")" \
	"(['as_of', 'horizon', 'last_price', 'lower', 'model_version', 'origin', 'price', 'route', 'series', 'target_date', 'time', 'upper'], 'batch', '1', ['channel', 'city', 'milk_type', 'state'])" "batch log line"
pass "predict logs its forecasts to predictions/batch-AS_OF.jsonl"

# ---- bad options ----
expect_exit 0 "$MILKCAST" monitor --help
assert_contains "$TMP/out" "worse_than_naive"
expect_exit 2 "$MILKCAST" monitor --as-of 2025-13-01
assert_contains "$TMP/err" "as-of"
expect_exit 2 "$MILKCAST" monitor --reference 0d
expect_exit 2 "$MILKCAST" monitor --current 3x
expect_exit 2 "$MILKCAST" monitor --columns price,nope
assert_contains "$TMP/err" "unknown column 'nope'"
expect_exit 2 "$MILKCAST" monitor --num-test nope
expect_exit 2 "$MILKCAST" monitor --rmse-tolerance -5
expect_exit 1 "$MILKCAST" monitor --as-of 2025-03-31 --reference-from 2020-01-01 --reference-to 2020-12-31
assert_contains "$TMP/err" "reference window 2020-01-01 .. 2020-12-31 has no city rows"
expect_exit 1 "$MILKCAST" monitor --current-from 2025-03-01 --current-to 2025-02-01
assert_contains "$TMP/err" "current window is inverted"
[ ! -e "$MILKCAST_HOME/reports/monitoring" ] || fail "a failed run wrote reports"
pass "bad options and empty windows"

# ---- reference 2024, current 2025-Q1 ----
Q1=(--as-of 2025-03-31 --reference-from 2024-01-01 --reference-to 2024-12-31 --current-from 2025-01-01 --current-to 2025-03-31)
set +e
"$MILKCAST" --json monitor "${Q1[@]}" --no-alerts >"$TMP/out" 2>"$TMP/err"
rc=$?
set -e
REP="$MILKCAST_HOME/reports/monitoring"
J="$REP/2025-03-31.json"
[ -s "$J" ] && [ -s "$REP/2025-03-31.html" ] && cmp -s "$J" "$REP/latest.json" || fail "reports written"
fired=$(json_get "$J" "[r['rule'] for r in j['rules'] if r['fired']]")
if [ "$fired" = "[]" ]; then want=0; else want=3; fi
assert_eq "$rc" "$want" "exit status with rules fired: $fired"
assert_eq "$(json_get "$TMP/out" "(j['status'], j['summary'])")" "('$([ $want = 3 ] && echo alert || echo healthy)', '$J')" "--json summary"
assert_eq "$(json_get "$J" "(j['windows']['reference']['from'], j['windows']['reference']['to'], j['windows']['current']['from'], j['windows']['current']['to'])")" \
	"('2024-01-01', '2024-12-31', '2025-01-01', '2025-03-31')" "windows"
assert_eq "$(json_get "$J" "[c['column'] for c in j['drift']['columns']][:6]")" "['price', 'state', 'city', 'milk_type', 'channel', 'f_last']" "columns"
assert_eq "$(json_get "$J" "all(c['test'] and c['score'] is not None and c['threshold'] and isinstance(c['drift'], bool) for c in j['drift']['columns'])")" True "every column has a test and a score"
assert_eq "$(json_get "$J" "len(j['drift']['columns']) >= 20 and j['drift']['tested'] == len(j['drift']['columns'])")" True "features tested"
assert_eq "$(json_get "$J" "[(c['test'], c['drift']) for c in j['drift']['columns'] if c['column'] in ('price', 'state')]")" "[('wasserstein', True), ('jensenshannon', False)]" "price drifted, states did not"
assert_eq "$(json_get "$J" "j['drift']['share'] == j['drift']['drifted'] / j['drift']['tested']")" True "drift share"
assert_eq "$(json_get "$J" "(j['model']['version'], len(j['model']['run_id']))")" "('1', 32)" "champion"
assert_eq "$(json_get "$J" "(j['health']['last_publication'], j['health']['days_since'], [j['health']['quarantined'][k] for k in ('current', 'reference', 'share_current', 'current_sources')])")" "('2025-03-31', 0, [0, 0, 0.0, []])" "health"
assert_eq "$(json_get "$J" "[(r['evaluated'], r['fired']) for r in j['rules'] if r['rule'] == 'quarantine_spike']")" "[(True, False)]" "no quarantine spike on the shipped data"
pass "reference 2024 vs 2025-Q1: both reports, every column tested (rules fired: $fired)"

# Performance: recomputed from the logs and a lake export.
"$MILKCAST" -q lake export -o "$TMP/lake.csv"
RUN_ID=$(json_get "$J" "j['model']['run_id']")
sqlite3 "$MILKCAST_HOME/milkcast.db" "select key, value from metrics where run_uuid = '$RUN_ID' and key like 'test_h%_rmse'" >"$TMP/train.txt"
$PY - "$PRED" "$TMP/lake.csv" "$J" "$TMP/train.txt" <<'EOF' || fail "performance differs from the recomputation"
import csv, glob, json, math, sys
pred_dir, lake_csv, report, train = sys.argv[1:5]
actual = {}
for r in csv.DictReader(open(lake_csv, encoding="utf-8")):
    if r["price"] != "":
        actual[(r["state"], r["city"], r["milk_type"], r["channel"], r["date"])] = float(r["price"])
seen, rows, dup = set(), {}, 0
for f in sorted(glob.glob(pred_dir + "/*.jsonl")):
    for line in open(f, encoding="utf-8"):
        e = json.loads(line)
        s = e["series"]
        key = (s["state"], s["city"], s["milk_type"], s["channel"], e["origin"], e["horizon"], e["model_version"])
        if key in seen:
            dup += 1
            continue
        seen.add(key)
        a = actual.get((s["state"], s["city"], s["milk_type"], s["channel"], e["target_date"]))
        if a is not None and "2025-01-01" <= e["target_date"] <= "2025-03-31":
            rows.setdefault(e["horizon"], []).append((a, e["price"], e["last_price"]))
j = json.load(open(report))
p = j["performance"]
assert p["predictions"]["duplicates"] == dup > 0, (p["predictions"], dup)
assert p["predictions"]["unique"] == len(seen), p["predictions"]
assert p["predictions"]["joined"] == sum(len(v) for v in rows.values())
trained = {k: float(v) for k, v in (l.strip().split("|") for l in open(train))}
for h in p["horizons"]:
    r = rows[h["horizon"]]
    n = len(r)
    mae = sum(abs(a - f) for a, f, _ in r) / n
    rmse = math.sqrt(sum((a - f) ** 2 for a, f, _ in r) / n)
    bias = sum(f - a for a, f, _ in r) / n
    mape = 100 * sum(abs(a - f) / abs(a) for a, f, _ in r) / n
    nmae = sum(abs(a - l) for a, _, l in r) / n
    nrmse = math.sqrt(sum((a - l) ** 2 for a, _, l in r) / n)
    got = (h["n"], h["mae"], h["rmse"], h["bias"], h["mape"], h["naive"]["mae"], h["naive"]["rmse"])
    want = (n, mae, rmse, bias, mape, nmae, nrmse)
    assert got[0] == want[0] and all(math.isclose(x, y, rel_tol=1e-9) for x, y in zip(got[1:], want[1:])), (got, want)
    assert "training" not in h, "the pooled horizons mix versions: no training metrics"
# One version here (the champion): its horizons are the pooled ones, next to its own test metrics.
(v,) = p["versions"]
assert (v["version"], v["champion"], v["judged"], p["judged"]) == ("1", True, True, {"version": "1", "by": "champion"}), v
assert [(h["horizon"], h["n"], h["rmse"]) for h in v["horizons"]] == [(h["horizon"], h["n"], h["rmse"]) for h in p["horizons"]]
for h in v["horizons"]:
    assert math.isclose(h["training"]["rmse"], trained["test_h%d_rmse" % h["horizon"]], rel_tol=1e-12)
print("ok", {h: len(v) for h, v in rows.items()}, "duplicates", dup)
EOF
assert_eq "$(json_get "$J" "sum(p['n'] for p in j['performance']['over_time']) == j['performance']['all']['n'] > 0")" True "error over time"
pass "performance per horizon equals the recomputation; repeats counted once"

# The page: every section, no URL, no external resource.
H="$REP/2025-03-31.html"
for s in 'id="alerts"' 'id="drift"' 'id="distributions"' 'id="performance"' 'id="health"' '<svg' 'f_last'; do
	assert_contains "$H" "$s"
done
[ "$(grep -c '<figure>' "$H")" -ge 20 ] || fail "a chart per column"
! grep -n -E 'https?://|src=|@import|url\(' "$H" || fail "the page refers to something outside itself"
$PY -c "import sys, xml.etree.ElementTree as E; E.fromstring(open(sys.argv[1]).read().replace('<!DOCTYPE html>', ''))" "$H" || fail "well-formed"
pass "the HTML page is self-contained"

if command -v promtool >/dev/null; then
	promtool check metrics <"$MILKCAST_HOME/metrics/milkcast_monitor.prom" || fail "promtool check metrics (textfile)"
	pass "promtool accepts the textfile"
else
	echo "skip: promtool is not installed"
fi
for m in milkcast_drift_share milkcast_dataset_drift 'milkcast_column_drift_score{column="price",test="wasserstein"}' \
	'milkcast_rolling_mae{horizon="1"}' 'milkcast_rolling_rmse{horizon="2"}' 'milkcast_naive_rmse{horizon="1"}' \
	milkcast_last_ingested_date_seconds 'milkcast_alerts_fired{rule="data_stale"} 0'; do
	grep -qF "$m" "$MILKCAST_HOME/metrics/milkcast_monitor.prom" || fail "metric $m"
done
assert_eq "$(awk '/^milkcast_last_ingested_date_seconds /{print $2}' "$MILKCAST_HOME/metrics/milkcast_monitor.prom")" \
	"$(date -u -d 2025-03-31 +%s)" "last ingested date"

# ---- a window against itself: no drift, healthy ----
expect_exit 0 "$MILKCAST" --json monitor --as-of 2025-03-31 --reference-from 2025-01-01 --reference-to 2025-03-31 \
	--current-from 2025-01-01 --current-to 2025-03-31 --min-rows 1000000
assert_eq "$(json_get "$J" "(j['drift']['drifted'], j['drift']['dataset_drift'], j['status'], j['alerts_fired'])")" "(0, False, 'healthy', 0)" "no drift"
assert_eq "$(json_get "$J" "{c['score'] for c in j['drift']['columns'] if c['test'] in ('wasserstein', 'jensenshannon')}")" "{0.0}" "zero distances"
pass "a window against itself: no drift, exit 0"

# ---- data not updated: exit 3 ----
expect_exit 3 "$MILKCAST" monitor --as-of 2025-03-31 --today 2025-04-30 --min-rows 1000000 --no-alerts \
	--reference-from 2025-01-01 --reference-to 2025-03-31 --current-from 2025-01-01 --current-to 2025-03-31
assert_contains "$TMP/out" "ALERT data_stale: No new SNIIM data for 30 days"
expect_exit 0 "$MILKCAST" monitor --as-of 2025-03-31 --today 2025-04-30 --stale-days 30 --min-rows 1000000 \
	--reference-from 2025-01-01 --reference-to 2025-03-31 --current-from 2025-01-01 --current-to 2025-03-31
pass "data_stale fires after --stale-days"

# ---- alerts: a fake Telegram and webhook; the second run is suppressed ----
cat >"$TMP/script.json" <<'EOF'
{"token": "123456:ABC-def", "chat_id": "-1001234567890"}
EOF
$PY "$MC_SRC/tests/oracle/fake_telegram.py" "$TMP/script.json" "$TMP/record.json" "$TMP/port" 2>"$TMP/fake.err" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
port=$(cat "$TMP/port")
export MILKCAST_TELEGRAM_API="http://127.0.0.1:$port" MILKCAST_TELEGRAM_TOKEN="123456:ABC-def" \
	MILKCAST_TELEGRAM_CHAT_ID="-1001234567890" MILKCAST_ALERT_WEBHOOK="http://127.0.0.1:$port/hook" \
	MILKCAST_ALERT_WINDOW=1h
STALE=(--as-of 2025-03-31 --today 2025-04-30 --min-rows 1000000 --reference-from 2025-01-01
	--reference-to 2025-03-31 --current-from 2025-01-01 --current-to 2025-03-31)
expect_exit 3 "$MILKCAST" monitor "${STALE[@]}"
assert_contains "$TMP/out" "telegram: sent"
assert_eq "$(json_get "$J" "[(r['rule'], r['delivery']['telegram']['status'], r['delivery']['webhook']['status']) for r in j['rules'] if r['fired']]")" \
	"[('data_stale', 'sent', 'sent')]" "delivered"
assert_eq "$(json_get "$TMP/record.json" "(sorted(r['endpoint'] for r in j['requests']), j['protocol_errors'])")" "(['telegram', 'webhook'], [])" "fake received"
assert_eq "$(json_get "$TMP/record.json" "[r for r in j['requests'] if r['endpoint'] == 'telegram'][0]['plain'].count('No new SNIIM data for 30 days') > 0 and '$H' in [r for r in j['requests'] if r['endpoint'] == 'telegram'][0]['plain']")" True "the alert names what and the report"
expect_exit 3 "$MILKCAST" monitor "${STALE[@]}"
assert_eq "$(json_get "$J" "[(r['delivery']['telegram']['status'], r['delivery']['webhook']['status']) for r in j['rules'] if r['fired']]")" "[('suppressed', 'suppressed')]" "suppressed"
assert_eq "$(json_get "$TMP/record.json" "len(j['requests'])")" 2 "nothing sent twice"
pass "alerts delivered once, then suppressed within the window"
unset MILKCAST_TELEGRAM_API MILKCAST_TELEGRAM_TOKEN MILKCAST_TELEGRAM_CHAT_ID MILKCAST_ALERT_WEBHOOK MILKCAST_ALERT_WINDOW

# ---- serve exposes the monitor's gauges ----
"$MILKCAST" serve --listen 127.0.0.1:0 --poll 0 2>"$TMP/serve.err" &
PIDS+=($!)
SPID=$!
for _ in $(seq 200); do
	grep -q '"event":"listening"' "$TMP/serve.err" 2>/dev/null && break
	kill -0 "$SPID" 2>/dev/null || { cat "$TMP/serve.err"; fail "serve exited"; }
	sleep 0.05
done
sport=$($PY -c "import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if '\"listening\"' in l][0]['port'])" "$TMP/serve.err")
curl -s "http://127.0.0.1:$sport/metrics" >"$TMP/metrics.txt"
grep -q '^milkcast_alerts_fired{rule="data_stale"} 1$' "$TMP/metrics.txt" || fail "serve exposes the monitor's gauges"
grep -q '^# TYPE http_requests_total counter' "$TMP/metrics.txt" || fail "serve's own metrics"
if command -v promtool >/dev/null; then
	promtool check metrics <"$TMP/metrics.txt" || fail "promtool check metrics (serve)"
fi
expect_exit 0 "$MILKCAST" monitor --as-of 2025-03-31 --min-rows 1000000 --reference-from 2025-01-01 \
	--reference-to 2025-03-31 --current-from 2025-01-01 --current-to 2025-03-31
curl -s "http://127.0.0.1:$sport/metrics" >"$TMP/metrics.txt"
grep -q '^milkcast_alerts_fired{rule="data_stale"} 0$' "$TMP/metrics.txt" || fail "serve reads the file again when it changes"
kill "$SPID"
wait "$SPID" 2>/dev/null || true
pass "serve's /metrics carries the monitor's gauges (promtool)"

# ---- shifted prices after the reference: drift, exit 3 ----
ORACLE="$MC_SRC/tests/oracle"
if command -v node >/dev/null && [ -d "$ORACLE/node_modules/@duckdb/node-api" ]; then
	"$MILKCAST" -q lake export --format parquet --from 2025-03-01 --to 2025-03-31 -o "$TMP/march.parquet"
	node "$ORACLE/duck.mjs" "COPY (SELECT date + 35 AS date, kind, state, city, milk_type, channel, round(price * 1.3, 2) AS price, source, ingested_at FROM '$TMP/march.parquet') TO '$TMP/shifted.parquet' (FORMAT parquet)" >/dev/null
	"$MILKCAST" -q ingest "$TMP/shifted.parquet"
	expect_exit 3 "$MILKCAST" --json monitor --as-of 2025-05-05 --current 30d --reference-from 2025-01-01 \
		--reference-to 2025-03-31 --no-alerts --min-rows 1000000
	J2="$REP/2025-05-05.json"
	assert_eq "$(json_get "$J2" "(j['drift']['dataset_drift'], [c['drift'] for c in j['drift']['columns'] if c['column'] in ('price', 'f_last')], [r['rule'] for r in j['rules'] if r['fired']])")" \
		"(True, [True, True], ['dataset_drift'])" "drift after the shift"
	assert_eq "$(json_get "$J2" "(j['windows']['current']['from'], j['windows']['current']['to'])")" "('2025-04-06', '2025-05-05')" "current = (as-of - 30d, as-of]"
	pass "prices shifted by 30 %: dataset drift, exit 3"
else
	echo "skip: DuckDB (npm @duckdb/node-api) is not installed: no shifted-price case"
fi

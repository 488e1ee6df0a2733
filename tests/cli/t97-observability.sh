#!/usr/bin/env bash
# Observability: deploy/prometheus's config and rules pass `promtool check`,
# the rules pass their unit tests (tests/deploy/rules_test.yml: every alert,
# and the recording rules' numbers), and a broken rule is refused; then a
# trained `milkcast serve` (with a monitor run's gauges) is scraped by
# Debian's Prometheus, started on loopback with the shipped job and rules:
# its model, request counts, monitor gauges and recording rules come back
# through the query API with the values sent, and the alerts this data
# should trip are pending; the Grafana dashboard parses, every panel's query
# is evaluated by that Prometheus with data, and uses only metrics that serve
# exposes, the monitor writes or the rules record; the provisioning parses.
. "$(dirname "$0")/lib.sh"
for tool in promtool prometheus curl; do
	command -v "$tool" >/dev/null || { echo "skip: $tool is not installed (scripts/install-deps.sh)"; exit 77; }
done
$PY -c 'import yaml' 2>/dev/null || { echo "skip: Python's yaml module is missing (python3-yaml)"; exit 77; }
PROM_DIR="$MC_SRC/deploy/prometheus"
RULES="$PROM_DIR/rules/milkcast.yml"
DASH="$MC_SRC/deploy/grafana/dashboards/milkcast.json"
PIDS=()
# shellcheck disable=SC2154 # p is the loop variable inside the trap's string
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$TMP"' EXIT

# ---- promtool ----
expect_exit 0 promtool check config "$PROM_DIR/prometheus.yml"
assert_contains "$TMP/out" "SUCCESS: 1 rule files found"
expect_exit 0 promtool check rules "$RULES"
nrules=$(grep -cE '^ *- (record|alert):' "$RULES")
assert_contains "$TMP/out" "SUCCESS: $nrules rules found"
expect_exit 0 promtool test rules "$MC_SRC/tests/deploy/rules_test.yml"
assert_contains "$TMP/out" "SUCCESS"
for a in MilkcastHigh5xxRatio MilkcastSlowP99 MilkcastNoPredictions MilkcastDriftShareHigh MilkcastWorseThanNaive MilkcastDataStale MilkcastModelInfoMissing; do
	grep -q "alertname: $a\$" "$MC_SRC/tests/deploy/rules_test.yml" || fail "no unit test for $a"
	assert_eq "$($PY -c "import yaml,sys; r=[r for g in yaml.safe_load(open(sys.argv[1]))['groups'] for r in g['rules'] if r.get('alert') == sys.argv[2]][0]; print(bool(r.get('for')) and r['labels']['severity'] in ('warning', 'critical') and bool(r['annotations']['summary']))" "$RULES" "$a")" True "$a has for, severity and a summary"
done
# The unit tests can fail: the same tests against rules whose drift threshold moved.
mkdir -p "$TMP/deploy/prometheus/rules" "$TMP/tests/deploy"
sed 's/milkcast_drift_share >= 0.5/milkcast_drift_share >= 0.6/' "$RULES" >"$TMP/deploy/prometheus/rules/milkcast.yml"
cp "$MC_SRC/tests/deploy/rules_test.yml" "$TMP/tests/deploy/"
expect_exit 1 promtool test rules "$TMP/tests/deploy/rules_test.yml"
cat "$TMP/out" "$TMP/err" >"$TMP/all"
assert_contains "$TMP/all" "alertname: MilkcastDriftShareHigh"
sed 's/expr: milkcast_drift_share >= 0.5/expr: milkcast_drift_share >=/' "$RULES" >"$TMP/bad-rules.yml"
expect_exit 1 promtool check rules "$TMP/bad-rules.yml"
pass "promtool: config, $nrules rules, unit tests of every alert (and a moved threshold fails them)"

# ---- a workspace with a model, forecasts and a monitor run ----
"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"
"$MILKCAST" -q train --until 2024-12-31 --trials 3 --horizons 2 >/dev/null
for d in 2025-01-10 2025-02-03 2025-02-28; do
	"$MILKCAST" -q predict --as-of "$d" -o "$TMP/p.csv" --no-report
done
set +e
"$MILKCAST" -q monitor --as-of 2025-03-31 --no-alerts >/dev/null 2>"$TMP/monitor.err"
rc=$?
set -e
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { cat "$TMP/monitor.err"; fail "monitor exited $rc"; }
TEXTFILE="$MILKCAST_HOME/metrics/milkcast_monitor.prom"
[ -s "$TEXTFILE" ] || fail "no monitor textfile"
REPORT="$MILKCAST_HOME/reports/monitoring/latest.json"

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$MILKCAST" serve --listen 127.0.0.1:0 --poll 0 --access-log none 2>"$TMP/serve.err" &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
for _ in $(seq 200); do
	grep -q '"event":"listening"' "$TMP/serve.err" 2>/dev/null && break
	kill -0 "$SERVE_PID" 2>/dev/null || { cat "$TMP/serve.err"; fail "serve exited"; }
	sleep 0.05
done
SERVE_PORT=$($PY -c "import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if '\"listening\"' in l][0]['port'])" "$TMP/serve.err")
SERVE="http://127.0.0.1:$SERVE_PORT"
one='{"state":"Jalisco","city":"Guadalajara","milk_type":"pasteurizada","channel":"tiendas"}'
send() { # N PATH [curl args]: N requests, each answered with the status expected by the caller
	local n=$1; shift
	local path=$1; shift
	for _ in $(seq "$n"); do curl -s -o /dev/null -w '%{http_code}\n' "$SERVE$path" "$@"; done
}
assert_eq "$(send 4 /v1/predict -d "$one" | sort -u)" 200 "predicts"
assert_eq "$(send 2 '/v1/forecast?state=Jalisco&city=Guadalajara&milk_type=pasteurizada&channel=tiendas' | sort -u)" 200 "forecasts"
assert_eq "$(send 3 /nope | sort -u)" 404 "unknown routes"
assert_eq "$(send 1 /v1/predict -d '{"state":' | sort -u)" 400 "bad JSON"
curl -s "$SERVE/metrics" >"$TMP/metrics.txt"

# ---- Prometheus with the shipped job and rules, scraping that serve ----
PROM_PORT=$(free_port)
PROM="http://127.0.0.1:$PROM_PORT"
$PY - "$PROM_DIR/prometheus.yml" "$RULES" "127.0.0.1:$SERVE_PORT" "$TMP/prometheus.yml" <<'PY'
import sys, yaml
conf = yaml.safe_load(open(sys.argv[1]))
conf["global"].update(scrape_interval="1s", evaluation_interval="1s")
conf["rule_files"] = [sys.argv[2]]
conf.pop("alerting", None)  # no Alertmanager here
job = [j for j in conf["scrape_configs"] if j["job_name"] == "milkcast"][0]
job.update(scrape_interval="1s", scrape_timeout="1s")
job["static_configs"][0]["targets"] = [sys.argv[3]]
yaml.safe_dump(conf, open(sys.argv[4], "w"))
PY
expect_exit 0 promtool check config "$TMP/prometheus.yml"
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$TMP/prometheus.log" 2>&1 &
PROM_PID=$!
PIDS+=("$PROM_PID")
# q EXPR [PY]: the query's JSON answer, or PY evaluated on its result list `r`.
q() {
	curl -s --max-time 10 "$PROM/api/v1/query" --data-urlencode "query=$1" >"$TMP/q.json" || echo '{}' >"$TMP/q.json"
	if [ $# -ge 2 ]; then json_get "$TMP/q.json" "(lambda r: $2)(j['data']['result'])"; fi
}
# wait_for EXPR PY WANT: poll (up to 30 s) until PY on EXPR's result gives WANT.
wait_for() {
	local got=
	for _ in $(seq 150); do
		kill -0 "$PROM_PID" 2>/dev/null || { tail -20 "$TMP/prometheus.log"; fail "prometheus exited"; }
		got=$(q "$1" "$2" 2>/dev/null || true)
		[ "$got" = "$3" ] && return 0
		sleep 0.2
	done
	tail -5 "$TMP/prometheus.log"
	fail "$1: $2 is '$got', expected '$3'"
}
wait_for 'up{job="milkcast"}' "[x['value'][1] for x in r]" "['1']"
assert_eq "$(q milkcast_model_info "[(x['metric']['job'], x['metric']['name'], x['metric']['version'], x['value'][1]) for x in r]")" \
	"[('milkcast', 'milkcast-forecast', '1', '1')]" "milkcast_model_info"
# More traffic while Prometheus watches, so that rates and latencies are not zero.
assert_eq "$(send 5 /v1/predict -d "$one" | sort -u)" 200 "predicts"
count() { q "sum(http_requests_total{job=\"milkcast\",$1})" "int(r[0]['value'][1]) if r else 0"; }
wait_for 'sum(http_requests_total{job="milkcast",route="/v1/predict",code="200"})' "int(r[0]['value'][1]) if r else 0" 9
assert_eq "$(count 'route="/v1/forecast",method="GET",code="200"')" 2 "forecast requests"
assert_eq "$(count 'route="unmatched",code="404"')" 3 "404 requests"
assert_eq "$(count 'route="/v1/predict",code="400"')" 1 "400 requests"
assert_eq "$(q 'milkcast_predictions_total' "[int(x['value'][1]) for x in r]")" "[13]" "predictions served (9 predicts, 2 forecasts of 2 horizons)"
pass "Prometheus scrapes serve: model version 1, every request counted"

wait_for 'job:http_requests:rate5m{job="milkcast"}' "len(r) == 1 and float(r[0]['value'][1]) > 0" True
wait_for 'job:http_requests_5xx:ratio_rate5m{job="milkcast"}' "[x['value'][1] for x in r]" "['0']"
wait_for 'job_route:http_request_duration_seconds:p99_5m{route="/v1/predict"}' "len(r) == 1 and 0 < float(r[0]['value'][1]) <= 2.5" True
wait_for 'job:milkcast_predictions:rate5m' "len(r) == 1 and float(r[0]['value'][1]) > 0" True
drift=$(json_get "$REPORT" "j['drift']['share']")
assert_eq "$(q milkcast_drift_share "[abs(float(x['value'][1]) - $drift) < 1e-12 for x in r]")" "[True]" "drift share = the monitor report's"
ratio=$($PY -c "
import re, sys
t = open(sys.argv[1]).read()
g = lambda n: float(re.search(n + r'\{horizon=\"1\"\} (\S+)', t).group(1))
print(repr(g('milkcast_rolling_rmse') / g('milkcast_naive_rmse')))" "$TEXTFILE")
assert_eq "$(q 'job_horizon:milkcast_rolling_rmse:ratio_naive{horizon="1"}' "[abs(float(x['value'][1]) - $ratio) < 1e-9 for x in r]")" "[True]" "RMSE over naive (h=1)"
pass "recording rules: request rate, 5xx ratio 0, p99 of /v1/predict, predictions rate, RMSE over naive"

# The data's last date is 2025-03-31 and, in this window, most columns drift:
# those alerts are pending (their `for` has not passed); the model is there.
alerts() { curl -s "$PROM/api/v1/alerts" >"$TMP/alerts.json"; json_get "$TMP/alerts.json" "sorted((a['labels']['alertname'], a['state']) for a in j['data']['alerts'] $1)"; }
want_drift=$($PY -c "print($drift >= 0.5)")
last_date=$(sed -n 's/^milkcast_data_last_date_seconds //p' "$TMP/metrics.txt")
want_stale="[]"
[ $(($(date +%s) - ${last_date%.*})) -gt $((7 * 86400)) ] && want_stale="[('MilkcastDataStale', 'pending')]"
for _ in $(seq 50); do
	[ "$(alerts "if a['labels']['alertname'] == 'MilkcastDataStale'")" = "$want_stale" ] && break
	sleep 0.2
done
assert_eq "$(alerts "if a['labels']['alertname'] == 'MilkcastDataStale'")" "$want_stale" "stale data alert"
if [ "$want_drift" = True ]; then
	assert_eq "$(alerts "if a['labels']['alertname'] == 'MilkcastDriftShareHigh'")" "[('MilkcastDriftShareHigh', 'pending')]" "drift alert"
fi
assert_eq "$(alerts "if a['labels']['alertname'] in ('MilkcastModelInfoMissing', 'MilkcastHigh5xxRatio')")" "[]" "no missing-model or 5xx alert"
curl -s "$PROM/api/v1/rules" >"$TMP/rules.json"
assert_eq "$(json_get "$TMP/rules.json" "sum(len(g['rules']) for g in j['data']['groups'])")" "$nrules" "rules loaded"
assert_eq "$(json_get "$TMP/rules.json" "[r['name'] for g in j['data']['groups'] for r in g['rules'] if r['health'] != 'ok']")" "[]" "every rule evaluates"
pass "alerts: $([ "$want_stale" != "[]" ] && echo "stale data, ")$([ "$want_drift" = True ] && echo "drift share $drift ")pending as the data says, no missing-model or 5xx alert"

# ---- Grafana ----
expect_exit 0 $PY "$MC_SRC/tests/deploy/check_dashboard.py" "$DASH" "$PROM" "$RULES" "$TMP/metrics.txt" "$TEXTFILE" --require-data
npanels=$(json_get "$DASH" "sum(1 for p in j['panels'] if p['type'] != 'row')")
nqueries=$(grep -c 'series$' "$TMP/out")
assert_eq "$nqueries" "$(json_get "$DASH" "sum(len(p['targets']) for p in j['panels'] if p['type'] != 'row')")" "queries evaluated"
# The check fails on a dashboard using a metric nobody exposes, or a broken query.
$PY - "$DASH" "$TMP/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = [p for p in d["panels"] if p["type"] != "row"]
t[0]["targets"][0]["expr"] = "sum(milkcast_no_such_metric)"
t[1]["targets"][0]["expr"] = "sum(rate(http_requests_total[1m])"
t[2]["datasource"] = {"type": "prometheus", "uid": "some-uid"}
json.dump(d, open(sys.argv[2], "w"))
PY
expect_exit 1 $PY "$MC_SRC/tests/deploy/check_dashboard.py" "$TMP/bad.json" "$PROM" "$RULES" "$TMP/metrics.txt" "$TEXTFILE"
assert_contains "$TMP/out" "metric 'milkcast_no_such_metric' is neither exposed nor recorded"
assert_contains "$TMP/out" "bad_data"
assert_contains "$TMP/out" "its data source is not \${datasource}"
for f in "$MC_SRC"/deploy/grafana/provisioning/*/*.yml; do
	assert_eq "$($PY -c "import yaml,sys; d = yaml.safe_load(open(sys.argv[1])); print(d['apiVersion'], bool(d.get('datasources') or d.get('providers')))" "$f")" "1 True" "$(basename "$(dirname "$f")") provisioning"
done
assert_eq "$($PY -c "import yaml,sys; print([(d['type'], d['url']) for d in yaml.safe_load(open(sys.argv[1]))['datasources']])" "$MC_SRC/deploy/grafana/provisioning/datasources/milkcast.yml")" "[('prometheus', 'http://localhost:9090')]" "datasource"
pass "Grafana: $npanels panels, $nqueries queries evaluated by Prometheus with data, every metric exposed or recorded; provisioning parses"

kill "$PROM_PID" "$SERVE_PID"
wait "$PROM_PID" 2>/dev/null || true
wait "$SERVE_PID" 2>/dev/null || true
PIDS=()
pass "stopped Prometheus and serve"

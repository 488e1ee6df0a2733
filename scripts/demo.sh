#!/usr/bin/env bash
# The main job end to end on the shipped data, with embedded defaults.
# Ingest the SNIIM workbook into the Parquet lake, summarise it, train the
# forecaster on 2024, score it on 2025 Q1 against the last value, forecast
# the publications after 31 March 2025, serve the model, and monitor 2025 Q1
# against 2024.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/milkcast}
export MILKCAST_HOME=${MILKCAST_HOME:-$PWD/milkcast-home}

echo "== milkcast demo: workspace $MILKCAST_HOME"
echo
echo "== 1. ingest the SNIIM workbook of 31 March 2025 (184 publications)"
"$BIN" ingest data/sniim/raw/Leche31032025.xlsx
echo
echo "== 2. ingest the same prices as published monthly Parquet files (nothing new: idempotent)"
"$BIN" ingest data/sniim/
echo
echo "== 3. the lake"
"$BIN" lake ls
echo
echo "== 4. series summary (first rows)"
mkdir -p "$MILKCAST_HOME/reports"
# Into a file first: `| head` would close the pipe early (SIGPIPE under pipefail).
"$BIN" lake stats > "$MILKCAST_HOME/reports/lake-stats.txt"
head -12 "$MILKCAST_HOME/reports/lake-stats.txt"
tail -1 "$MILKCAST_HOME/reports/lake-stats.txt"
"$BIN" lake stats --json > "$MILKCAST_HOME/reports/lake-stats.json"
"$BIN" -q lake export --format csv -o "$MILKCAST_HOME/reports/prices.csv"
echo
echo "== 5. train on everything up to 2024-12-31 (TPE search over 25 XGBoost trials, a few seconds)"
"$BIN" train --until 2024-12-31
echo
echo "== 6. backtest on January-March 2025, which training never saw"
"$BIN" backtest --from 2025-01-01 --to 2025-03-31
echo
echo "== 7. forecast the next six publications after 31 March 2025"
"$BIN" predict --as-of 2025-03-31 --output "$MILKCAST_HOME/reports/forecast-2025-03-31.csv"
echo
echo "== 8. the tracked run and the model registry"
"$BIN" runs list
"$BIN" models list
echo
echo "== 9. serve the champion over HTTP on loopback, ask it, stop it"
"$BIN" serve --listen 127.0.0.1:0 --poll 0 2>"$MILKCAST_HOME/reports/serve.log" &
SERVE_PID=$!
trap 'kill $SERVE_PID 2>/dev/null || true' EXIT
PORT=
for _ in $(seq 200); do
	PORT=$(sed -n 's/.*"port":\([0-9][0-9]*\).*"event":"listening".*/\1/p' "$MILKCAST_HOME/reports/serve.log" | head -1)
	[ -n "$PORT" ] && break
	sleep 0.05
done
if [ -n "$PORT" ]; then
	URL="http://127.0.0.1:$PORT"
	echo "  POST $URL/v1/predict"
	curl -s -X POST "$URL/v1/predict" -H 'Content-Type: application/json' \
		-d '{"state": "Jalisco", "city": "Guadalajara", "milk_type": "pasteurizada", "channel": "autoservicios", "horizon": 1}'
	echo
	echo "  the original system's request form:"
	curl -s -X POST "$URL/v1/predict" -H 'Content-Type: application/json' \
		-d '{"Estado": "Jalisco", "Ciudad": "Guadalajara", "Tipo": "Pasteurizada", "Canal": "Autoservicio", "dia": 2, "mes": 4, "año": 2025, "dia_semana": 2, "Precio_lag1": 27.1, "Precio_mean7": 27.0}'
	echo
	curl -s "$URL/metrics" > "$MILKCAST_HOME/reports/metrics.txt"
	echo "  from GET /metrics:"
	grep -E '^(http_requests_total|milkcast_predictions_total|milkcast_model_info)' \
		"$MILKCAST_HOME/reports/metrics.txt" | sed 's/^/    /'
else
	echo "  serve did not start; see $MILKCAST_HOME/reports/serve.log"
fi
kill "$SERVE_PID" 2>/dev/null || true
wait "$SERVE_PID" 2>/dev/null || true
trap - EXIT
echo
echo "== 10. the pipeline as a flow: replay the publications of 17-28 March 2025 (predict, monitor per day)"
# As `milkcast scheduler` would have run the daily flow on each of those days;
# retries, states and logs are kept in milkcast.db ('milkcast flow show RUN').
"$BIN" flow run backfill --param from=2025-03-17 --param to=2025-03-28 --param retries=0 \
	>"$MILKCAST_HOME/reports/flow-backfill.txt"
grep '^flow run' "$MILKCAST_HOME/reports/flow-backfill.txt" | sed 's/^/  /'
"$BIN" flow runs --limit 1 | sed 's/^/  /'
echo
echo "== 11. monitor: reference 2024 vs current 2025-Q1"
# Replay what a daily job would have logged: a batch forecast every Friday of the quarter
# (predictions/batch-DATE.jsonl), so monitor has forecasts to score against the prices
# published since.
REPLAY=$(mktemp -d)
for d in $(seq 0 7 84); do
	"$BIN" -q predict --as-of "$(date -u -d "2025-01-03 + $d days" +%F)" --no-report \
		--output "$REPLAY/forecast.csv"
done
rm -rf "$REPLAY"
echo "  replayed 13 weekly forecasts (2025-01-03 .. 2025-03-28) into $MILKCAST_HOME/predictions/"
# Exit 3 means an alert rule fired: a finding to read, not a failure of the demo.
# --no-alerts: the demo sends nothing, even with MILKCAST_TELEGRAM_* set.
set +e
"$BIN" monitor --as-of 2025-03-31 --reference-from 2024-01-01 --reference-to 2024-12-31 \
	--current-from 2025-01-01 --current-to 2025-03-31 --no-alerts \
	>"$MILKCAST_HOME/reports/monitor.txt"
MONITOR_RC=$?
set -e
case $MONITOR_RC in
0) MONITOR_STATUS="healthy: no alert rule fired" ;;
3) MONITOR_STATUS="alert: the rules above fired (exit 3, a finding, not a failure)" ;;
*)
	cat "$MILKCAST_HOME/reports/monitor.txt"
	echo "  milkcast monitor failed (exit $MONITOR_RC)" >&2
	exit "$MONITOR_RC"
	;;
esac
# The summary: drift, the performance lines, health and each alert's title.
grep -E '^(data drift|performance|  h[0-9]|  version|health|ALERT)' "$MILKCAST_HOME/reports/monitor.txt" |
	sed 's/^/  /'
echo "  status: $MONITOR_STATUS"
echo
echo "== where to look"
echo "  lake (Parquet, month partitions):  $MILKCAST_HOME/lake/prices/"
echo "  all prices as CSV:                 $MILKCAST_HOME/reports/prices.csv"
echo "  per-series summary (JSON):         $MILKCAST_HOME/reports/lake-stats.json"
echo "  ingest manifest, quarantine:       $MILKCAST_HOME/milkcast.db ('milkcast lake quarantine')"
echo "  model bundle (model, metrics):     $MILKCAST_HOME/models/latest/bundle.json"
echo "  runs, trials, versions:            'milkcast runs show RUN', 'milkcast models show milkcast-forecast'"
echo "  forecasts (CSV):                   $MILKCAST_HOME/reports/forecast-2025-03-31.csv"
echo "  forecast charts (open in a browser): $MILKCAST_HOME/reports/predictions/2025-03-31.html"
echo "  the service: 'milkcast serve' (routes in docs/user-guide.md), its log and metrics: $MILKCAST_HOME/reports/serve.log, metrics.txt"
echo "  monitoring page (open in a browser): $MILKCAST_HOME/reports/monitoring/2025-03-31.html"
echo "  monitoring summary (JSON):         $MILKCAST_HOME/reports/monitoring/2025-03-31.json (and latest.json)"
echo "  monitoring gauges (Prometheus):    $MILKCAST_HOME/metrics/milkcast_monitor.prom"
echo "  forecasts logged for monitoring:   $MILKCAST_HOME/predictions/ (batch-*.jsonl, serve-*.jsonl)"
echo "  flow runs (states, tasks, logs):   'milkcast flow runs', 'milkcast flow show RUN'; daily reports in $MILKCAST_HOME/reports/monitoring/, forecasts in reports/forecasts/"
echo "  user guide:                        docs/user-guide.md"

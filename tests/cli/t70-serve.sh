#!/usr/bin/env bash
# serve: every endpoint over HTTP, the same numbers as predict, Prometheus metrics checked by
# promtool, reloads (SIGHUP, polling, admin) under load with no failed request, a broken bundle
# refused while the old one serves, slow clients cut off, a graceful stop by PID.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "skip: curl is not installed"; exit 77; }
"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"
expect_exit 0 "$MILKCAST" -q train --trials 3 --horizons 2
export MILKCAST_ADMIN_TOKEN=t70-token
PIDS=()
# shellcheck disable=SC2154 # p is the loop variable inside the trap's string
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"' EXIT

# start_server NAME ARGS...: serve in the background; sets PID and URL.
start_server() {
	local name=$1; shift
	"$MILKCAST" serve --listen 127.0.0.1:0 "$@" 2>"$TMP/$name.err" &
	PID=$!
	PIDS+=("$PID")
	for _ in $(seq 200); do
		grep -q '"event":"listening"' "$TMP/$name.err" 2>/dev/null && break
		kill -0 "$PID" 2>/dev/null || { cat "$TMP/$name.err"; fail "serve exited"; }
		sleep 0.05
	done
	local port
	port=$($PY -c "import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if '\"listening\"' in l][0]['port'])" "$TMP/$name.err")
	URL="http://127.0.0.1:$port"
}
# http METHOD PATH [curl args...]: body in $TMP/body, status echoed.
http() {
	local method=$1 path=$2; shift 2
	curl -s -o "$TMP/body" -w '%{http_code}' -X "$method" "$URL$path" "$@"
}
served_version() { curl -s "$URL/readyz" | $PY -c "import json,sys; print(json.load(sys.stdin)['model']['version'])"; }

expect_exit 0 "$MILKCAST" serve --help
assert_contains "$TMP/out" "--listen"
expect_exit 2 "$MILKCAST" serve --threads 0
expect_exit 1 "$MILKCAST" serve --listen no-port-here
expect_exit 1 "$MILKCAST" serve --model "$TMP/nothing"
assert_contains "$TMP/err" "no bundle directory"
pass "serve options"

start_server main --threads 2 --poll 0 --timeout 2 --access-log "$TMP/access.log"
MAIN=$PID
assert_eq "$(http GET /healthz)" 200 "healthz"
assert_eq "$(http GET /readyz)" 200 "readyz"
assert_eq "$(json_get "$TMP/body" "j['model']['version']")" 1 "served version"
assert_eq "$(http GET /v1/series)" 200 "series"
assert_eq "$(json_get "$TMP/body" "j['count'] > 100 and j['data']")" lake "series count"
assert_eq "$(http GET /v1/models)" 200 "models"
assert_eq "$(json_get "$TMP/body" "(j['serving']['version'], j['registry']['aliases']['champion'])")" "('1', 1)" "models"
one='{"state":"Jalisco","city":"Guadalajara","milk_type":"pasteurizada","channel":"tiendas"}'
assert_eq "$(http POST /v1/predict -d "$one")" 200 "predict one"
assert_eq "$(json_get "$TMP/body" "(j['target_date'], j['horizon'], j['model']['version'], j['lower'] < j['price'] < j['upper'])")" "('2025-04-02', 1, '1', True)" "prediction"
assert_eq "$(http POST /v1/predict -d "{\"instances\":[$one,$one]}")" 200 "predict many"
assert_eq "$(json_get "$TMP/body" "len(j['predictions'])")" 2 "predictions"
orig='{"Estado":"Jalisco","Ciudad":"Guadalajara","Tipo":"Pasteurizada","Canal":"Autoservicio","día":2,"mes":4,"año":2025,"dia_semana":"2","Precio_lag1":26.0,"Precio_mean7":26.1}'
assert_eq "$(http POST /v1/predict -H 'Content-Type: application/json' -d "$orig")" 200 "original form"
assert_eq "$(json_get "$TMP/body" "list(j) == ['predicted_price'] and j['predicted_price'] > 5")" True "predicted_price"
assert_eq "$(http GET '/v1/forecast?state=Jalisco&city=Guadalajara&milk_type=pasteurizada&channel=tiendas&horizon=2')" 200 "forecast"
assert_eq "$(json_get "$TMP/body" "[r['h'] for r in j['forecasts']]")" "[1, 2]" "forecast horizons"
pass "every route answers"

# Errors, as JSON with a code.
err_code() { json_get "$TMP/body" "j['error']['code']"; }
assert_eq "$(http GET /nope)" 404 "unknown route"
assert_eq "$(curl -s -o /dev/null -D - "$URL/v1/predict" | tr -d '\r' | grep -i '^allow:')" "Allow: POST" "Allow header"
assert_eq "$(http GET /v1/predict)" 405 "wrong method"
assert_eq "$(http POST /v1/predict -d '{"state": "Jalisco",')" 400 "invalid JSON"
assert_eq "$(json_get "$TMP/body" "(j['error']['line'], j['error']['column'], j['error']['position'])")" "(1, 20, 20)" "JSON error position"
assert_eq "$(http POST /v1/predict -d '{"state":"Jalisco","city":5}')" 422 "wrong type"
assert_eq "$(json_get "$TMP/body" "j['error']['field']")" city "field named"
assert_eq "$(http POST /v1/predict -d '{"state":"Jaliscoo","city":"Guadalajara","milk_type":"pasteurizada","channel":"tiendas"}')" 404 "unknown series"
assert_eq "$(json_get "$TMP/body" "j['error']['suggestions'][0]")" "{'state': 'Jalisco', 'city': 'Guadalajara'}" "suggestion"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$TMP/big.json"
assert_eq "$(http POST /v1/predict --data-binary @"$TMP/big.json")" 413 "body too large"
assert_eq "$(err_code)" payload_too_large "413 code"
assert_eq "$(http POST /v1/predict -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big.json")" 413 "chunked body too large"
$PY -c "import json; print(json.dumps({'instances': [json.loads('$one')] * 1001}))" >"$TMP/many.json"
assert_eq "$(http POST /v1/predict --data-binary @"$TMP/many.json")" 413 "too many instances"
assert_eq "$(err_code)" too_many_instances "413 code"
printf '{"state":"Jal\xffsco"}' >"$TMP/latin1.json"
assert_eq "$(http POST /v1/predict --data-binary @"$TMP/latin1.json")" 400 "not UTF-8"
assert_eq "$(http POST /admin/reload)" 401 "admin without token"
assert_eq "$(http POST /admin/reload -H 'Authorization: Bearer wrong')" 403 "admin wrong token"
pass "errors: 400, 404, 405, 413, 422, 401, 403"

# The same numbers as `milkcast predict`, as of the latest data and as of a past date, from a
# server just started: the lake holds nothing newer than the bundle's snapshot, so the snapshot
# serves the latest forecasts and the lake is read when the past date is asked for.
MAIN_URL=$URL
start_server fresh --threads 1 --poll 0 --no-prediction-log --access-log none
FRESH=$PID
assert_eq "$(http GET /v1/models)" 200 "models"
assert_eq "$(json_get "$TMP/body" "j['serving']['data']")" snapshot "served from the snapshot"
for as_of in 2025-03-31 2025-02-14; do
	expect_exit 0 "$MILKCAST" predict --as-of "$as_of" --no-report --output "$TMP/predict-$as_of.json"
	assert_eq "$(http GET "/v1/forecast?as_of=$as_of")" 200 "forecast as of $as_of"
	$PY - "$TMP/body" "$TMP/predict-$as_of.json" <<-'EOF' || fail "serve and predict differ as of $as_of"
	import json, sys
	keys = ["state", "city", "milk_type", "channel", "as_of", "target_date", "h", "price", "lower", "upper", "from_model"]
	served = [[r[k] for k in keys] for r in json.load(open(sys.argv[1]))["forecasts"]]
	batch = [[r[k] for k in keys] for r in json.load(open(sys.argv[2]))]
	assert served == batch and len(served) > 300, (len(served), len(batch))
	EOF
done
assert_eq "$(http GET /v1/models)" 200 "models"
assert_eq "$(json_get "$TMP/body" "j['serving']['data']")" lake "the lake read for the past date"
kill -TERM "$FRESH"
wait "$FRESH" || fail "fresh server exit status"
URL=$MAIN_URL
pass "serve and predict give identical numbers"

curl -s "$URL/metrics" >"$TMP/metrics.txt"
assert_contains "$TMP/metrics.txt" 'http_request_duration_seconds_bucket{route="/v1/predict",le="+Inf"}'
assert_contains "$TMP/metrics.txt" 'milkcast_model_info{name="milkcast-forecast",version="1"} 1'
if command -v promtool >/dev/null; then
	promtool check metrics <"$TMP/metrics.txt" || fail "promtool check metrics"
	pass "promtool check metrics"
else
	echo "skip: promtool is not installed (Debian package prometheus)"
fi
# An odd request target: its line stays whole and valid JSON (escapes, U+FFFD for non-UTF-8).
$PY - "${URL##*:}" <<-'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b'GET /a"b\\c\xc3\xa1\xff?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
s.recv(65536)
EOF
sleep 0.2 # the access log is written in batches, a few milliseconds after the requests
$PY - "$TMP/access.log" <<-'EOF' || fail "access log"
import json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
assert text.endswith("\n")
lines = [json.loads(l) for l in text.splitlines()]
keys = ["time", "remote", "method", "path", "status", "duration_us", "bytes", "request_bytes", "end"]
assert len(lines) > 20 and all(list(l) == keys for l in lines), lines[:3]
assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", l["time"]) for l in lines)
assert all(isinstance(l["duration_us"], int) and l["duration_us"] >= 0 for l in lines)
assert any(l["status"] == 413 for l in lines)
assert any(l["path"] == '/a"b\\c\u00e1\ufffd' and l["status"] == 404 for l in lines), [l["path"] for l in lines[-3:]]
EOF
ls "$MILKCAST_HOME"/predictions/serve-*.jsonl >/dev/null || fail "no prediction log"
pass "metrics, access log, prediction log"

# Hot reload under load: clients keep asking while the champion changes.
load() {
	while [ ! -e "$TMP/stop-load" ]; do
		curl -s -o /dev/null -w '%{http_code}\n' -X POST "$URL/v1/predict" -d "$one"
		curl -s -o /dev/null -w '%{http_code}\n' "$URL/v1/forecast?state=Sonora&as_of=2025-01-10"
	done >>"$TMP/codes.$1"
}
expect_exit 0 "$MILKCAST" -q train --trials 3 --horizons 2 --seed 9
expect_exit 0 "$MILKCAST" --json train --trials 3 --horizons 2 --seed 5
broken=$(json_get "$TMP/out" "j['bundle']")
truncate -s 100 "$broken/model.ubj"
load 1 & LOAD1=$!
if command -v wrk >/dev/null; then # thousands of keep-alive requests, not just a few
	printf 'wrk.method = "POST"\nwrk.body = %s\n' "'$one'" >"$TMP/post.lua"
	wrk -t2 -c8 -d5s -s "$TMP/post.lua" "$URL/v1/predict" >"$TMP/wrk.out" 2>&1 & LOAD2=$!
else
	load 2 & LOAD2=$!
fi
expect_exit 0 "$MILKCAST" models promote milkcast-forecast 2
assert_eq "$(served_version)" 1 "no reload before SIGHUP (--poll 0)"
kill -HUP "$MAIN"
for _ in $(seq 100); do [ "$(served_version)" = 2 ] && break; sleep 0.1; done
assert_eq "$(served_version)" 2 "SIGHUP reload"
# A broken bundle becomes champion: refused, version 2 keeps serving.
expect_exit 0 "$MILKCAST" models promote milkcast-forecast 3
kill -HUP "$MAIN"
for _ in $(seq 100); do grep -q reload_refused "$TMP/main.err" && break; sleep 0.1; done
assert_contains "$TMP/main.err" '"event":"reload_refused"'
assert_eq "$(served_version)" 2 "old model still serving"
assert_eq "$(http POST /admin/reload -H "Authorization: Bearer $MILKCAST_ADMIN_TOKEN")" 500 "admin reload of a broken champion"
assert_eq "$(json_get "$TMP/body" "(j['error']['code'], j['error']['serving']['version'])")" "('reload_failed', '2')" "refused"
expect_exit 0 "$MILKCAST" models promote milkcast-forecast 1
assert_eq "$(http POST /admin/reload -H "Authorization: Bearer $MILKCAST_ADMIN_TOKEN")" 200 "admin reload"
assert_eq "$(served_version)" 1 "admin reload to version 1"
wait "$LOAD2"
touch "$TMP/stop-load"
wait "$LOAD1"
total=$(cat "$TMP"/codes.* | wc -l)
bad=$(cat "$TMP"/codes.* | grep -vc '^200$' || true)
if [ -s "$TMP/wrk.out" ]; then
	grep -q 'Non-2xx\|Socket errors' "$TMP/wrk.out" && { cat "$TMP/wrk.out"; fail "wrk saw failed requests"; }
	total=$((total + $(awk '/requests in/ {print $1}' "$TMP/wrk.out")))
fi
[ "$total" -gt 20 ] || fail "only $total requests during the reloads"
assert_eq "$bad" 0 "failed requests during reloads (of $total)"
curl -s "$URL/metrics" | grep -q 'milkcast_model_reloads_total{result="failure"} 2' || fail "failures not counted"
pass "reloads under load: $total requests, none failed; the broken bundle refused"

# A slow client is cut off after --timeout; others are served meanwhile.
port=${URL##*:}
start=$(date +%s.%N)
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"sta' >&3
assert_eq "$(http GET /healthz)" 200 "served while a client is slow"
timeout 15 cat <&3 >/dev/null || true
exec 3<&-
elapsed=$($PY -c "import time; print(round(time.time() - $start, 1))")
$PY -c "import sys; sys.exit(not 1.5 <= $elapsed <= 8)" || fail "slow client closed after ${elapsed}s, expected about 2s"
pass "slow client closed after ${elapsed}s"

# Polling picks up a new champion without a signal.
start_server poll --poll 1 --no-prediction-log --access-log none
POLLER=$PID
assert_eq "$(served_version)" 1 "poller serves the champion"
expect_exit 0 "$MILKCAST" models promote milkcast-forecast 2
for _ in $(seq 60); do [ "$(served_version)" = 2 ] && break; sleep 0.1; done
assert_eq "$(served_version)" 2 "polled reload"
kill -TERM "$POLLER"
wait "$POLLER" || fail "poller exit status"
grep -q '"remote"' "$TMP/poll.err" && fail "--access-log none still logs requests"
pass "polling reload; --access-log none"

# Graceful stop by PID.
kill -TERM "$MAIN"
set +e
wait "$MAIN"
rc=$?
set -e
[ "$rc" = 0 ] || { tail -40 "$TMP/main.err"; fail "exit status $rc after SIGTERM"; }
assert_contains "$TMP/main.err" '"event":"stopped"'
pass "stopped by SIGTERM"

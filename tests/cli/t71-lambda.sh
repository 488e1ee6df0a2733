#!/usr/bin/env bash
# `milkcast lambda` against a loopback fake of the Lambda Runtime API
# (tests/oracle/fake_lambda_runtime.py): API Gateway HTTP API v2.0 events (a
# named stage, query strings, base64 bodies, bad JSON), direct invocations,
# a handler error, a response over the API's size limit (413), and an init
# error; the numbers equal `milkcast predict`'s.  Then `--run`: a milkcast
# command per invocation (lake ls, the daily flow with event args, a failing
# command, monitor's exit 3 with --ok-exit, a bad event, a command past the
# deadline, a bad --run).
. "$(dirname "$0")/lib.sh"
"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"
"$MILKCAST" -q train --until 2025-03-31 --trials 3 --horizons 2 >/dev/null
"$MILKCAST" -q predict --as-of 2025-03-31 --output "$TMP/batch.json" --no-report

trap 'stop_fake; rm -rf "$TMP"' EXIT

$PY - "$TMP/events.json" <<'PY'
import base64, json, sys
series = {"state": "Aguascalientes", "city": "Aguascalientes", "milk_type": "pasteurizada", "channel": "autoservicios"}
def http(method, path, body=None, query="", stage="$default", b64=False):
    raw = path if stage == "$default" else "/" + stage + path
    ev = {"version": "2.0", "routeKey": method + " " + path, "rawPath": raw, "rawQueryString": query,
          "headers": {"content-type": "application/json", "user-agent": "test"},
          "requestContext": {"accountId": "123456789012", "apiId": "api", "stage": stage,
                             "http": {"method": method, "path": raw, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"}},
          "isBase64Encoded": b64}
    if body is not None:
        ev["body"] = base64.b64encode(body.encode()).decode() if b64 else body
    return ev
events = [
    http("POST", "/v1/predict", json.dumps(dict(series, horizon=1)), stage="prod"),
    http("GET", "/v1/forecast", query="state=Aguascalientes&city=Aguascalientes&milk_type=pasteurizada&channel=autoservicios&horizon=2"),
    http("POST", "/v1/predict", json.dumps(dict(series, horizon=2)), b64=True),
    http("POST", "/v1/predict", '{"state": "Aguascalientes",'),
    http("GET", "/healthz"),
    http("GET", "/nope"),
    dict(series, horizon=1),
    dict(series, state="Atlantis"),
    "just a string",
]
json.dump(events, open(sys.argv[1], "w"))
PY
start_fake "$TMP/events.json"
expect_exit 0 timeout 60 "$MILKCAST" lambda --max-invocations 9
stop_fake
assert_eq "$(rec "j['protocol_errors']")" "[]" "protocol errors"
assert_eq "$(rec "(len(j['responses']), len(j['errors']))")" "(7, 2)" "responses and errors"
assert_eq "$(rec "[r['body']['statusCode'] for r in j['responses'][:6]]")" "[200, 200, 200, 400, 200, 404]" "HTTP statuses"
assert_eq "$(rec "all(set(r['body']) == {'statusCode', 'headers', 'body', 'isBase64Encoded'} for r in j['responses'][:6])")" True "2.0 response shape"
batch() { json_get "$TMP/batch.json" "[r['price'] for r in j if r['state'] == 'Aguascalientes' and r['city'] == 'Aguascalientes' and r['milk_type'] == 'pasteurizada' and r['channel'] == 'autoservicios' and r['h'] == $1][0]"; }
assert_eq "$(rec "json.loads(j['responses'][0]['body']['body'])['price']")" "$(batch 1)" "stage-prefixed predict = batch predict (h=1)"
assert_eq "$(rec "json.loads(j['responses'][2]['body']['body'])['price']")" "$(batch 2)" "base64 body predict = batch predict (h=2)"
assert_eq "$(rec "'position' in j['responses'][3]['body']['body'] or 'column' in j['responses'][3]['body']['body']")" True "bad JSON names where"
assert_eq "$(rec "j['responses'][6]['body']['price']")" "$(batch 1)" "direct invocation = batch predict"
assert_eq "$(rec "[e['type'] for e in j['errors']]")" "['milkcast.invalid', 'milkcast.invalid']" "handler errors"
assert_eq "$(rec "'Atlantis' in j['errors'][0]['body']['errorMessage']")" True "the error names the unknown state"
pass "HTTP API events, direct invocations and handler errors"

# A response over the API's limit: the API answers 413 and the invocation gets an error.
# shellcheck disable=SC2016 # "$default" is API Gateway's stage name, not a variable
$PY -c 'import json,sys; json.dump([{"version":"2.0","rawPath":"/v1/series","rawQueryString":"","headers":{},"requestContext":{"http":{"method":"GET","path":"/v1/series"},"stage":"$default"},"isBase64Encoded":False},{"version":"2.0","rawPath":"/healthz","rawQueryString":"","headers":{},"requestContext":{"http":{"method":"GET","path":"/healthz"},"stage":"$default"},"isBase64Encoded":False}], open(sys.argv[1], "w"))' "$TMP/big.json"
FAKE_MAX_RESPONSE=2000 start_fake "$TMP/big.json"
expect_exit 0 timeout 60 "$MILKCAST" lambda --max-invocations 2
stop_fake
assert_eq "$(rec "([e['type'] for e in j['errors']], j['responses'][0].get('too_large', 0) > 2000, j['responses'][1]['body']['statusCode'])")" "(['Function.ResponseSizeTooLong'], True, 200)" "oversized response"
pass "an oversized response becomes the invocation's error and the loop goes on"

# Init error: a model that is not there is reported through init/error, exit 1.
start_fake "$TMP/events.json"
expect_exit 1 timeout 60 "$MILKCAST" lambda --model "$TMP/no-such-bundle"
stop_fake
assert_eq "$(rec "(len(j['init_errors']), j['init_errors'][0]['type'].startswith('milkcast.Init.'), 'no-such-bundle' in j['init_errors'][0]['body']['errorMessage'])")" "(1, True, True)" "init error"
assert_contains "$TMP/err" "no-such-bundle"
# A container error (500 on next) stops the runtime with a clear message.
start_fake "$TMP/events.json"
curl -s -o /dev/null -X POST --data '{"errorMessage":"x","errorType":"y"}' "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/init/error"
expect_exit 1 timeout 60 "$MILKCAST" lambda
stop_fake
assert_contains "$TMP/err" "answered 500"
unset AWS_LAMBDA_RUNTIME_API
expect_exit 1 "$MILKCAST" lambda
assert_contains "$TMP/err" "AWS_LAMBDA_RUNTIME_API is not set"
pass "init error, container error and a missing runtime API"

# --run: `lake ls` per event; EventBridge Scheduler's payload and {} add no argument.
echo '[{"source": "milkcast.schedule", "flow": "daily"}, {}]' >"$TMP/run.json"
FAKE_DEADLINE_MS=600000 start_fake "$TMP/run.json"
expect_exit 0 timeout 120 "$MILKCAST" lambda --max-invocations 2 --run lake ls
stop_fake
"$MILKCAST" --json lake ls >"$TMP/lake.json"
assert_eq "$(rec "(j['protocol_errors'], len(j['responses']), j['errors'])")" "([], 2, [])" "lake ls answered twice"
assert_eq "$(rec "[(r['body']['command'], r['body']['exit'], r['late']) for r in j['responses']]")" \
	"[('milkcast lake ls', 0, False), ('milkcast lake ls', 0, False)]" "command and exit"
assert_eq "$(rec "j['responses'][1]['body']['output'] == json.load(open('$TMP/lake.json'))")" True "output = milkcast --json lake ls"
pass "--run lake ls: the command's JSON in the response"

# The daily flow: event args appended; a failing command; a bad event; stderr in the log.
$PY - "$TMP/run.json" <<'PY'
import json, sys
json.dump([{"args": ["--param", "date=2025-03-31"]},
           {"args": ["--param", "date=2025-03-31", "--param", "nope=1"]},
           {"args": ["--param", 5]},
           {"args": ["--param", "date=2025-03-31"]}], open(sys.argv[1], "w"))
PY
FAKE_DEADLINE_MS=600000 start_fake "$TMP/run.json"
expect_exit 0 timeout 300 "$MILKCAST" lambda --max-invocations 4 --run flow run daily --param fetch=false --param alerts=false --param retries=0
stop_fake
assert_eq "$(rec "(j['protocol_errors'], len(j['responses']), len(j['errors']))")" "([], 2, 2)" "2 responses, 2 errors"
assert_eq "$(rec "j['responses'][0]['body']['command']")" "milkcast flow run daily --param fetch=false --param alerts=false --param retries=0 --param date=2025-03-31" "event args appended"
assert_eq "$(rec "[(r['body']['exit'], r['body']['output']['state'], r['body']['output']['parameters']) for r in j['responses']]")" \
	"[(0, 'Completed', {'alerts': False, 'date': '2025-03-31', 'fetch': False, 'retries': 0}), (0, 'Completed', {'alerts': False, 'date': '2025-03-31', 'fetch': False, 'retries': 0})]" "the flow ran with the event's date"
assert_eq "$(rec "[t['label'] for t in j['responses'][0]['body']['output']['tasks']]")" "['predict', 'monitor']" "daily tasks"
[ -s "$MILKCAST_HOME/reports/forecasts/forecast-2025-03-31.csv" ] || fail "the flow's forecast is missing"
assert_eq "$(rec "(j['errors'][0]['type'], j['errors'][0]['body']['errorMessage'])")" \
	"('CommandFailed', \"'milkcast flow run daily --param fetch=false --param alerts=false --param retries=0 --param date=2025-03-31 --param nope=1' exited with 2: flow 'daily' has no parameter 'nope' (see 'milkcast flow --help')\")" "a failing command"
assert_eq "$(rec "(j['errors'][1]['type'], j['errors'][1]['body']['errorMessage'])")" \
	"('milkcast.invalid', \"event field 'args[1]': expected a string, got a number\")" "a bad event"
assert_contains "$TMP/err" "Flow run 'daily' is Completed"
assert_contains "$TMP/err" "CommandFailed: 'milkcast flow run daily"
pass "--run flow run daily: event args, a failing command, a bad event, stderr in the log"

# monitor exits 3 when a rule fired (the shipped data drifts): a failure unless --ok-exit.
echo '[{}]' >"$TMP/run.json"
FAKE_DEADLINE_MS=600000 start_fake "$TMP/run.json"
expect_exit 0 timeout 120 "$MILKCAST" lambda --max-invocations 1 --run monitor --as-of 2025-03-31 --no-alerts
stop_fake
assert_eq "$(rec "(j['errors'][0]['type'], j['errors'][0]['body']['errorMessage'].startswith(\"'milkcast monitor --as-of 2025-03-31 --no-alerts' exited with 3: \"))")" "('CommandFailed', True)" "exit 3 fails by default"
FAKE_DEADLINE_MS=600000 start_fake "$TMP/run.json"
expect_exit 0 timeout 120 "$MILKCAST" lambda --max-invocations 1 --ok-exit 0,3 --run monitor --as-of 2025-03-31 --no-alerts
stop_fake
assert_eq "$(rec "(j['errors'], j['responses'][0]['body']['exit'], j['responses'][0]['body']['output']['status'])")" "([], 3, 'alert')" "--ok-exit 0,3"
pass "--ok-exit: monitor's 3 is a result"

# Past the deadline: the flow waits 60 s to retry an unreachable SNIIM; it is
# stopped 2.5 s before the 5 s deadline, Timeout is posted in time, the process
# is gone, and the next invocation (with time enough, even under ASan) runs.
$PY - "$TMP/run.json" <<'PY'
import json, sys
json.dump([{"args": ["--param", "date=2025-03-31", "--param", "fetch=true", "--param", "retries=1",
                     "--param", "base_url=http://127.0.0.1:1/"]},
           {"args": ["--param", "date=2025-03-31"]}], open(sys.argv[1], "w"))
PY
FAKE_DEADLINE_MS=5000,600000 start_fake "$TMP/run.json"
expect_exit 0 timeout 60 "$MILKCAST" lambda --max-invocations 2 --run flow run daily --param fetch=false --param alerts=false --param retries=0
stop_fake
assert_eq "$(rec "(j['errors'][0]['type'], j['errors'][0]['late'], 'was still running 2500 ms before the invocation' in j['errors'][0]['body']['errorMessage'])")" "('Timeout', False, True)" "Timeout before the deadline"
assert_eq "$(rec "(len(j['responses']), j['responses'][0]['body']['output']['state'])")" "(1, 'Completed')" "the next invocation"
"$MILKCAST" --json flow runs >"$TMP/runs.json"
pid=$(json_get "$TMP/runs.json" "[r['pid'] for r in j if r['parameters'].get('base_url') == 'http://127.0.0.1:1/'][0]")
[ -n "$pid" ] && [ "$pid" != None ] || fail "no flow run of the timed-out invocation"
if kill -0 "$pid" 2>/dev/null; then fail "the timed-out command (pid $pid) still runs"; fi
assert_eq "$(json_get "$TMP/runs.json" "[r['state'] for r in j if r['parameters'].get('base_url') == 'http://127.0.0.1:1/']")" "['Crashed']" "the stopped flow run"
pass "a command past the deadline is stopped and reported as Timeout"

# A bad --run is reported through init/error (exit 2); --model does not go with --run.
for bad in "nope" "lambda --run lake ls"; do
	start_fake "$TMP/run.json"
	# shellcheck disable=SC2086
	expect_exit 2 timeout 60 "$MILKCAST" lambda --run $bad
	stop_fake
	assert_eq "$(rec "(len(j['init_errors']), j['init_errors'][0]['type'], j['responses'], j['errors'])")" "(1, 'milkcast.Init.invalid', [], [])" "init error for --run $bad"
done
assert_eq "$(rec "j['init_errors'][0]['body']['errorMessage']")" "--run lambda: lambda cannot run itself" "--run lambda"
start_fake "$TMP/run.json"
expect_exit 2 timeout 60 "$MILKCAST" lambda --ok-exit 0,x --run lake ls
stop_fake
assert_eq "$(rec "'--ok-exit' in j['init_errors'][0]['body']['errorMessage']")" True "a bad --ok-exit"
start_fake "$TMP/run.json"
expect_exit 2 timeout 60 "$MILKCAST" lambda --run
stop_fake
assert_contains "$TMP/err" "needs a milkcast command"
unset AWS_LAMBDA_RUNTIME_API
expect_exit 2 "$MILKCAST" lambda --run nope
assert_contains "$TMP/err" "'nope'\\|nope: not a milkcast command"
expect_exit 2 "$MILKCAST" lambda --model "$TMP/x" --run lake ls
assert_contains "$TMP/err" "do not go together"
pass "bad --run: init/error"

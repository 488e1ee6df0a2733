#!/usr/bin/env bash
# `milkcast lambda` against a loopback fake of the Lambda Runtime API
# (tests/oracle/fake_lambda_runtime.py): API Gateway HTTP API v2.0 events (a
# named stage, query strings, base64 bodies, bad JSON), direct invocations,
# a handler error, a response over the API's size limit (413), and an init
# error; the numbers equal `milkcast predict`'s.
. "$(dirname "$0")/lib.sh"
FAKE="$MC_SRC/tests/oracle/fake_lambda_runtime.py"
"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"
"$MILKCAST" -q train --until 2025-03-31 --trials 3 --horizons 2 >/dev/null
"$MILKCAST" -q predict --as-of 2025-03-31 --output "$TMP/batch.json" --no-report

FAKE_PID=
stop_fake() { if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi; FAKE_PID=; }
trap 'stop_fake; rm -rf "$TMP"' EXIT
start_fake() { # EVENTS.json
	rm -f "$TMP/port" "$TMP/record.json"
	$PY "$FAKE" "$1" "$TMP/record.json" "$TMP/port" & FAKE_PID=$!
	for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
	[ -s "$TMP/port" ] || fail "the fake runtime API did not start"
	export AWS_LAMBDA_RUNTIME_API="127.0.0.1:$(cat "$TMP/port")"
}
rec() { json_get "$TMP/record.json" "$1"; }

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

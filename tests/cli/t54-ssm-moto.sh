#!/usr/bin/env bash
# SSM Parameter Store (src/artifact/ssm.c) through the test_ssm driver.  First
# against a small fake SSM written here: retries after 500 and throttling,
# giving up with the status and the attempts, no retry of ParameterNotFound,
# malformed, oversized and NUL-carrying replies; the request's headers and body.
# Then against moto_server with SigV4 checking on: SecureStrings read back byte
# for byte, NAME_PARAMETER resolution (several at once, an explicit NAME wins, a
# missing parameter fails naming the variable and the parameter and sets
# nothing), the endpoint from a profile, a wrong secret refused.  Values never
# reach stderr.  Skips (77) without the driver, or (after the fake-server part)
# without moto_server or aws.
set -euo pipefail
: "${MC_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${MC_BUILD_DIR:=$MC_SRC/build}"
DRIVER="$MC_BUILD_DIR/test_ssm"
PY=/usr/bin/python3

[ -x "$DRIVER" ] || { echo "skip: $DRIVER is not built"; exit 77; }

TMP=$(mktemp -d /tmp/mc-ssm-XXXXXX)
FAKE_PID=
MOTO_PID=
stop() { if [ -n "$1" ]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi; }
cleanup() {
	stop "$FAKE_PID"
	stop "$MOTO_PID"
	rm -rf "$TMP"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	for f in "$TMP/fake.log" "$TMP/moto.log"; do [ -f "$f" ] && tail -20 "$f" >&2; done
	exit 1
}
pass() { echo "ok: $*"; }

# Nothing from the host's AWS setup.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SSM \
	AWS_REGION AWS_DEFAULT_REGION AWS_MAX_ATTEMPTS MILKCAST_SSM_RETRIES MILKCAST_SSM_BACKOFF_MS
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\([A-Za-z0-9_]*_PARAMETER\)=.*/\1/p')
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_REGION=us-east-1

# Values that must never appear in an error.
SECRETS=(FakeSecretNeverPrinted0123 "tok\"en'" hunter2 other-secret)

# drv CODE ARGS...: run the driver, expect exit CODE; stdout in $TMP/out, stderr in $TMP/err.
drv() {
	local want=$1; shift
	set +e
	"$DRIVER" "$@" >"$TMP/out" 2>"$TMP/err"
	local got=$?
	set -e
	if [ "$got" -ne "$want" ]; then
		echo "--- stdout"; cat "$TMP/out"; echo "--- stderr"; cat "$TMP/err"
		fail "'test_ssm $*' exited $got, expected $want"
	fi
	for s in "${SECRETS[@]}"; do
		! grep -qF -- "$s" "$TMP/err" || fail "a secret in the error: $(cat "$TMP/err")"
	done
	! grep -q "Sanitizer" "$TMP/err" || fail "a sanitizer report: $(cat "$TMP/err")"
}
err_has() { grep -qF -- "$1" "$TMP/err" || fail "the error lacks '$1': $(cat "$TMP/err")"; }
# out_is FORMAT ARGS...: stdout must be exactly what printf FORMAT ARGS... writes.
out_is() {
	# shellcheck disable=SC2059 # the format is the caller's
	printf "$@" >"$TMP/want"
	cmp -s "$TMP/want" "$TMP/out" || fail "output '$(cat "$TMP/out")', expected '$(cat "$TMP/want")'"
}

# --- a fake SSM -----------------------------------------------------------------------------

cat >"$TMP/fake.py" <<'EOF'
# A fake SSM endpoint: POST /_fake/plan sets the replies to give (each
# {"status", "body" or "value_len", "repeat": n or -1 for ever}) and clears the
# log; GET /_fake/log lists the requests; when the plan is done, a value.
import json, os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

plan, log, lock = [], [], threading.Lock()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            self.reply(200, json.dumps(log))

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            if self.path == "/_fake/plan":
                plan[:] = json.loads(body)
                log.clear()
                return self.reply(200, "{}")
            log.append({"path": self.path, "target": self.headers.get("X-Amz-Target"),
                        "type": self.headers.get("Content-Type"),
                        "auth": self.headers.get("Authorization", ""),
                        "body": body.decode("utf-8", "replace")})
            step = plan[0] if plan else {"status": 200, "body": json.dumps(
                {"Parameter": {"Name": "x", "Type": "SecureString", "Value": "from-fake"}})}
            if plan and step.get("repeat", 1) != -1:
                step["repeat"] = step.get("repeat", 1) - 1
                if step["repeat"] <= 0:
                    plan.pop(0)
        body = step.get("body")
        if body is None:
            body = json.dumps({"Parameter": {"Value": "x" * step["value_len"]}})
        self.reply(step["status"], body)

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
EOF
$PY "$TMP/fake.py" "$TMP/port" 2>"$TMP/fake.log" &
FAKE_PID=$!
for _ in $(seq 1 100); do
	[ -s "$TMP/port" ] && break
	kill -0 "$FAKE_PID" 2>/dev/null || fail "the fake SSM exited"
	sleep 0.1
done
[ -s "$TMP/port" ] || fail "the fake SSM did not start"
FAKE="http://127.0.0.1:$(cat "$TMP/port")"

plan() { curl -sf -X POST --data "$1" "$FAKE/_fake/plan" >/dev/null || fail "cannot set the plan $1"; }
# q EXPR: a Python expression over the fake's request log L.
q() {
	curl -sf "$FAKE/_fake/log" >"$TMP/log.json" || fail "cannot read the fake's log"
	$PY -c 'import json, sys; L = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$TMP/log.json" "$1"
}
expect() {
	local got
	got=$(q "$1")
	[ "$got" = "$2" ] || fail "$1: got $got, expected $2"
}

export AWS_ENDPOINT_URL_SSM=$FAKE AWS_ACCESS_KEY_ID=AKIDFAKE AWS_SECRET_ACCESS_KEY=FakeSecretNeverPrinted0123
export MILKCAST_SSM_RETRIES=3 MILKCAST_SSM_BACKOFF_MS=10

plan '[{"status": 500, "body": "{\"__type\": \"InternalServerError\"}"},
       {"status": 400, "body": "{\"__type\": \"ThrottlingException\", \"message\": \"Rate exceeded\"}"},
       {"status": 503, "body": "<html>busy</html>"}]'
drv 0 get /milkcast/test/token
out_is from-fake
expect 'len(L)' 4
expect 'sorted(set((e["path"], e["target"], e["type"]) for e in L))' \
	"[('/', 'AmazonSSM.GetParameter', 'application/x-amz-json-1.1')]"
expect 'all(json.loads(e["body"]) == {"Name": "/milkcast/test/token", "WithDecryption": True} for e in L)' True
expect 'all(e["auth"].startswith("AWS4-HMAC-SHA256 Credential=AKIDFAKE/") and "/us-east-1/ssm/aws4_request," in e["auth"] for e in L)' True
pass "GetParameter after a 500, a 400 ThrottlingException and a 503: 4 signed JSON 1.1 requests"

plan '[{"status": 500, "body": "{\"__type\": \"InternalServerError\", \"message\": \"oops\"}", "repeat": -1}]'
MILKCAST_SSM_RETRIES=2 drv 1 get /milkcast/test/token
err_has "test_ssm: network: cannot get SSM parameter '/milkcast/test/token': HTTP 500 InternalServerError: oops (3 attempts)"
expect 'len(L)' 3
plan '[{"status": 400, "body": "{\"__type\": \"com.amazonaws.ssm#ParameterNotFound\", \"message\": \"Parameter /x not found.\"}", "repeat": -1}]'
drv 1 get /x
err_has "test_ssm: not found: cannot get SSM parameter '/x': HTTP 400 ParameterNotFound: Parameter /x not found."
expect 'len(L)' 1
pass "gives up after MILKCAST_SSM_RETRIES more attempts; ParameterNotFound is not retried"

plan '[{"status": 200, "body": "{\"Parameter\": {\"Value\": \"hunter2", "repeat": -1}]'
drv 1 get /x
err_has "HTTP 200 with a reply that is not a JSON object"
plan '[{"status": 200, "body": "{\"Parameter\": {\"Name\": \"/x\"}}", "repeat": -1}]'
drv 1 get /x
err_has "without a string Parameter.Value"
plan '[{"status": 200, "value_len": 1100000, "repeat": -1}]'
drv 1 get /x
err_has "test_ssm: limit: cannot get SSM parameter '/x': the reply is over 1048576 bytes"
pass "malformed, valueless and oversized replies are errors (the body is never quoted)"

plan '[{"status": 200, "body": "{\"Parameter\": {\"Value\": \"a\\u0000b\"}}"}]'
MILKCAST_NUL_PARAMETER=/x drv 1 resolve MILKCAST_NUL
err_has "cannot resolve MILKCAST_NUL_PARAMETER: SSM parameter '/x' has a NUL byte in its value"
grep -qx "MILKCAST_NUL unset" "$TMP/out" || fail "MILKCAST_NUL was set: $(cat "$TMP/out")"
plan '[{"status": 200, "value_len": 70000}]'
MILKCAST_BIG_PARAMETER=/big drv 1 resolve MILKCAST_BIG
err_has "cannot resolve MILKCAST_BIG_PARAMETER: the value of SSM parameter '/big' is 70000 bytes, over the 65536 allowed"
pass "resolution refuses values with a NUL byte or over 64 KiB"

stop "$FAKE_PID"
FAKE_PID=
unset AWS_ENDPOINT_URL_SSM MILKCAST_SSM_RETRIES MILKCAST_SSM_BACKOFF_MS

# --- moto ---------------------------------------------------------------------------------

command -v moto_server >/dev/null 2>&1 || { echo "skip: moto_server is not on PATH (the fake-server part passed)"; exit 77; }
command -v aws >/dev/null 2>&1 || { echo "skip: aws (awscli) is not on PATH (the fake-server part passed)"; exit 77; }

. "$MC_SRC/tests/cli/moto.sh"
start_moto --auth # as t50: SigV4 checked against an IAM user's key
SECRETS+=("$AWS_SECRET_ACCESS_KEY")

TOKEN="123456789:AA tok\"en'\\ \$HOME ñ 🥛"
SECRETS+=("$TOKEN")
put() { "${AWS[@]}" ssm put-parameter --type SecureString --name "$1" --value "$2" >/dev/null || fail "aws ssm put-parameter $1"; }
put /milkcast/test/telegram-token "$TOKEN"
put /milkcast/test/other other-secret
put /milkcast/test/two-lines "$(printf 'line one\nline two')"
[ "$("${AWS[@]}" ssm get-parameter --name /milkcast/test/telegram-token --query Parameter.Type)" = SecureString ] ||
	fail "not a SecureString"
export AWS_ENDPOINT_URL=$EP

drv 0 get /milkcast/test/telegram-token
out_is '%s' "$TOKEN"
drv 0 get /milkcast/test/two-lines
out_is 'line one\nline two'
pass "SecureStrings read back byte for byte (quotes, backslash, \$, UTF-8, a newline)"

MILKCAST_TELEGRAM_TOKEN_PARAMETER=/milkcast/test/telegram-token MILKCAST_OTHER_PARAMETER=/milkcast/test/other \
	drv 0 resolve MILKCAST_TELEGRAM_TOKEN MILKCAST_OTHER
out_is 'resolved 2\nMILKCAST_TELEGRAM_TOKEN=%s\nMILKCAST_OTHER=other-secret\n' "$TOKEN"
pass "NAME_PARAMETER variables resolved into NAME"

MILKCAST_TELEGRAM_TOKEN=given MILKCAST_TELEGRAM_TOKEN_PARAMETER=/milkcast/test/missing \
	MILKCAST_OTHER_PARAMETER=/milkcast/test/other drv 0 resolve MILKCAST_TELEGRAM_TOKEN MILKCAST_OTHER
out_is 'resolved 1\nMILKCAST_TELEGRAM_TOKEN=given\nMILKCAST_OTHER=other-secret\n'
pass "an explicit NAME wins (its parameter is not even fetched)"

MILKCAST_A_PARAMETER=/milkcast/test/other MILKCAST_Z_PARAMETER=/milkcast/test/missing \
	drv 1 resolve MILKCAST_A MILKCAST_Z
err_has "test_ssm: not found: cannot resolve MILKCAST_Z_PARAMETER: cannot get SSM parameter '/milkcast/test/missing': HTTP 400 ParameterNotFound"
out_is 'resolved 0\nMILKCAST_A unset\nMILKCAST_Z unset\n'
pass "a missing parameter: an error naming the variable and the parameter, nothing set"

unset AWS_ENDPOINT_URL
printf '[default]\nendpoint_url = %s\n' "$EP" >"$TMP/config"
AWS_CONFIG_FILE="$TMP/config" drv 0 get /milkcast/test/other
out_is other-secret
pass "the endpoint from the profile's endpoint_url"

if AWS_SECRET_ACCESS_KEY=wrong "${AWS[@]}" ssm get-parameter --name /milkcast/test/other >/dev/null 2>&1; then
	fail "moto accepted a wrong secret: signature checking is off"
fi
AWS_ENDPOINT_URL_SSM=$EP AWS_SECRET_ACCESS_KEY=wrong drv 1 get /milkcast/test/other
err_has "test_ssm: invalid: cannot get SSM parameter '/milkcast/test/other': HTTP 403 SignatureDoesNotMatch"
err_has "(check the AWS credentials"
pass "a wrong secret is refused (moto checks the signature), an auth error"

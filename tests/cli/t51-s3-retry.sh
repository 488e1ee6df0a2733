#!/usr/bin/env bash
# The S3 backend against tests/oracle/fake_s3_flaky.py, a fake S3 that fails on
# purpose: retries after 5xx, throttling, dropped and cut connections, with the
# expected number of attempts and a growing backoff; giving up with the key and
# the status; no retry of 403/404/501; corrupt or short bodies detected; a failed
# multipart upload aborted; settings from the shared AWS files.  Runs the
# test_artifact driver (argument mode).  Skips (77) when it is not built.
set -euo pipefail
: "${MC_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${MC_BUILD_DIR:=$MC_SRC/build}"
DRIVER="$MC_BUILD_DIR/test_artifact"
PY=/usr/bin/python3

[ -x "$DRIVER" ] || { echo "skip: $DRIVER is not built"; exit 77; }

TMP=$(mktemp -d /tmp/mc-s3retry-XXXXXX)
FAKE_PID=
cleanup() {
	if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$TMP/fake.log" ] && tail -20 "$TMP/fake.log" >&2; exit 1; }
pass() { echo "ok: $*"; }

$PY "$MC_SRC/tests/oracle/fake_s3_flaky.py" --port-file "$TMP/port" --bucket flaky 2>"$TMP/fake.log" &
FAKE_PID=$!
for _ in $(seq 1 100); do
	[ -s "$TMP/port" ] && break
	kill -0 "$FAKE_PID" 2>/dev/null || fail "fake_s3_flaky.py exited"
	sleep 0.1
done
[ -s "$TMP/port" ] || fail "fake_s3_flaky.py did not start"
EP="http://127.0.0.1:$(cat "$TMP/port")"

# Nothing from the host's AWS setup.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 \
	AWS_REGION AWS_DEFAULT_REGION AWS_MAX_ATTEMPTS MC_TEST_S3_PART_SIZE
SECRET=FlakySecretNeverPrinted0123456789
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ACCESS_KEY_ID=AKIDFAKEFLAKY AWS_SECRET_ACCESS_KEY=$SECRET
export MILKCAST_S3_ENDPOINT="$EP" MC_TEST_S3_URI=s3://flaky/store
export MILKCAST_S3_RETRIES=3 MILKCAST_S3_BACKOFF_MS=10

faults() { curl -sf -X POST --data "$1" "$EP/_fake/faults" >/dev/null || fail "cannot set faults $1"; }
reset() { curl -sf -X POST "$EP/_fake/reset" >/dev/null || fail "cannot reset the fake"; }

# drv CODE ARGS...: run the driver, expect exit CODE; stdout in $TMP/out, stderr in $TMP/err.
drv() {
	local want=$1; shift
	set +e
	"$DRIVER" "$@" >"$TMP/out" 2>"$TMP/err"
	local got=$?
	set -e
	if [ "$got" -ne "$want" ]; then
		echo "--- stderr"; cat "$TMP/err"
		fail "'test_artifact $*' exited $got, expected $want"
	fi
	! grep -q -e "$SECRET" -e ConfigSecretNeverPrinted -e CredsSecretNeverPrinted "$TMP/err" ||
		fail "a secret in the error: $(cat "$TMP/err")"
	! grep -q "Sanitizer" "$TMP/err" || fail "a sanitizer report: $(cat "$TMP/err")"
}
err_has() { grep -qF -- "$1" "$TMP/err" || fail "the error lacks '$1': $(cat "$TMP/err")"; }

# q EXPR: a Python expression over the fake's request log L and state S;
# A(method, key) is the list of statuses of those requests, in order.
q() {
	curl -sf "$EP/_fake/log" >"$TMP/log.json" || fail "cannot read the fake's log"
	curl -sf "$EP/_fake/state" >"$TMP/state.json" || fail "cannot read the fake's state"
	$PY - "$TMP/log.json" "$TMP/state.json" "$1" <<'EOF'
import json, sys
L = json.load(open(sys.argv[1]))
S = json.load(open(sys.argv[2]))
def A(method, key, query=None):
    return [e["status"] for e in L if e["method"] == method and e["key"] == key
            and (query is None or query in e["query"])]
print(eval(sys.argv[3]))
EOF
}
# expect EXPR WANT: q EXPR must print WANT.
expect() {
	local got
	got=$(q "$1")
	[ "$got" = "$2" ] || fail "$1: got $got, expected $2"
}

# --- transient failures, then success --------------------------------------------------

reset
faults '[{"fault":"500","method":"PUT","key":"store/a.txt","count":2}]'
drv 0 put a.txt "leche 21.50"
expect 'A("PUT","store/a.txt")' '[500, 500, 200]'
pass "PUT after two 500s: 3 attempts"

faults '[{"fault":"503","method":"GET","key":"store/a.txt","count":2}]'
drv 0 get a.txt
[ "$(cat "$TMP/out")" = "leche 21.50" ] || fail "GET after SlowDown read '$(cat "$TMP/out")'"
expect 'A("GET","store/a.txt")' '[503, 503, 200]'
pass "GET after two 503 SlowDown: 3 attempts"

faults '[{"fault":"429","method":"HEAD","key":"store/a.txt","count":2}]'
drv 0 exists a.txt
[ "$(cat "$TMP/out")" = yes ] || fail "exists after 429s"
expect 'A("HEAD","store/a.txt")' '[429, 429, 200]'
pass "HEAD after two 429s: 3 attempts"

faults '[{"fault":"400-timeout","method":"PUT","key":"store/b.txt","count":1},
	 {"fault":"502","method":"DELETE","key":"store/b.txt","count":1},
	 {"fault":"504","method":"DELETE","key":"store/b.txt","count":1}]'
drv 0 put b.txt "x"
expect 'A("PUT","store/b.txt")' '[400, 200]'
drv 0 delete b.txt
expect 'A("DELETE","store/b.txt")' '[502, 504, 204]'
pass "400 RequestTimeout retried by its code; DELETE after 502 and 504"

faults '[{"fault":"drop","method":"PUT","key":"store/c.txt","count":2},
	 {"fault":"cut","method":"GET","key":"store/c.txt","count":1}]'
drv 0 put c.txt "dropped twice"
expect 'A("PUT","store/c.txt")' '[0, 0, 200]'
drv 0 get c.txt
[ "$(cat "$TMP/out")" = "dropped twice" ] || fail "GET after a cut body read '$(cat "$TMP/out")'"
expect 'A("GET","store/c.txt")' '[200, 200]'
pass "connections dropped without a reply and closed mid-body: retried"

faults '[{"fault":"503","method":"GET","key":"","count":1},{"fault":"200-error","method":"GET","key":"","count":1}]'
drv 0 list ""
[ "$(tr '\n' ' ' <"$TMP/out")" = "a.txt c.txt " ] || fail "list read '$(cat "$TMP/out")'"
expect 'A("GET","")' '[503, 200, 200]'
pass "ListObjectsV2 after a 503 and a 200 carrying <Error>"

# --- giving up ---------------------------------------------------------------------------

faults '[{"fault":"500","method":"PUT","key":"store/gone/k","count":-1}]'
drv 1 put gone/k "never"
err_has "cannot put 'gone/k' in 's3://flaky/store'"
err_has "HTTP 500 InternalError"
err_has "(4 attempts)"
expect 'A("PUT","store/gone/k")' '[500, 500, 500, 500]'
MILKCAST_S3_RETRIES=1 drv 1 put gone/k "never"
expect 'A("PUT","store/gone/k")' '[500, 500, 500, 500, 500, 500]'
MILKCAST_S3_RETRIES=0 drv 1 put gone/k "never"
expect 'len(A("PUT","store/gone/k"))' 7
pass "gives up after MILKCAST_S3_RETRIES (3, 1, 0) more attempts, naming the key and status"

faults '[{"fault":"503","method":"GET","key":"store/a.txt","count":-1}]'
drv 1 get a.txt
err_has "cannot get 'a.txt'"
err_has "HTTP 503 SlowDown: Please reduce your request rate. (4 attempts)"
[ ! -s "$TMP/out" ] || fail "a failed GET wrote output"
faults '[{"fault":"drop","method":"GET","key":"store/a.txt","count":-1}]'
drv 1 get a.txt
err_has "cannot get 'a.txt'"
err_has "(4 attempts)"
pass "persistent SlowDown and dropped connections: an error after 4 attempts"

MILKCAST_S3_RETRIES=x drv 1 get a.txt
err_has "invalid retry count 'x' in MILKCAST_S3_RETRIES"
MILKCAST_S3_BACKOFF_MS=-5 drv 1 get a.txt
err_has "MILKCAST_S3_BACKOFF_MS"
pass "bad MILKCAST_S3_RETRIES / MILKCAST_S3_BACKOFF_MS are errors naming the variable"

# --- not retried ------------------------------------------------------------------------

reset
faults '[{"fault":"403","method":"PUT","key":"store/d.txt","count":-1},
	 {"fault":"501","method":"PUT","key":"store/e.txt","count":-1}]'
drv 1 put d.txt "x"
err_has "HTTP 403 AccessDenied"
expect 'A("PUT","store/d.txt")' '[403]'
drv 1 put e.txt "x"
err_has "HTTP 501 NotImplemented"
expect 'A("PUT","store/e.txt")' '[501]'
drv 1 get missing.txt
err_has "no artifact 'missing.txt'"
expect 'A("GET","store/missing.txt")' '[404]'
drv 0 exists missing.txt
[ "$(cat "$TMP/out")" = no ] || fail "exists of a missing key"
expect 'A("HEAD","store/missing.txt")' '[404]'
pass "403, 501 and 404 are not retried"

# --- backoff ------------------------------------------------------------------------------

faults '[{"fault":"500","method":"PUT","key":"store/slow","count":-1}]'
MILKCAST_S3_RETRIES=4 MILKCAST_S3_BACKOFF_MS=100 drv 1 put slow "x"
gaps=$(q '" ".join("%.3f" % (b["t"] - a["t"]) for a, b in zip([e for e in L if e["key"] == "store/slow"], [e for e in L if e["key"] == "store/slow"][1:]))')
echo "   waits between the 5 attempts (base 100 ms): $gaps s"
$PY - "$gaps" <<'EOF' || fail "the backoff does not grow as it should: $gaps"
import sys
g = [float(x) for x in sys.argv[1].split()]
assert len(g) == 4, g
for i, x in enumerate(g):
    nominal = 0.1 * 2 ** i          # a random wait in [nominal/2, nominal]
    assert x >= nominal / 2 - 0.002, (i, x)
    assert x <= nominal + 1.5, (i, x)
assert g[3] >= 2 * g[0] and g[2] >= g[0], g
EOF
pass "the backoff grows: each wait within [b·2^i/2, b·2^i] (+ slack), the last over twice the first"

# --- integrity ----------------------------------------------------------------------------

reset
drv 0 put f.bin "the real bytes of an artifact"
faults '[{"fault":"corrupt","method":"GET","key":"store/f.bin","count":1},
	 {"fault":"short","method":"GET","key":"store/f.bin","count":1}]'
drv 0 get f.bin
[ "$(cat "$TMP/out")" = "the real bytes of an artifact" ] || fail "GET after corruption read '$(cat "$TMP/out")'"
expect 'A("GET","store/f.bin")' '[200, 200, 200]'
pass "a corrupted and a short body (with a matching Content-Length) are detected and fetched again"

faults '[{"fault":"corrupt","method":"GET","key":"store/f.bin","count":-1}]'
drv 1 get f.bin
err_has "cannot get 'f.bin'"
err_has "corrupt body"
err_has "(4 attempts)"
[ ! -s "$TMP/out" ] || fail "a corrupt GET wrote output"
faults '[{"fault":"short","method":"GET","key":"store/f.bin","count":-1}]'
drv 1 get f.bin
err_has "corrupt body: 14 bytes"
faults '[{"fault":"bad-etag","method":"GET","key":"store/f.bin","count":-1}]'
drv 1 get f.bin
err_has "but the ETag is"
faults '[{"fault":"cut","method":"GET","key":"store/f.bin","count":-1}]'
drv 1 get f.bin
err_has "(4 attempts)"
faults '[{"fault":"bad-etag","method":"PUT","key":"store/g.bin","count":-1}]'
drv 1 put g.bin "y"
err_has "cannot put 'g.bin'"
err_has "does not match the MD5"
expect 'len(A("PUT","store/g.bin"))' 4
pass "persistently corrupt, short, cut or mislabelled bodies are errors, never silent success"

# --- multipart ----------------------------------------------------------------------------

reset
head -c 11534336 /dev/urandom >"$TMP/big.bin" # 11 MiB: parts of 5, 5 and 1 MiB
export MC_TEST_S3_PART_SIZE=5242880
faults '[{"fault":"500","method":"PUT","key":"store/big.bin","query":"partNumber=2","count":2},
	 {"fault":"drop","method":"PUT","key":"store/big.bin","query":"partNumber=3","count":1},
	 {"fault":"200-error","method":"POST","key":"store/big.bin","query":"uploadId","count":1},
	 {"fault":"503","method":"POST","key":"store/big.bin","query":"uploads","count":1}]'
drv 0 put-file big.bin "$TMP/big.bin"
expect 'A("POST","store/big.bin","uploads")' '[503, 200]'
expect 'A("PUT","store/big.bin","partNumber=1")' '[200]'
expect 'A("PUT","store/big.bin","partNumber=2")' '[500, 500, 200]'
expect 'A("PUT","store/big.bin","partNumber=3")' '[0, 200]'
expect 'A("POST","store/big.bin","uploadId")' '[200, 200]'
expect 'S["uploads"]' '{}'
expect 'S["objects"]["flaky/store/big.bin"]["etag"].endswith("-3")' True
drv 0 get big.bin
cmp -s "$TMP/out" "$TMP/big.bin" || fail "the multipart object read back differs"
pass "multipart: Create, parts and Complete (200 with <Error>) retried; the object reads back"

faults '[{"fault":"500","method":"PUT","key":"store/big2.bin","query":"partNumber=2","count":-1}]'
MILKCAST_S3_RETRIES=2 drv 1 put-file big2.bin "$TMP/big.bin"
err_has "cannot put 'big2.bin'"
err_has "part 2 of 3: HTTP 500 InternalError"
err_has "(3 attempts)"
err_has "the multipart upload was aborted"
expect 'A("PUT","store/big2.bin","partNumber=2")' '[500, 500, 500]'
expect 'A("PUT","store/big2.bin","partNumber=3")' '[]'
expect 'A("DELETE","store/big2.bin","uploadId")' '[204]'
expect 'S["uploads"]' '{}'
expect '"flaky/store/big2.bin" in S["objects"]' False
pass "a part that fails for good: AbortMultipartUpload, no upload left, no object"

faults '[{"fault":"500","method":"PUT","key":"store/big3.bin","query":"partNumber=1","count":-1},
	 {"fault":"500","method":"DELETE","key":"store/big3.bin","count":-1}]'
MILKCAST_S3_RETRIES=1 drv 1 put-file big3.bin "$TMP/big.bin"
err_has "part 1 of 3: HTTP 500"
err_has "AbortMultipartUpload failed too"
expect 'A("DELETE","store/big3.bin","uploadId")' '[500, 500]'
expect 'list(S["uploads"].values())' "['store/big3.bin']"
faults '[{"fault":"503","method":"POST","key":"store/big4.bin","query":"uploads","count":-1}]'
MILKCAST_S3_RETRIES=1 drv 1 put-file big4.bin "$TMP/big.bin"
err_has "CreateMultipartUpload: HTTP 503 SlowDown"
expect 'A("DELETE","store/big4.bin")' '[]'
unset MC_TEST_S3_PART_SIZE
pass "a failed abort is reported with the upload left; a failed Create needs no abort"

# --- settings from the shared AWS files -----------------------------------------------------

reset
unset MILKCAST_S3_ENDPOINT MILKCAST_S3_RETRIES AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
cat >"$TMP/config" <<EOF
[default]
region = us-west-1

# the profile under test
[profile flaky]
region = eu-west-3
endpoint_url = $EP
max_attempts = 2
aws_access_key_id = AKIDFROMCONFIG
aws_secret_access_key = ConfigSecretNeverPrinted
s3 =
    addressing_style = path
EOF
export AWS_CONFIG_FILE="$TMP/config" AWS_PROFILE=flaky
drv 0 put h.txt "from the config file"
expect '[(e["access_key"], e["region"]) for e in L]' "[('AKIDFROMCONFIG', 'eu-west-3')]"
printf '[flaky]\naws_access_key_id = AKIDFROMCREDS\naws_secret_access_key = CredsSecretNeverPrinted\n' >"$TMP/credentials"
AWS_SHARED_CREDENTIALS_FILE="$TMP/credentials" AWS_REGION=ap-south-1 drv 0 get h.txt
expect '[(e["access_key"], e["region"]) for e in L][1:]' "[('AKIDFROMCREDS', 'ap-south-1')]"
faults '[{"fault":"500","method":"PUT","key":"store/i.txt","count":-1}]'
drv 1 put i.txt "x"
expect 'A("PUT","store/i.txt")' '[500, 500]'
pass "profile from AWS_CONFIG_FILE: endpoint, region, max_attempts, keys; the credentials file and AWS_REGION win"

printf '[profile flaky]\nregion = eu-west-3\naws_secret_access_key ConfigSecretNeverPrinted\n' >"$TMP/config"
drv 1 get h.txt
err_has "cannot parse AWS config file '$TMP/config' line 3"
AWS_PROFILE=nobody drv 1 get h.txt
err_has "cannot parse AWS config file"
printf '[profile other]\nregion = eu-west-3\n' >"$TMP/config"
AWS_PROFILE=nobody drv 1 get h.txt
err_has "AWS profile 'nobody' (AWS_PROFILE) is in neither"
pass "a malformed config file (any profile) is an error naming file and line, not the text; an unknown profile too"

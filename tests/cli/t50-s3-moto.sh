#!/usr/bin/env bash
# The S3 artifact backend against moto_server with SigV4 checking on: put, get,
# list (paged), delete, a 20 MiB multipart object, a wrong secret, and objects
# crossing between milkcast and awscli.  Skips (77) without moto_server or aws.
set -euo pipefail
: "${MC_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${MC_BUILD_DIR:=$MC_SRC/build}"
DRIVER="$MC_BUILD_DIR/test_artifact"

command -v moto_server >/dev/null 2>&1 || { echo "skip: moto_server is not on PATH"; exit 77; }
command -v aws >/dev/null 2>&1 || { echo "skip: aws (awscli) is not on PATH"; exit 77; }
[ -x "$DRIVER" ] || { echo "skip: $DRIVER is not built"; exit 77; }

TMP=$(mktemp -d /tmp/mc-s3-XXXXXX)
MOTO_PID=
cleanup() {
	if [ -n "$MOTO_PID" ]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$TMP/moto.log" ] && tail -40 "$TMP/moto.log" >&2; exit 1; }

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
EP="http://127.0.0.1:$PORT"
# Authentication is off until we turn it on below (INITIAL_NO_AUTH_ACTION_COUNT
# unset = unlimited), so the first IAM calls can create the user whose key
# signs everything afterwards: moto checks SigV4 against IAM users' keys.
moto_server -H 127.0.0.1 -p "$PORT" >"$TMP/moto.log" 2>&1 &
MOTO_PID=$!
for _ in $(seq 1 100); do
	curl -s -o /dev/null "$EP/moto-api/" && break
	kill -0 "$MOTO_PID" 2>/dev/null || fail "moto_server exited"
	sleep 0.1
done

export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=dummy AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_REGION
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
AWS=(aws --endpoint-url "$EP" --region us-east-1 --output text)
"${AWS[@]}" iam create-user --user-name milkcast >/dev/null
"${AWS[@]}" iam put-user-policy --user-name milkcast --policy-name all \
	--policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY < <("${AWS[@]}" iam create-access-key --user-name milkcast \
	--query 'AccessKey.[AccessKeyId,SecretAccessKey]')
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
# From here on every request must carry a valid signature (the same switch as
# INITIAL_NO_AUTH_ACTION_COUNT=0, set through moto's reset-auth endpoint).
curl -sf -X POST -H "Content-Type: text/plain" --data 0 "$EP/moto-api/reset-auth" >/dev/null || fail "cannot turn moto auth on"
"${AWS[@]}" s3 mb s3://milkcast-test >/dev/null || fail "aws s3 mb"

export MILKCAST_S3_ENDPOINT="$EP" MC_TEST_S3_URI="s3://milkcast-test"

# Put, get, list over pages, delete, 20 MiB multipart, wrong secret.
"$DRIVER" >"$TMP/driver.log" 2>&1 || { cat "$TMP/driver.log"; fail "test_artifact against moto"; }
echo "ok: milkcast put/get/list/delete/multipart/wrong secret against moto with SigV4"

# A signature check really happens: a wrong secret through awscli fails too.
if AWS_SECRET_ACCESS_KEY=wrong "${AWS[@]}" s3 ls s3://milkcast-test >/dev/null 2>&1; then
	fail "moto accepted a wrong secret: signature checking is off"
fi

# milkcast writes, awscli reads.
MC_TEST_S3_PUT="cross/from-milkcast.txt:leche 21.50 MXN" "$DRIVER" || fail "driver put"
"${AWS[@]}" s3 cp s3://milkcast-test/cross/from-milkcast.txt "$TMP/a.txt" >/dev/null
[ "$(cat "$TMP/a.txt")" = "leche 21.50 MXN" ] || fail "awscli read '$(cat "$TMP/a.txt")'"
echo "ok: awscli reads what milkcast wrote"

# awscli writes (also multipart: 9 MiB > its 8 MiB threshold), milkcast reads.
printf 'from awscli\n' >"$TMP/b.txt"
"${AWS[@]}" s3 cp "$TMP/b.txt" "s3://milkcast-test/cross/from aws.txt" >/dev/null
MC_TEST_S3_GET="cross/from aws.txt" "$DRIVER" >"$TMP/b.out" || fail "driver get"
cmp "$TMP/b.txt" "$TMP/b.out" || fail "milkcast read a different body"
head -c 9437184 /dev/urandom >"$TMP/big.bin"
"${AWS[@]}" s3 cp "$TMP/big.bin" s3://milkcast-test/cross/big.bin >/dev/null
MC_TEST_S3_GET="cross/big.bin" "$DRIVER" >"$TMP/big.out" || fail "driver get big"
cmp "$TMP/big.bin" "$TMP/big.out" || fail "milkcast read a different 9 MiB body"
echo "ok: milkcast reads what awscli wrote (single and multipart)"

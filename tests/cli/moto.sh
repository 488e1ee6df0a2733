# moto_server for the tests that talk to AWS services (sourced; needs TMP and fail).
#
# start_moto --open|--auth: moto_server on a free loopback port, EP its URL, MOTO_PID
# its PID; test credentials and region exported, the shared AWS files, profile and
# endpoints unset; AWS=(aws --endpoint-url EP ...) for the awscli.  --open: moto checks
# no signature.  --auth: an IAM user allowed everything is created, its key exported,
# and from then on moto checks every request's SigV4 signature against IAM users' keys
# (auth stays off until then, so the user can be made).  stop_moto stops it by PID
# (call it from the EXIT trap).  Skips (77) without moto_server or aws.
MOTO_PID=
start_moto() {
	command -v moto_server >/dev/null 2>&1 || { echo "skip: moto_server is not on PATH"; exit 77; }
	command -v aws >/dev/null 2>&1 || { echo "skip: aws (awscli) is not on PATH"; exit 77; }
	local port
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	EP="http://127.0.0.1:$port"
	moto_server -H 127.0.0.1 -p "$port" >"$TMP/moto.log" 2>&1 &
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
	case ${1:-} in --open) return 0 ;; --auth) ;; *) fail "start_moto --open or --auth" ;; esac
	"${AWS[@]}" iam create-user --user-name milkcast >/dev/null
	"${AWS[@]}" iam put-user-policy --user-name milkcast --policy-name all \
		--policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
	read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY < <("${AWS[@]}" iam create-access-key --user-name milkcast \
		--query 'AccessKey.[AccessKeyId,SecretAccessKey]')
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	curl -sf -X POST -H "Content-Type: text/plain" --data 0 "$EP/moto-api/reset-auth" >/dev/null ||
		fail "cannot turn moto auth on"
}
stop_moto() {
	if [ -n "$MOTO_PID" ]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi
	MOTO_PID=
}

#!/usr/bin/env bash
# `milkcast lambda --run` keeps HOME's files beyond Lambda's /tmp (moto_server S3, awscli
# as the oracle, the fake Runtime API): after each event the new or changed reports go to
# MILKCAST_REPORTS and a snapshot of milkcast.db to MILKCAST_STATE; unchanged ones are not
# copied again; a cold start in an empty HOME brings the flow history back; a corrupt
# copy is an init error and leaves HOME alone; a failed copy fails the event (SyncFailed)
# naming the file, and the state is saved anyway.  Skips (77) without moto_server or aws.
. "$(dirname "$0")/lib.sh"
trap 'stop_fake; stop_moto; rm -rf "$TMP"' EXIT
start_moto --open # signatures not checked
"${AWS[@]}" s3api create-bucket --bucket art >/dev/null
export MILKCAST_S3_ENDPOINT="$EP"
unset MILKCAST_LAKE MILKCAST_ARTIFACTS

"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"
"$MILKCAST" -q train --until 2025-03-31 --trials 3 --horizons 2 >/dev/null
export MILKCAST_REPORTS=s3://art/reports MILKCAST_STATE=s3://art/state
FLOW=(flow run daily --param fetch=false --param alerts=false --param retries=0)

# A warm environment: the flow, then a failing event that writes no report.  Hidden
# files and atomic-write temporaries under reports/ are never copied.
mkdir -p "$MILKCAST_HOME/reports/.cache"
echo x >"$MILKCAST_HOME/reports/.hidden"
echo x >"$MILKCAST_HOME/reports/.cache/a.csv"
echo x >"$MILKCAST_HOME/reports/left.csv.tmp.123.4"
echo '[{"args": ["--param", "date=2025-03-31"]}, {"args": ["--param", "nope=1"]}]' >"$TMP/run.json"
FAKE_DEADLINE_MS=600000 start_fake "$TMP/run.json"
expect_exit 0 timeout 300 "$MILKCAST" lambda --max-invocations 2 --run "${FLOW[@]}"
stop_fake
assert_eq "$(rec "(len(j['responses']), [e['type'] for e in j['errors']])")" "(1, ['CommandFailed'])" "one flow, one failure"
"${AWS[@]}" s3 ls --recursive s3://art/ | awk '{print $4}' | sort >"$TMP/keys"
for k in reports/forecasts/forecast-2025-03-31.csv reports/monitoring/2025-03-31.json \
	reports/monitoring/2025-03-31.html state/milkcast.db; do
	grep -qx "$k" "$TMP/keys" || { cat "$TMP/keys"; fail "s3://art/$k was not copied"; }
done
(cd "$MILKCAST_HOME/reports" && find . -path '*/.*' -prune -o -type f ! -name '*.tmp.*' -print | sed 's|^\./|reports/|' | sort) >"$TMP/local"
assert_eq "$(comm -23 "$TMP/local" "$TMP/keys")" "" "every local report is in the store"
assert_eq "$(grep -c -e '\.hidden' -e '\.cache' -e '\.tmp\.' "$TMP/keys" || true)" 0 "hidden and temporary files copied"
for k in forecasts/forecast-2025-03-31.csv monitoring/2025-03-31.html; do
	"${AWS[@]}" s3 cp "s3://art/reports/$k" "$TMP/copy" >/dev/null
	cmp -s "$TMP/copy" "$MILKCAST_HOME/reports/$k" || fail "s3://art/reports/$k differs from the local file"
done
n=$(wc -l <"$TMP/local")
grep -q "$n report(s) copied, 0 unchanged, flow history saved" "$TMP/err" || { cat "$TMP/err"; fail "first event: $n reports copied"; }
grep -q "0 report(s) copied, $n unchanged" "$TMP/err" || { cat "$TMP/err"; fail "second event copied again"; }
"${AWS[@]}" s3 cp s3://art/state/milkcast.db "$TMP/state.db" >/dev/null
assert_eq "$(sqlite3 "$TMP/state.db" "select state from flow_runs where flow = 'daily'")" "Completed" "the saved flow history"
pass "reports and flow history copied after each event; unchanged reports are not copied again"

# A cold start: an empty HOME gets the flow history back before the first event.
echo '[{}]' >"$TMP/run.json"
FAKE_DEADLINE_MS=600000 start_fake "$TMP/run.json"
MILKCAST_HOME="$TMP/cold" expect_exit 0 timeout 120 "$MILKCAST" lambda --max-invocations 1 --run flow runs
stop_fake
assert_contains "$TMP/err" "flow history restored from s3://art/state"
assert_eq "$(rec "[(r['flow'], r['state'], r['parameters']['date']) for r in j['responses'][0]['body']['output']]")" \
	"[('daily', 'Completed', '2025-03-31')]" "the flow runs after a cold start"
pass "a cold start restores milkcast.db"

# A corrupt copy: init error, nothing written into HOME.
printf 'not a database' >"$TMP/junk"
"${AWS[@]}" s3 cp "$TMP/junk" s3://art/state/milkcast.db >/dev/null
start_fake "$TMP/run.json"
MILKCAST_HOME="$TMP/cold2" expect_exit 1 timeout 60 "$MILKCAST" lambda --max-invocations 1 --run flow runs
stop_fake
assert_eq "$(rec "(len(j['init_errors']), 's3://art/state/milkcast.db' in j['init_errors'][0]['body']['errorMessage'], j['responses'])")" "(1, True, [])" "init error naming the copy"
[ ! -e "$TMP/cold2/milkcast.db" ] || fail "a corrupt copy was put in place"
assert_eq "$(find "$TMP/cold2" -type f | wc -l)" 0 "files left in HOME"
pass "a corrupt flow history is an init error and HOME stays empty"

# A store that refuses: the event fails naming the report; the state is still saved.
"${AWS[@]}" s3 cp "$TMP/state.db" s3://art/state/milkcast.db >/dev/null
"${AWS[@]}" s3 rm s3://art/state/milkcast.db >/dev/null
FAKE_DEADLINE_MS=600000 start_fake "$TMP/run.json"
MILKCAST_REPORTS=s3://no-such-bucket/reports expect_exit 0 timeout 120 "$MILKCAST" lambda --max-invocations 1 --run lake ls
stop_fake
assert_eq "$(rec "(j['errors'][0]['type'], 'reports/forecasts/forecast-2025-03-31.csv' in j['errors'][0]['body']['errorMessage'], j['responses'])")" "('SyncFailed', True, [])" "SyncFailed naming the report"
"${AWS[@]}" s3 ls s3://art/state/milkcast.db >/dev/null || fail "the state was not saved after the failed copy"
pass "a failed copy fails the event and names the file; the state is saved"

# Secrets by name: the Telegram token is read from SSM at init (moto) and the daily
# flow's alert reaches the fake Bot API with it (any other token gets 401); the value
# never appears in the log.
"${AWS[@]}" ssm put-parameter --type SecureString --name /milkcast/test/telegram-token \
	--value '123456:ABC-def' >/dev/null
echo '{"token": "123456:ABC-def", "chat_id": "-1001"}' >"$TMP/tg-script.json"
$PY "$MC_SRC/tests/oracle/fake_telegram.py" "$TMP/tg-script.json" "$TMP/tg.json" "$TMP/tg.port" 2>"$TMP/tg.err" &
TG_PID=$!
trap 'kill "$TG_PID" 2>/dev/null || true; stop_fake; stop_moto; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do [ -s "$TMP/tg.port" ] && break; sleep 0.05; done
echo '[{"args": ["--param", "date=2025-03-31"]}]' >"$TMP/run.json"
FAKE_DEADLINE_MS=600000 start_fake "$TMP/run.json"
MILKCAST_TELEGRAM_API="http://127.0.0.1:$(cat "$TMP/tg.port")" MILKCAST_TELEGRAM_CHAT_ID=-1001 \
	MILKCAST_TELEGRAM_TOKEN_PARAMETER=/milkcast/test/telegram-token AWS_ENDPOINT_URL_SSM="$EP" \
	expect_exit 0 timeout 300 "$MILKCAST" lambda --max-invocations 1 --run flow run daily \
	--param fetch=false --param retries=0
stop_fake
assert_contains "$TMP/err" "1 secret(s) read from SSM Parameter Store"
assert_eq "$(rec "(len(j['responses']), j['errors'])")" "(1, [])" "the flow with alerts"
assert_eq "$(json_get "$TMP/tg.json" "[(r['path'], r['status']) for r in j['requests']][:1]")" \
	"[('/bot123456:ABC-def/sendMessage', 200)]" "the alert, sent with the token from SSM"
if grep -q 'ABC-def' "$TMP/err"; then fail "the token is in the log"; fi
pass "NAME_PARAMETER: the Telegram token from SSM Parameter Store reaches the alert"

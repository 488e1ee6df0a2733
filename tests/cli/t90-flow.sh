#!/usr/bin/env bash
# t90-flow: the pipeline's flows on the shipped data.  daily fetches from a
# loopback fake SNIIM server, ingests, fails at predict (no model yet) with
# an alert to a fake webhook, then `flow retry` resumes it after a `train`
# flow without fetching again; backfill replays two weeks of publications
# (a forecast and a monitoring report per day); kill -9 in the middle of a
# backfill leaves a Crashed run that `flow retry` finishes, reusing the days
# done; cancel; bad input.
. "$(dirname "$0")/lib.sh"
[ -x "$PY" ] || { echo "skipped: $PY is missing"; exit 77; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY MILKCAST_SNIIM_URL
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

wait_port() { for _ in $(seq 200); do [ -s "$1" ] && return; sleep 0.05; done; fail "no port in $1"; }
run_id() { json_get "$TMP/out" "j['id']"; }
# field RUN EXPR: EXPR on `flow show RUN --json`
field() { "$MILKCAST" --json flow show "$1" >"$TMP/show.json"; json_get "$TMP/show.json" "$2"; }

# ---- help and bad input ----
expect_exit 0 "$MILKCAST" flow --help
for f in daily train backfill; do assert_contains "$TMP/out" "  $f "; done
expect_exit 2 "$MILKCAST" flow run weekly
assert_contains "$TMP/err" "no flow 'weekly'"
expect_exit 2 "$MILKCAST" flow run daily --param colour=blue
assert_contains "$TMP/err" "no parameter 'colour'"
expect_exit 2 "$MILKCAST" flow run daily --param date=2025-02-30
assert_contains "$TMP/err" "parameter 'date'"
expect_exit 2 "$MILKCAST" flow run daily --param fetch=maybe
assert_contains "$TMP/err" "parameter 'fetch' must be true or false"
expect_exit 2 "$MILKCAST" flow run backfill --param from=2025-03-01
assert_contains "$TMP/err" "parameter 'to' is required"
expect_exit 2 "$MILKCAST" flow run daily --param nokey
assert_contains "$TMP/err" "expected KEY=VALUE"
expect_exit 1 "$MILKCAST" flow show abcdef12
assert_contains "$TMP/err" "abcdef12"
pass "help and bad input"

# ---- fakes: SNIIM and an alert webhook ----
$PY "$MC_SRC/tests/fakes/sniim_server.py" --workbook "$MC_SRC/data/sniim/raw/Leche31032025.xlsx" \
	--port-file "$TMP/sniim.port" --log "$TMP/sniim.log" &
PIDS+=($!)
echo '{"token": "123456:ABC-def", "chat_id": "-1"}' >"$TMP/script.json"
$PY "$MC_SRC/tests/oracle/fake_telegram.py" "$TMP/script.json" "$TMP/record.json" "$TMP/hook.port" \
	2>"$TMP/fake.err" &
PIDS+=($!)
wait_port "$TMP/sniim.port"
wait_port "$TMP/hook.port"
BASE=http://127.0.0.1:$(cat "$TMP/sniim.port")/sniim
MILKCAST_ALERT_WEBHOOK="http://127.0.0.1:$(cat "$TMP/hook.port")/hook"
export MILKCAST_ALERT_WEBHOOK

# ---- daily: fetch → ingest → predict fails (no model) ----
expect_exit 1 "$MILKCAST" --json flow run daily --param date=2025-03-31 --param "base_url=$BASE" \
	--param retries=0
DAILY=$(run_id)
assert_eq "$(json_get "$TMP/out" "j['state']")" "Failed" "daily state"
assert_eq "$(json_get "$TMP/out" "' '.join(t['label']+':'+t['state'] for t in j['tasks'])")" \
	"fetch:Completed ingest:Completed predict:Failed monitor:Cancelled alert:Cancelled" "daily tasks"
json_get "$TMP/out" "[t['error'] for t in j['tasks'] if t['label']=='predict'][0]" >"$TMP/e"
assert_contains "$TMP/e" "milkcast predict --as-of 2025-03-31"
assert_eq "$(json_get "$TMP/out" "j['tasks'][0]['result']['output']['results'][0]['status']")" \
	"fetched" "the fetch saved the workbook"
[ "$(sqlite3 "$MILKCAST_HOME/milkcast.db" "select count(*) from lake_partitions")" -gt 0 ] ||
	fail "nothing ingested"
fetches=$(grep -c 'Leche31032025' "$TMP/sniim.log")
# the failure was alerted (critical flow_failed, to the webhook)
for _ in $(seq 50); do grep -q flow_failed "$TMP/record.json" 2>/dev/null && break; sleep 0.1; done
assert_contains "$TMP/record.json" "flow_failed"
assert_contains "$TMP/record.json" "$DAILY"
pass "daily failed at predict, alerted"

# ---- train flow, then retry the daily run: fetch and ingest are not run again ----
expect_exit 0 "$MILKCAST" --json flow run train --param trials=3 --param until=2024-12-31
assert_eq "$(json_get "$TMP/out" "' '.join(t['state'] for t in j['tasks'])")" "Completed Completed" "train"
assert_contains "$TMP/out" "the champion"
expect_exit 0 "$MILKCAST" --json flow retry "${DAILY:0:8}"
assert_eq "$(json_get "$TMP/out" "j['id']")" "$DAILY" "retry resumes the same run"
assert_eq "$(json_get "$TMP/out" "' '.join(t['label']+':'+t['state']+':'+str(t['attempts']) for t in j['tasks'])")" \
	"fetch:Completed:1 ingest:Completed:1 predict:Completed:2 monitor:Completed:1 alert:Completed:1" \
	"after retry"
assert_eq "$(grep -c 'Leche31032025' "$TMP/sniim.log")" "$fetches" "no second download"
assert_eq "$(json_get "$TMP/out" "' '.join(h['state'] for h in j['history'])")" \
	"Scheduled Pending Running Failed Pending Running Completed" "run history"
assert_eq "$(json_get "$TMP/out" "j['executions']")" "2" "executions"
[ -s "$MILKCAST_HOME/reports/forecasts/forecast-2025-03-31.csv" ] || fail "no forecast"
[ -s "$MILKCAST_HOME/reports/monitoring/2025-03-31.html" ] || fail "no monitoring report"
expect_exit 0 "$MILKCAST" flow logs "$DAILY" --task predict
assert_contains "$TMP/out" "\[predict\] milkcast predict --as-of 2025-03-31"
assert_contains "$TMP/out" "Task run 'predict' is Failed"
pass "train flow; retry reused fetch and ingest"

# ---- backfill: a forecast and a report per publication day, in order ----
expect_exit 0 "$MILKCAST" --json flow run backfill --param from=2025-03-01 --param to=2025-03-14
run_id >/dev/null # the backfill run has an id
days="2025-03-03 2025-03-05 2025-03-07 2025-03-10 2025-03-12 2025-03-14"
want=$(for d in $days; do printf 'predict[%s] monitor[%s] ' "$d" "$d"; done)
assert_eq "$(json_get "$TMP/out" "' '.join(t['label'] for t in j['tasks'])") " "$want" "backfill tasks"
assert_eq "$(json_get "$TMP/out" "sorted(set(t['state'] for t in j['tasks']))")" "['Completed']" "backfill states"
# in order: each task started after the one before it ended
json_get "$TMP/out" "all(a['ended_ms'] <= b['started_ms'] for a, b in zip(j['tasks'], j['tasks'][1:]))" >"$TMP/o"
assert_eq "$(cat "$TMP/o")" "True" "sequential days"
for d in $days; do
	[ -s "$MILKCAST_HOME/reports/forecasts/forecast-$d.csv" ] || fail "no forecast for $d"
	assert_eq "$(json_get "$MILKCAST_HOME/reports/monitoring/$d.json" "j['as_of']")" "$d" "report of $d"
	grep -q '"as_of":"'"$d"'"' "$MILKCAST_HOME/predictions/batch-$d.jsonl" || fail "no batch log for $d"
done
pass "backfill: 6 days, forecasts and reports"

# ---- kill -9 of a backfill in the middle of a task; the next command marks it Crashed ----
"$MILKCAST" flow run backfill --param from=2025-01-01 --param to=2025-03-31 >"$TMP/kill.out" 2>&1 &
KPID=$!
PIDS+=("$KPID")
for _ in $(seq 300); do
	n=$(sqlite3 "$MILKCAST_HOME/milkcast.db" "select count(*) from task_runs t join flow_runs f on f.id = t.flow_run_id where f.pid = $KPID and t.state = 'Completed'" 2>/dev/null || echo 0)
	r=$(sqlite3 "$MILKCAST_HOME/milkcast.db" "select count(*) from task_runs t join flow_runs f on f.id = t.flow_run_id where f.pid = $KPID and t.state = 'Running'" 2>/dev/null || echo 0)
	[ "$n" -ge 3 ] && [ "$r" -ge 1 ] && break
	sleep 0.05
done
[ "$n" -ge 3 ] || fail "the backfill did not get going"
kill -9 "$KPID"
wait "$KPID" 2>/dev/null || true
sleep 0.2
KILLED=$(sqlite3 "$MILKCAST_HOME/milkcast.db" "select id from flow_runs where pid = $KPID")
expect_exit 0 "$MILKCAST" flow runs --state crashed
assert_contains "$TMP/out" "marked Crashed"
assert_contains "$TMP/out" "$KILLED"
assert_eq "$(field "$KILLED" "j['state']")" "Crashed" "killed run"
assert_eq "$(json_get "$TMP/show.json" "len([t for t in j['tasks'] if t['state'] == 'Crashed'])")" "1" "one task Crashed"
json_get "$TMP/show.json" "{t['label']: t['started_ms'] for t in j['tasks'] if t['state'] == 'Completed'}" >"$TMP/done.before"
ndone=$(json_get "$TMP/show.json" "len([t for t in j['tasks'] if t['state'] == 'Completed'])")
expect_exit 0 "$MILKCAST" --json flow retry "$KILLED"
assert_eq "$(json_get "$TMP/out" "j['state']")" "Completed" "retried run"
json_get "$TMP/out" "{t['label']: t['started_ms'] for t in j['tasks'] if t['label'] in $(cat "$TMP/done.before")}" >"$TMP/done.after"
cmp -s "$TMP/done.before" "$TMP/done.after" || fail "tasks done before the kill ran again"
assert_eq "$(json_get "$TMP/out" "' '.join(h['state'] for h in j['history'])")" \
	"Scheduled Pending Running Crashed Pending Running Completed" "crashed run history"
pass "kill -9: Crashed, then retry reused $ndone completed tasks"

# ---- cancel a running flow ----
"$MILKCAST" flow run backfill --param from=2025-01-01 --param to=2025-03-31 >"$TMP/cancel.out" 2>&1 &
CPID=$!
PIDS+=("$CPID")
for _ in $(seq 300); do
	CID=$(sqlite3 "$MILKCAST_HOME/milkcast.db" "select id from flow_runs where pid = $CPID and state = 'Running'" 2>/dev/null || true)
	[ -n "$CID" ] && break
	sleep 0.05
done
[ -n "$CID" ] || fail "the run to cancel did not start"
expect_exit 0 "$MILKCAST" flow cancel "$CID"
set +e
wait "$CPID"
crc=$?
set -e
assert_eq "$crc" "1" "a cancelled run's exit status"
assert_eq "$(field "$CID" "j['state']")" "Cancelled" "cancelled run"
assert_eq "$(json_get "$TMP/show.json" "[t for t in j['tasks'] if t['state'] in ('Running', 'Pending')]")" "[]" "no task left running"
expect_exit 1 "$MILKCAST" flow cancel "$CID"
assert_contains "$TMP/err" "already"
pass "cancel"

# ---- SIGTERM to a running flow: tasks stopped, the run Crashed at once ----
# The fetch cannot reach SNIIM and waits 60 s for its retry; SIGTERM must not wait.
"$MILKCAST" flow run daily --param date=2025-03-31 --param base_url=http://127.0.0.1:1/ \
	--param retries=1 >"$TMP/term.out" 2>&1 &
TPID=$!
PIDS+=("$TPID")
for _ in $(seq 300); do
	TID=$(sqlite3 "$MILKCAST_HOME/milkcast.db" "select r.id from flow_runs r join task_runs t on t.flow_run_id = r.id where r.pid = $TPID and t.state = 'Retrying'" 2>/dev/null || true)
	[ -n "$TID" ] && break
	sleep 0.05
done
[ -n "$TID" ] || { cat "$TMP/term.out"; fail "the run to terminate did not reach its retry"; }
t0=$(date +%s)
kill -TERM "$TPID"
set +e
wait "$TPID"
trc=$?
set -e
[ $(($(date +%s) - t0)) -lt 10 ] || fail "SIGTERM took $(($(date +%s) - t0)) s to stop the run"
assert_eq "$trc" "1" "a terminated run's exit status"
assert_eq "$(field "$TID" "(j['state'], j['message'].startswith('terminated by SIGTERM'))")" "('Crashed', True)" "terminated run"
assert_eq "$(json_get "$TMP/show.json" "[t for t in j['tasks'] if t['state'] in ('Running', 'Pending', 'Retrying')]")" "[]" "no task left waiting"
assert_contains "$TMP/term.out" "Terminated by SIGTERM"
pass "SIGTERM: the run is Crashed at once, its tasks stopped"

# ---- runs listing ----
expect_exit 0 "$MILKCAST" --json flow runs --flow backfill
assert_eq "$(json_get "$TMP/out" "len(j)")" "3" "backfill runs"
expect_exit 0 "$MILKCAST" flow runs --limit 1
expect_exit 2 "$MILKCAST" flow runs --state sleeping
pass "runs"

#!/usr/bin/env bash
# t91-scheduler: `milkcast scheduler` on the shipped data, driven with --once --now (no
# sleeping): config errors naming file, line and key; the built-in defaults; a fire runs
# as a flow run with the fire's local date, and never twice; catch-up after downtime
# (none, latest, all, all with max_catch_up); first start without catch-up; one run at a
# time per flow; a failed run's exit status; a fire in New York's DST gap; a daemon in the
# background: one per workspace, SIGHUP reloads (a bad config is kept out), SIGTERM waits
# for a short run and cancels a long one, exit 0 and no run left Running; the systemd unit.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "skip: sqlite3 is not installed"; exit 77; }
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
DB="$MILKCAST_HOME/milkcast.db"
q() { sqlite3 "$DB" "$1"; }
# assert_has FILE TEXT: a fixed string, not a regex (messages hold [sections] and cron stars).
assert_has() { grep -qF -- "$2" "$1" || { cat "$1"; fail "'$1' does not contain '$2'"; }; }
assert_lacks() { ! grep -qF -- "$2" "$1" || { cat "$1"; fail "'$1' contains '$2'"; }; }
# once CONFIG NOW [EXIT]: one pass of the scheduler at NOW.
once() { expect_exit "${3:-0}" "$MILKCAST" scheduler --config "$1" --once --now "$2"; }
# dates NAME: the date parameter of schedule NAME's runs, in the order they started.
dates() {
	q "select group_concat(d, ' ') from (select json_extract(parameters, '\$.date') d
	   from flow_runs where idempotency_key like 'scheduler:$1:%' order by started, rowid)"
}
P="params = fetch=false alerts=false retries=0"

# ---- usage ----
expect_exit 0 "$MILKCAST" scheduler --help
assert_has "$TMP/out" "catch_up = none|latest|all"
assert_has "$TMP/out" "  daily "
expect_exit 2 "$MILKCAST" scheduler --now 2025-03-03T13:00
assert_has "$TMP/err" "--now needs --once"
expect_exit 2 "$MILKCAST" scheduler --once --now tomorrow
assert_has "$TMP/err" "'tomorrow' is not a time"
expect_exit 2 "$MILKCAST" scheduler --once --grace -1
expect_exit 2 "$MILKCAST" scheduler --once --config "$TMP/missing.conf"
assert_has "$TMP/err" "cannot read '$TMP/missing.conf'"
pass "usage errors"

# ---- config errors: each names the file, the line and the key ----
bad_config() {
	printf '%b' "$1" >"$TMP/bad.conf"
	once "$TMP/bad.conf" 2025-03-03T13:00 2
	assert_has "$TMP/err" "$TMP/bad.conf:$2"
}
bad_config "[d]\nflow = daily\ncron = 0 13 * * 1\ncolour = red\n" "4: unknown key 'colour' in [d]"
bad_config "colour = red\n[d]\nflow = daily\ncron = 0 13 * * 1\n" "1: unknown key 'colour' before the first [schedule]"
bad_config "[d]\nflow = daily\ncron = 0 25 * * 1\n" \
	"3: key 'cron' in [d]: cron '0 25 * * 1': field 2 (hour): 25 is out of range 0-23 at column 3"
bad_config "[d]\nflow = daily\ncron = 0 13 * * 1\ntimezone = Mars/Olympus\n" "4: key 'timezone' in [d]: time zone 'Mars/Olympus'"
bad_config "timezone = Mars/Olympus\n[d]\nflow = daily\ncron = 0 13 * * 1\n" "1: key 'timezone': time zone 'Mars/Olympus'"
bad_config "[d]\nflow = weekly\ncron = 0 13 * * 1\n" "2: key 'flow' in [d]: no flow 'weekly'"
bad_config "[weekly]\ncron = 0 13 * * 1\n" "1: schedule [weekly] has no 'flow' and 'weekly' is not a flow"
bad_config "[d]\nflow = daily\ncron = 0 13 * * 1\nparams = fetch=false colour=red\n" \
	"4: key 'params' in [d]: flow 'daily' has no parameter 'colour'"
bad_config "[d]\nflow = daily\ncron = 0 13 * * 1\nparams = fetch=maybe\n" \
	"4: key 'params' in [d]: flow 'daily': parameter 'fetch' must be true or false"
bad_config "[d]\nflow = daily\ncron = 0 13 * * 1\nparams = date=2025-03-01\n" "4: key 'params' in [d]: 'date' is set by the scheduler"
bad_config "[train]\ncron = 0 6 * * 0\ncatch_up = sometimes\n" "3: key 'catch_up' in [train]: 'sometimes' is not none, latest or all"
bad_config "[train]\ncron = 0 6 * * 0\ncron = 0 7 * * 0\n" "3: key 'cron' in [train]: given twice (first on line 2)"
bad_config "[train]\nflow = train\n" "1: schedule [train] has no 'cron'"
mkdir -p "$MILKCAST_HOME"
printf '[train]\ncron = 0 6 * * 0\nenabled = perhaps\n' >"$MILKCAST_HOME/scheduler.conf"
expect_exit 2 "$MILKCAST" scheduler --once --now 2025-03-02T12:00
assert_has "$TMP/err" "$MILKCAST_HOME/scheduler.conf:3: key 'enabled' in [train]"
assert_eq "$(q 'select count(*) from flow_runs')" 0 "runs after config errors"
pass "config errors name the file, line and key; nothing runs"

# The built-in defaults when HOME/scheduler.conf does not exist (a Sunday at noon: the
# train fire at 06:00 was before the first start, so it is not caught up).
rm "$MILKCAST_HOME/scheduler.conf"
expect_exit 0 "$MILKCAST" --json scheduler --once --now 2025-03-02T12:00
assert_eq "$(json_get <(head -1 "$TMP/err") "(j['event'], j['config'], j['schedules'])")" \
	"('started', '(built-in defaults)', 2)" "defaults"
assert_has "$TMP/err" '"event":"nothing_due"'
pass "built-in defaults"

# ---- data and a model ----
"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"
expect_exit 0 "$MILKCAST" -q train --until 2024-12-31 --trials 3

# ---- a fire at --now is a flow run; the same fire never runs again ----
printf '[mon]\nflow = daily\ncron = 0 13 * * 1,3,5\n%s\n' "$P" >"$TMP/mon.conf"
expect_exit 0 "$MILKCAST" --json scheduler --config "$TMP/mon.conf" --once --now 2025-03-03T13:00
$PY - "$TMP/err" <<'EOF' || fail "JSON log lines"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l["event"] for l in lines] == ["started", "fired", "run_started", "run_ended", "stopped"], lines
assert lines[1]["fire"] == "2025-03-03T13:00:00-06:00 CST" and lines[1]["catch_up"] is False, lines[1]
assert lines[3]["state"] == "Completed" and lines[3]["run"] == lines[2]["run"], lines[3]
assert all(l["time"].endswith("Z") and l["level"] == "info" for l in lines)
EOF
# 2025-03-03 13:00 CST = 19:00Z = 1741028400
assert_eq "$(q "select flow, state, scheduled, json_extract(parameters, '\$.date') from flow_runs
	where idempotency_key = 'scheduler:mon:1741028400'")" "daily|Completed|1741028400000|2025-03-03" "the fire's run"
once "$TMP/mon.conf" 2025-03-03T13:00
once "$TMP/mon.conf" 2025-03-03T13:05
assert_eq "$(dates mon)" "2025-03-03" "runs after the same fire again"
assert_has "$TMP/err" "nothing_due"
assert_lacks "$TMP/err" "run_started"
pass "a fire runs daily for its local date, once"

# First start ever: the fire missed before it is not caught up.
printf 'catch_up = all\n[fresh]\nflow = daily\ncron = 0 13 * * 1,3,5\n%s\n' "$P" >"$TMP/fresh.conf"
once "$TMP/fresh.conf" 2025-03-04T10:00
assert_eq "$(dates fresh)" "" "runs on a first start"
pass "first start: no catch-up"

# ---- catch-up after downtime: last handled Mon 03-03 13:00, now Fri 03-14 14:00 ----
catch_up() { # NAME POLICY MAX
	printf 'catch_up = %s\nmax_catch_up = %s\n[%s]\nflow = daily\ncron = 0 13 * * 1,3,5\n%s\n' \
		"$2" "$3" "$1" "$P" >"$TMP/$1.conf"
	once "$TMP/$1.conf" 2025-03-03T13:00
	once "$TMP/$1.conf" 2025-03-14T14:00
}
catch_up c_none none 10
assert_eq "$(dates c_none)" "2025-03-03" "catch_up = none"
assert_has "$TMP/err" 'skipped schedule=c_none missed=5 first="2025-03-05T13:00:00-06:00 CST" last="2025-03-14T13:00:00-06:00 CST"'
catch_up c_latest latest 10
assert_eq "$(dates c_latest)" "2025-03-03 2025-03-14" "catch_up = latest"
assert_has "$TMP/err" "skipped schedule=c_latest missed=4"
# 2025-03-14 13:00 CST = 1741978800
assert_eq "$(q "select scheduled from flow_runs where idempotency_key = 'scheduler:c_latest:1741978800'")" 1741978800000 "scheduled_ms"
catch_up c_all all 10
assert_eq "$(dates c_all)" "2025-03-03 2025-03-05 2025-03-07 2025-03-10 2025-03-12 2025-03-14" "catch_up = all"
assert_lacks "$TMP/err" "skipped"
assert_eq "$(q "select count(*) from flow_runs a join flow_runs b on a.rowid < b.rowid
	where a.idempotency_key like 'scheduler:c_all:%' and b.idempotency_key like 'scheduler:c_all:%'
	and a.started < b.ended and b.started < a.ended")" 0 "overlapping catch-up runs"
catch_up c_all2 all 2
assert_eq "$(dates c_all2)" "2025-03-03 2025-03-12 2025-03-14" "catch_up = all, max_catch_up = 2"
assert_has "$TMP/err" "skipped schedule=c_all2 missed=3"
once "$TMP/c_all.conf" 2025-03-14T14:00
assert_eq "$(dates c_all)" "2025-03-03 2025-03-05 2025-03-07 2025-03-10 2025-03-12 2025-03-14" "catch-up again"
pass "catch-up: none, latest, all, all with max_catch_up; idempotent"

# ---- one run at a time per flow: two schedules of daily due at once ----
printf '[a]\nflow = daily\ncron = 0 13 * * 1\n%s\n[b]\nflow = daily\ncron = 0 13 * * 1\n%s\n' "$P" "$P" >"$TMP/two.conf"
once "$TMP/two.conf" 2025-03-10T13:00
assert_has "$TMP/err" "waiting schedule=b flow=daily"
# 2025-03-10 13:00 CST = 1741633200
assert_eq "$(q "select count(*) from flow_runs where state = 'Completed' and idempotency_key in
	('scheduler:a:1741633200', 'scheduler:b:1741633200')")" 2 "both ran"
assert_eq "$(q "select a.ended <= b.started from flow_runs a, flow_runs b
	where a.idempotency_key = 'scheduler:a:1741633200' and b.idempotency_key = 'scheduler:b:1741633200'")" 1 \
	"b started after a ended"
pass "one run at a time per flow"

# ---- a run that fails: exit 1 (nothing listens on port 9) ----
printf '[broken]\nflow = daily\ncron = 0 13 * * 1\nparams = fetch=true alerts=false retries=0 base_url=http://127.0.0.1:9/\n' >"$TMP/broken.conf"
once "$TMP/broken.conf" 2025-03-10T13:00 1
assert_has "$TMP/err" "state=Failed"
assert_eq "$(q "select state from flow_runs where idempotency_key = 'scheduler:broken:1741633200'")" Failed "failed run"
pass "a failed run: exit 1"

# ---- DST: 02:30 does not exist in New York on 2025-03-09; it fires once, at 03:00 EDT ----
printf 'timezone = America/New_York\ncatch_up = all\n[ny]\nflow = daily\ncron = 30 2 * * *\n%s\n' "$P" >"$TMP/ny.conf"
once "$TMP/ny.conf" 2025-03-08T02:30
once "$TMP/ny.conf" 2025-03-09T12:00
assert_has "$TMP/err" 'fired schedule=ny flow=daily fire="2025-03-09T03:00:00-04:00 EDT" catch_up=true'
# 2025-03-08T02:30-05:00 = 1741419000, 2025-03-09T03:00-04:00 = 1741503600
assert_eq "$(q "select group_concat(scheduled || ' ' || json_extract(parameters, '\$.date'), ', ') from
	(select * from flow_runs where idempotency_key like 'scheduler:ny:%' order by scheduled)")" \
	"1741419000000 2025-03-08, 1741503600000 2025-03-09" "fires over the DST change"
pass "DST gap: one fire at 03:00 EDT"

# ---- the daemon ----
# A history for schedule NAME: a run of the fire 5 minutes ago (daily on today's date, which
# the shipped data may not cover: only the run's key matters here).
history() {
	printf '[%s]\nflow = daily\ncron = * * * * *\n%s\n' "$1" "$P" >"$TMP/hist.conf"
	set +e
	"$MILKCAST" scheduler --config "$TMP/hist.conf" --once --now "@$(($(date +%s) / 60 * 60 - 300))" 2>/dev/null
	set -e
}
# wait_for FILE TEXT: up to 30 s.
wait_for() {
	for _ in $(seq 300); do grep -qF -- "$2" "$1" && return; sleep 0.1; done
	cat "$1"
	fail "no '$2' in $1"
}
daemon() { # CONFIG GRACE LOG
	"$MILKCAST" scheduler --config "$1" --grace "$2" 2>"$3" &
	DPID=$!
	PIDS+=("$DPID")
}
stop() { # LOG: SIGTERM, exit 0
	kill -TERM "$DPID"
	set +e
	wait "$DPID"
	local rc=$?
	set -e
	[ "$rc" -eq 0 ] || { cat "$1"; fail "the scheduler exited $rc after SIGTERM"; }
}

# A short run is waited for: its catch-up fire starts at once, SIGTERM lands while it runs.
history short
printf '[short]\nflow = daily\ncron = * * * * *\n%s\n' "$P" >"$TMP/short.conf"
daemon "$TMP/short.conf" 30 "$TMP/short.err"
wait_for "$TMP/short.err" "run_started schedule=short"
stop "$TMP/short.err"
assert_has "$TMP/short.err" "shutting_down signal=SIGTERM"
assert_has "$TMP/short.err" "run_ended schedule=short"
assert_lacks "$TMP/short.err" " cancel "
assert_has "$TMP/short.err" "stopped"
pass "SIGTERM waits for a running flow"

# A long run (training with many trials) is cancelled after the grace.
history long
printf 'catch_up = latest\n[long]\nflow = train\ncron = * * * * *\nparams = trials=500 until=2024-12-31 notify=false\n' >"$TMP/long.conf"
daemon "$TMP/long.conf" 1 "$TMP/long.err"
wait_for "$TMP/long.err" "run_started schedule=long flow=train"
RUN=$(sed -n 's/.*run_started schedule=long .* run=\([0-9a-f]*\) .*/\1/p' "$TMP/long.err")
for _ in $(seq 100); do [ "$(q "select state from flow_runs where id = '$RUN'")" = Running ] && break; sleep 0.1; done
assert_eq "$(q "select state from flow_runs where id = '$RUN'")" Running "the train run"
once "$TMP/mon.conf" 2025-03-05T13:00 1
assert_has "$TMP/err" "another scheduler is running on '$MILKCAST_HOME' (pid $DPID)"
cp "$TMP/long.conf" "$TMP/long.good"
echo "[long]" >"$TMP/long.conf"
kill -HUP "$DPID"
wait_for "$TMP/long.err" "reload_failed error=\"$TMP/long.conf:1: schedule [long] has no 'cron'\""
cp "$TMP/long.good" "$TMP/long.conf"
kill -HUP "$DPID"
wait_for "$TMP/long.err" "reloaded config=$TMP/long.conf schedules=1"
stop "$TMP/long.err"
assert_has "$TMP/long.err" "cancel schedule=long run=$RUN"
assert_has "$TMP/long.err" "run_ended schedule=long flow=train"
assert_eq "$(q "select state from flow_runs where id = '$RUN'")" Cancelled "the cancelled run"
assert_eq "$(q "select count(*) from flow_runs where state in ('Scheduled', 'Pending', 'Running')")" 0 "runs left unfinished"
assert_eq "$(q "select count(*) from task_runs where state in ('Pending', 'Running', 'Retrying')")" 0 "tasks left unfinished"
pass "SIGHUP reloads (a bad config is kept out); SIGTERM cancels a long run after the grace; exit 0"

# ---- the systemd unit ----
UNIT="$MC_SRC/deploy/systemd/milkcast-scheduler.service"
for line in Type=simple "ExecStart=/usr/local/bin/milkcast scheduler" Environment=MILKCAST_HOME=/var/lib/milkcast \
	EnvironmentFile=-/etc/milkcast/env KillSignal=SIGTERM KillMode=mixed Restart=on-failure User=milkcast \
	NoNewPrivileges=yes ProtectSystem=strict ReadWritePaths=/var/lib/milkcast PrivateTmp=yes; do
	grep -qxF -- "$line" "$UNIT" || fail "the unit has no '$line'"
done
stop_s=$(sed -n 's/^TimeoutStopSec=//p' "$UNIT")
[ "$stop_s" -gt $((30 + 15)) ] || fail "TimeoutStopSec=$stop_s is not above the grace (30 s) and the cancel wait (15 s)"
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$TMP/unit"
	sed "s#/usr/local/bin/milkcast#$MILKCAST#" "$UNIT" >"$TMP/unit/milkcast-scheduler.service"
	systemd-analyze verify "$TMP/unit/milkcast-scheduler.service" >"$TMP/verify" 2>&1 ||
		{ cat "$TMP/verify"; fail "systemd-analyze verify"; }
	pass "systemd unit: verified"
else
	echo "skip: systemd-analyze is not installed; the unit's directives were checked, not verified"
fi

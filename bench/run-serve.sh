#!/usr/bin/env bash
# bench/serve: `milkcast serve` next to the Python peer (bench/serve_peer.py:
# the original system's handler in Flask under gunicorn), both answering the
# original request form on POST /v1/predict with the same body.
#
#   throughput   wrk -t2 -c16 -d10s --latency, ROUNDS rounds (default 3) with
#                the sides alternating; each side keeps its best req/s
#   latency      bench_serve_load (open loop, latency from each request's
#                scheduled time): milkcast at RATE (1000) req/s, the peer at
#                PEER_RATE (default: a quarter of its best wrk throughput),
#                DURATION (10) s after 1 s of warm-up
#   memory       VmRSS and VmHWM from /proc/PID/status after those runs
#   cold start   exec to the first answered POST /v1/predict, COLD_RUNS (10)
#                starts each, median
#
# Targets (issue 5): >= 50x the peer's req/s; p99 < 2 ms at 1,000 req/s;
# cold start < 50 ms; resident memory < 30 MB.
#
# Every server listens on 127.0.0.1, is started in the background and
# stopped by its PID; the scratch directory goes on exit.  Skips (exit 0)
# when wrk, curl, gunicorn, Flask or XGBoost for Python are missing.
#
# usage: bench/run-serve.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
RATE=${RATE:-1000}
COLD_RUNS=${COLD_RUNS:-10}
PY=/usr/bin/python3
GUNICORN=/usr/bin/gunicorn
# The peer's gunicorn: 2 sync workers for the 2 cores, one OpenMP thread
# each (XGBoost's default fans a one-row prediction out to every core).
# Sync was the fastest of the configurations tried (docs/benchmarks.md).
PEER_GUNICORN=${PEER_GUNICORN:--w 2 -k sync}
# milkcast: 2 polling threads; the prediction log on (the default) and the
# access log to a file, as deployed.
MC_SERVE_ARGS=${MC_SERVE_ARGS:---threads 2}
WB=data/sniim/raw/Leche31032025.xlsx

skip() {
	echo "skip: $*"
	exit 0
}
command -v wrk >/dev/null || skip "wrk is not installed (Debian package wrk)"
command -v curl >/dev/null || skip "curl is not installed"
[ -x "$GUNICORN" ] || skip "$GUNICORN is not installed (Debian package gunicorn)"
"$PY" -c 'import flask, xgboost, numpy, pandas' 2>/dev/null ||
	skip "python3-flask, python3-xgboost or python3-pandas is not installed"
for f in milkcast bench_serve_load; do
	[ -x "$BUILD/$f" ] || {
		echo "bench/run-serve.sh: $BUILD/$f is missing: build first" >&2
		exit 1
	}
done
MC=$(cd "$BUILD" && pwd)/milkcast
LOAD=$(cd "$BUILD" && pwd)/bench_serve_load

W=$(mktemp -d /tmp/mc-bench-serve-XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_ready PID PORT: until POST /v1/predict answers 200 (30 s at most).
wait_ready() {
	for _ in $(seq 600); do
		if [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
			--data-binary @"$BODY" "http://127.0.0.1:$2/v1/predict")" = 200 ]; then
			return 0
		fi
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	echo "bench/run-serve.sh: the server on port $2 did not answer" >&2
	exit 1
}
# stop PID: SIGTERM, wait for it, forget it.
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	local keep=() p
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]+"${keep[@]}"}")
}

# ---- setup: a workspace with a champion, the peer's model, the request ----
export MILKCAST_HOME=$W/home
"$MC" -q ingest "$WB"
"$MC" -q train --trials 5
"$MC" -q lake export --output "$W/lake.csv"
peer_train=$(OMP_NUM_THREADS=2 "$PY" bench/serve_peer.py train "$W/lake.csv" "$W/peer")
# The original system's request: a series and the day after the data ends
# (the latest data are of 2025-03-31, a Monday; 2025-04-02 is the next
# publication, a Wednesday: dia_semana 2 as pandas' dayofweek).
BODY=$W/body.json
printf '%s' '{"Estado":"Jalisco","Ciudad":"Guadalajara","Tipo":"Pasteurizada","Canal":"Autoservicio","día":2,"mes":4,"año":2025,"dia_semana":2,"Precio_lag1":26.0,"Precio_mean7":26.1}' >"$BODY"
read -r -a peer_args <<<"$PEER_GUNICORN"
read -r -a mc_args <<<"$MC_SERVE_ARGS"
PEER_CMD=("$GUNICORN" --chdir "$PWD/bench" "${peer_args[@]}" --log-level warning serve_peer:app)
export MC_PEER_MODEL=$W/peer OMP_NUM_THREADS=1

start_mc() {
	MC_PORT=$(free_port)
	"$MC" serve --listen "127.0.0.1:$MC_PORT" "${mc_args[@]}" --access-log "$W/access.log" \
		2>"$W/serve.err" &
	MC_PID=$!
	PIDS+=("$MC_PID")
	wait_ready "$MC_PID" "$MC_PORT"
}
start_peer() {
	PEER_PORT=$(free_port)
	"${PEER_CMD[@]}" -b "127.0.0.1:$PEER_PORT" 2>"$W/peer.err" &
	PEER_PID=$!
	PIDS+=("$PEER_PID")
	wait_ready "$PEER_PID" "$PEER_PORT"
}

echo "machine: $(getconf _NPROCESSORS_ONLN) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
start_mc
start_peer
echo "answers to the same body: milkcast $(curl -s -X POST --data-binary @"$BODY" "http://127.0.0.1:$MC_PORT/v1/predict"), peer $(curl -s -X POST --data-binary @"$BODY" "http://127.0.0.1:$PEER_PORT/v1/predict")"
echo "peer: $PEER_GUNICORN, OMP_NUM_THREADS=1; its model: $peer_train"
echo "milkcast: serve $MC_SERVE_ARGS, access log to a file, prediction log $(case " $MC_SERVE_ARGS " in *" --no-prediction-log "*) echo off ;; *) echo on ;; esac)"

# ---- throughput: wrk, the sides alternating ----
# The servers' CPU time per request (user + system, from /proc/PID/stat, of
# the server's processes) is printed too: unlike req/s it hardly depends on
# what else runs on the two cores.
ms() { awk '{v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v); print (u=="us" ? v/1000 : u=="s" ? v*1000 : v)}'; }
cpu_ticks() {
	local p t=0
	for p in "$@"; do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo "$t"
}
HZ=$(getconf CLK_TCK)
# wrk_run PORT PID...: one run; prints "REQ_PER_S P50_MS P99_MS ERRORS CPU_US_PER_REQUEST".
wrk_run() {
	local port=$1 out c0 c1
	shift
	c0=$(cpu_ticks "$@")
	out=$(wrk -t2 -c16 -d"${DURATION}s" --latency -s bench/serve_post.lua \
		"http://127.0.0.1:$port/v1/predict" -- "$BODY")
	c1=$(cpu_ticks "$@")
	printf '%s\n' "$out" >>"$W/wrk.log"
	local rps p50 p99 errs n
	rps=$(printf '%s\n' "$out" | awk '$1=="Requests/sec:"{print $2}')
	n=$(printf '%s\n' "$out" | awk '$2=="requests"{print $1}')
	p50=$(printf '%s\n' "$out" | awk '$1=="50%"' | ms)
	p99=$(printf '%s\n' "$out" | awk '$1=="99%"' | ms)
	errs=$(printf '%s\n' "$out" | awk '/Non-2xx/{n+=$NF} /Socket errors/{gsub(/,/, ""); n+=$4+$6+$8+$10} END{print n+0}')
	echo "$rps $p50 $p99 $errs $(awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.1f", 1e6 * t / hz / n }')"
}
peer_pids() { echo "$PEER_PID $(pgrep -P "$PEER_PID" | tr '\n' ' ')"; }
mc_runs="" py_runs=""
for r in $(seq "$ROUNDS"); do
	for side in $([ $((r % 2)) -eq 1 ] && echo "mc py" || echo "py mc"); do
		if [ "$side" = mc ]; then
			res=$(wrk_run "$MC_PORT" "$MC_PID")
			mc_runs+="$res"$'\n'
			echo "$r $res" | awk -v l="$(cut -d' ' -f1 /proc/loadavg)" '{printf "round %s milkcast: %.0f req/s, p50 %.3f ms, p99 %.3f ms, errors %d, server CPU %.1f us/request (load %s)\n", $1, $2, $3, $4, $5, $6, l}'
		else
			# shellcheck disable=SC2046 # one PID a word
			res=$(wrk_run "$PEER_PORT" $(peer_pids))
			py_runs+="$res"$'\n'
			echo "$r $res" | awk -v l="$(cut -d' ' -f1 /proc/loadavg)" '{printf "round %s peer:     %.0f req/s, p50 %.3f ms, p99 %.3f ms, errors %d, server CPU %.1f us/request (load %s)\n", $1, $2, $3, $4, $5, $6, l}'
		fi
	done
done
best() { printf '%s' "$1" | sort -g -k1 | tail -1; }
mc_best=$(best "$mc_runs")
py_best=$(best "$py_runs")
read -r mc_rps mc_p50 mc_p99 _ _ <<<"$mc_best"
read -r py_rps py_p50 py_p99 _ _ <<<"$py_best"
mean_cpu() { printf '%s' "$1" | awk '{s += $5; n++} END{printf "%.1f", s / n}'; }
mc_cpu=$(mean_cpu "$mc_runs")
py_cpu=$(mean_cpu "$py_runs")
printf 'milkcast serve: %.0f req/s (best of %d), p50 %.3f ms, p99 %.3f ms\n' "$mc_rps" "$ROUNDS" "$mc_p50" "$mc_p99"
printf 'python peer:    %.0f req/s (best of %d), p50 %.3f ms, p99 %.3f ms\n' "$py_rps" "$ROUNDS" "$py_p50" "$py_p99"
awk -v c="$mc_rps" -v p="$py_rps" 'BEGIN { r = c / p; printf "ratio milkcast/peer (req/s, wrk -t2 -c16 -d'"$DURATION"'s): %.1fx (target >= 50x): %s\n", r, (r >= 50 ? "met" : "NOT met") }'
awk -v c="$mc_cpu" -v p="$py_cpu" 'BEGIN { printf "server CPU per request (mean of the rounds): milkcast %.1f us, peer %.1f us: %.1fx less\n", c, p, p / c }'

# For context: what the two logs cost.  One more wrk run against a second
# milkcast without the prediction log and with the access log to /dev/null
# (there is no switch to turn it off: its lines are still formatted).
if [ "${LEAN:-1}" = 1 ]; then
	lean_port=$(free_port)
	"$MC" serve --listen "127.0.0.1:$lean_port" "${mc_args[@]}" --no-prediction-log \
		--access-log /dev/null 2>"$W/lean.err" &
	lean_pid=$!
	PIDS+=("$lean_pid")
	wait_ready "$lean_pid" "$lean_port"
	wrk_run "$lean_port" "$lean_pid" | awk '{printf "milkcast without the prediction log, access log to /dev/null (one run): %.0f req/s, p50 %.3f ms, p99 %.3f ms, errors %d, server CPU %.1f us/request\n", $1, $2, $3, $4, $5}'
	stop "$lean_pid"
fi

# ---- latency at a fixed rate ----
echo "-- milkcast at $RATE req/s (bench_serve_load, 16 connections; load $(cut -d' ' -f1 /proc/loadavg))"
"$LOAD" rate "127.0.0.1:$MC_PORT" /v1/predict "$BODY" "$RATE" "$DURATION" 16 1 | tee "$W/mc-load.txt" || true
p99=$(awk '$1=="load_latency_ms"{print $7}' "$W/mc-load.txt")
awk -v p="${p99:-999}" -v r="$RATE" 'BEGIN { printf "milkcast p99 at %d req/s: %.3f ms (target < 2 ms): %s\n", r, p, (p < 2 ? "met" : "NOT met") }'
peer_rate=${PEER_RATE:-$(awk -v r="$py_rps" 'BEGIN { x = int(r / 4 / 10) * 10; print (x < 10 ? 10 : x) }')}
echo "-- python peer at $peer_rate req/s (a quarter of its best throughput)"
"$LOAD" rate "127.0.0.1:$PEER_PORT" /v1/predict "$BODY" "$peer_rate" "$DURATION" 16 1 || true

# ---- resident memory, after the runs ----
mem() { awk '$1=="VmRSS:"{r=$2} $1=="VmHWM:"{h=$2} END{printf "%.1f %.1f", r/1024, h/1024}' "/proc/$1/status"; }
read -r mc_rss mc_hwm <<<"$(mem "$MC_PID")"
printf 'milkcast memory: VmRSS %.1f MB, VmHWM %.1f MB (target < 30 MB): %s\n' "$mc_rss" "$mc_hwm" \
	"$(awk -v h="$mc_hwm" 'BEGIN { print (h < 30 ? "met" : "NOT met") }')"
peer_procs="$PEER_PID $(pgrep -P "$PEER_PID" | tr '\n' ' ')"
rss=0 hwm=0 pss=0 each=""
for p in $peer_procs; do
	read -r r h <<<"$(mem "$p")"
	each+=" $r"
	rss=$(echo "$rss + $r" | bc)
	hwm=$(echo "$hwm + $h" | bc)
	pss=$(echo "$pss + $(awk '$1=="Pss:"{print $2/1024}' "/proc/$p/smaps_rollup")" | bc)
done
printf 'peer memory: VmRSS %.1f MB in all (master and workers:%s MB), VmHWM %.1f MB in all, PSS %.1f MB\n' \
	"$rss" "$each" "$hwm" "$pss"
stop "$MC_PID"
stop "$PEER_PID"

# ---- cold start ----
port=$(free_port)
echo "-- milkcast cold start: exec of 'milkcast serve' to the first 200 on POST /v1/predict (load $(cut -d' ' -f1 /proc/loadavg))"
"$LOAD" cold "127.0.0.1:$port" /v1/predict "$BODY" "$COLD_RUNS" \
	"$MC" serve --listen "127.0.0.1:$port" "${mc_args[@]}" --access-log /dev/null | tee "$W/cold.txt"
cold=$(awk '$2=="median"{print $3}' "$W/cold.txt")
awk -v c="$cold" 'BEGIN { printf "milkcast cold start median %.1f ms (target < 50 ms): %s\n", c, (c < 50 ? "met" : "NOT met") }'
# For context: the same with --no-lake (the panel from the bundle's snapshot
# only; the default also reads the whole lake to see whether it is newer).
port=$(free_port)
"$LOAD" cold "127.0.0.1:$port" /v1/predict "$BODY" "$COLD_RUNS" \
	"$MC" serve --listen "127.0.0.1:$port" "${mc_args[@]}" --no-lake --access-log /dev/null >"$W/cold-nolake.txt"
awk '$2=="median"{printf "milkcast --no-lake cold start: median %s ms, min %s, max %s\n", $3, $5, $7}' "$W/cold-nolake.txt"
port=$(free_port)
echo "-- python peer cold start: exec of gunicorn to the first 200"
"$LOAD" cold "127.0.0.1:$port" /v1/predict "$BODY" "$COLD_RUNS" "${PEER_CMD[@]}" -b "127.0.0.1:$port"
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"

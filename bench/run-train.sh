#!/usr/bin/env bash
# bench/train: `mc_train()` (25 trials of TPE, seed 42, 2 threads, horizons 6,
# data up to 2024-12-31) next to the same run in Python (pandas features,
# xgboost, optuna's TPE), printed as a ratio, with the share of the time
# spent inside XGBoost and whether 25 trials fit in 60 s on 2 cores.
#
# The headline compares milkcast's default strategy on both sides:
# recursive (a one-step model trained on h = 1 rows, run forward over a panel
# extended with its own forecasts for validation and test, per-horizon
# weights, fallback and conformal intervals, refit on every h = 1 row).  The
# direct strategy (one model over six horizons' rows) is compared too, on a
# second line.
#
# A recursive round is a run of each side (seconds each); ROUNDS (default 3)
# alternate which side goes first and each side keeps its best time, as in
# bench/run-ingest.sh.  Direct runs take about 20 s a side: DIRECT_ROUNDS
# (default 1) of them follow.  The workbook ingest and the CSV export for
# the peer are not timed.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
DIRECT_ROUNDS=${DIRECT_ROUNDS:-1}
TRIALS=${TRIALS:-25}
WB=data/sniim/raw/Leche31032025.xlsx
PY=/usr/bin/python3
field() { awk -v k="$1" '$1==k{print $2}'; }
min() { awk 'NR==1||$1<m{m=$1} END{print m}'; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# Other processes on the 2 cores make both sides slower, XGBoost's OpenMP
# threads much more so: say so next to the numbers.
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
	echo "warning: load average $load before the run: other processes share the cores"
fi

# rounds STRATEGY N: alternate the sides N times; sets c_s/py_s (one time a
# line) and c_last/py_last (the last round's output).
csv="$W/lake.csv" # written by the first milkcast run, read by every peer run
rounds() {
	local strategy=$1 n=$2 r side
	c_s="" py_s="" c_last="" py_last=""
	for r in $(seq "$n"); do
		# Alternate which side goes first, so neither always runs in the same
		# stretch of the VM's drift.  The first run of all is milkcast's,
		# which writes the CSV.
		for side in $([ $((r % 2)) -eq 1 ] && echo "c py" || echo "py c"); do
			if [ "$side" = c ]; then
				local out=-
				[ -e "$csv" ] || out=$csv
				c_last=$("$BUILD/bench_train" "$WB" "$W/c-$strategy$r" "$out" "$TRIALS" \
					"$strategy")
				rm -rf "$W/c-$strategy$r"
				c_s+="$(echo "$c_last" | field train_seconds)"$'\n'
			else
				py_last=$("$PY" bench/train_peer.py "$csv" "$W/py-$strategy$r" "$TRIALS" \
					--strategy "$strategy")
				rm -rf "$W/py-$strategy$r"
				py_s+="$(echo "$py_last" | field train_seconds)"$'\n'
			fi
		done
	done
}
phases() { awk '$1=="train_phases"{printf "features %s, search %s, evaluation %s, refit %s, write %s s", $3, $6, $9, $12, $15}'; }
times() { printf '%s' "$1" | paste -sd " "; }

rounds recursive "$ROUNDS"
rc_s=$c_s rpy_s=$py_s rc_last=$c_last rpy_last=$py_last
rounds direct "$DIRECT_ROUNDS"
dc_s=$c_s dpy_s=$py_s dc_last=$c_last dpy_last=$py_last

versions=$("$PY" -c 'import pandas, xgboost, optuna
print("pandas " + pandas.__version__ + ", xgboost " + xgboost.__version__ + ", optuna " + optuna.__version__)')
echo "-- milkcast (bench_train recursive, last round)"
echo "$rc_last"
echo "-- python peer (bench/train_peer.py --strategy recursive: $versions, last round)"
echo "$rpy_last"
echo "-- milkcast (bench_train direct, last round)"
echo "$dc_last"
echo "-- python peer (bench/train_peer.py --strategy direct, last round)"
echo "$dpy_last"
echo "--"
rc=$(printf '%s' "$rc_s" | min)
rpy=$(printf '%s' "$rpy_s" | min)
dc=$(printf '%s' "$dc_s" | min)
dpy=$(printf '%s' "$dpy_s" | min)
share=$(echo "$rc_last" | field train_xgboost_share)
py_share=$(echo "$rpy_last" | field train_xgboost_share)
printf 'milkcast (recursive): %d trials in %.2f s = %.3f s per trial (best of %d: %s s); last round %.0f%% inside XGBoost\n' \
	"$TRIALS" "$rc" "$(echo "$rc / $TRIALS" | bc -l)" "$ROUNDS" "$(times "$rc_s")" "$(echo "100 * $share" | bc -l)"
printf '  stages, last round: %s\n' "$(echo "$rc_last" | phases)"
printf 'python peer (recursive): %d trials in %.2f s = %.3f s per trial (best of %d: %s s); last round %.0f%% inside XGBoost\n' \
	"$TRIALS" "$rpy" "$(echo "$rpy / $TRIALS" | bc -l)" "$ROUNDS" "$(times "$rpy_s")" "$(echo "100 * $py_share" | bc -l)"
printf '  stages, last round: %s\n' "$(echo "$rpy_last" | phases)"
printf 'direct: milkcast %.2f s (best of %d: %s s), python peer %.2f s (best of %d: %s s)\n' \
	"$dc" "$DIRECT_ROUNDS" "$(times "$dc_s")" "$dpy" "$DIRECT_ROUNDS" "$(times "$dpy_s")"
awk -v c="$rc" -v p="$rpy" -v n="$TRIALS" \
	'BEGIN { printf "ratio python/milkcast (%d trials, recursive, end to end): %.1fx (target >= 3x)\n", n, p / c }'
awk -v c="$dc" -v p="$dpy" -v n="$TRIALS" \
	'BEGIN { printf "ratio python/milkcast (%d trials, direct, end to end): %.1fx\n", n, p / c }'
awk -v s="$share" 'BEGIN { printf "milkcast XGBoost share (recursive): %.0f%% (thread-s in XGBoost / (2 workers x search + serial rest); target >= 80%%): %s\n",
	100 * s, (s >= 0.8 ? "met" : "NOT met") }'
awk -v c="$rc" -v n="$TRIALS" 'BEGIN { printf "milkcast %d trials under 60 s on 2 cores (recursive): %s (%.1f s)\n",
	n, (c < 60 ? "yes" : "NO"), c }'
printf 'best validation RMSE (recursive, h = 1 rows): milkcast %s, python peer %s\n' \
	"$(echo "$rc_last" | field train_best_valid_rmse)" "$(echo "$rpy_last" | field train_best_valid_rmse)"
printf 'test RMSE (recursive, bundle/last value), milkcast:   %s\n' \
	"$(echo "$rc_last" | awk '$1=="train_test_rmse"{$1=""; sub(/ \(bundle.*/, ""); print substr($0, 2)}')"
printf 'test RMSE (recursive, bundle/last value), python peer: %s\n' \
	"$(echo "$rpy_last" | awk '$1=="train_test_rmse"{$1=""; sub(/ \(bundle.*/, ""); print substr($0, 2)}')"

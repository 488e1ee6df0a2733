#!/usr/bin/env bash
# bench/train: `mc_train()` (25 trials of TPE, seed 42, 2 threads, horizons 6,
# data up to 2024-12-31) next to the same run in Python (pandas features,
# xgboost, optuna's TPE), printed as a ratio, with the share of the time
# spent inside XGBoost and whether 25 trials fit in 60 s on 2 cores.
#
# Both sides train the direct strategy (one model for all horizons), the one
# the peer implements; milkcast's default strategy (recursive, a one-step
# model trained on h = 1 rows only) is timed once at the end for reference.
#
# One round is a run of each side (about a minute or two each); with
# ROUNDS > 1 the sides alternate and each keeps its best time, as in
# bench/run-ingest.sh.  The workbook ingest and the CSV export for the peer
# are not timed.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROUNDS=${ROUNDS:-1}
TRIALS=${TRIALS:-25}
WB=data/sniim/raw/Leche31032025.xlsx
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

c_s="" py_s="" c_last="" py_last=""
for r in $(seq "$ROUNDS"); do
	mkdir "$W/c$r" "$W/py$r"
	csv="$W/lake.csv"
	[ "$r" -eq 1 ] || csv=-
	# Alternate which side goes first, so neither always runs in the same
	# stretch of the VM's drift.
	for side in $([ $((r % 2)) -eq 1 ] && echo "c py" || echo "py c"); do
		if [ "$side" = c ]; then
			c_last=$("$BUILD/bench_train" "$WB" "$W/c$r" "$csv" "$TRIALS")
			c_s+="$(echo "$c_last" | field train_seconds)"$'\n'
		else
			py_last=$(/usr/bin/python3 bench/train_peer.py "$W/lake.csv" "$W/py$r" "$TRIALS")
			py_s+="$(echo "$py_last" | field train_seconds)"$'\n'
		fi
	done
done

# For reference: milkcast's default strategy, which does different work.
rec=$("$BUILD/bench_train" "$WB" "$W/rec" - "$TRIALS" recursive)

echo "-- milkcast (bench_train, direct, last round)"
echo "$c_last"
echo "-- python peer (bench/train_peer.py: pandas $(/usr/bin/python3 -c \
	'import pandas, xgboost, optuna; print(pandas.__version__ + ", xgboost " + xgboost.__version__ + ", optuna " + optuna.__version__)'), last round)"
echo "$py_last"
echo "--"
c=$(printf '%s' "$c_s" | min)
py=$(printf '%s' "$py_s" | min)
share=$(echo "$c_last" | field train_xgboost_share)
py_share=$(echo "$py_last" | field train_xgboost_share)
printf 'milkcast: %d trials in %.2f s = %.3f s per trial (best of %d: %s s); last round %.0f%% inside XGBoost\n' \
	"$TRIALS" "$c" "$(echo "$c / $TRIALS" | bc -l)" "$ROUNDS" "$(printf "%s" "$c_s" | paste -sd " ")" \
	"$(echo "100 * $share" | bc -l)"
printf 'python peer: %d trials in %.2f s = %.3f s per trial (best of %d: %s s); last round %.0f%% inside XGBoost\n' \
	"$TRIALS" "$py" "$(echo "$py / $TRIALS" | bc -l)" "$ROUNDS" "$(printf "%s" "$py_s" | paste -sd " ")" \
	"$(echo "100 * $py_share" | bc -l)"
awk -v c="$c" -v p="$py" -v n="$TRIALS" \
	'BEGIN { printf "ratio python/milkcast (%d trials, end to end): %.1fx (target >= 3x)\n", n, p / c }'
awk -v s="$share" 'BEGIN { printf "milkcast XGBoost share: %.0f%% (thread-s in XGBoost / (2 workers x search + serial rest); target >= 80%%): %s\n",
	100 * s, (s >= 0.8 ? "met" : "NOT met") }'
awk -v c="$c" -v n="$TRIALS" 'BEGIN { printf "milkcast %d trials under 60 s on 2 cores: %s (%.1f s)\n",
	n, (c < 60 ? "yes" : "NO"), c }'
printf 'best validation RMSE: milkcast %s, python peer %s\n' \
	"$(echo "$c_last" | field train_best_valid_rmse)" "$(echo "$py_last" | field train_best_valid_rmse)"
printf 'for reference, milkcast default (recursive, %s training rows): %d trials in %.2f s, %.0f%% inside XGBoost (not compared with the peer)\n' \
	"$(echo "$rec" | awk '$1=="train_rows"{print $3}')" "$TRIALS" "$(echo "$rec" | field train_seconds)" \
	"$(echo "$rec" | awk '$1=="train_xgboost_share"{print 100 * $2}')"

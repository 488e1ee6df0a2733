#!/usr/bin/env bash
# bench/ingest: milkcast's workbook ingest and Parquet I/O next to the Python
# peer (openpyxl + pandas), printed as a ratio.
#
# This VM's speed drifts by tens of percent from minute to minute, so the two
# sides are measured in alternating rounds and each side keeps its best
# time: both best times then come from the same stretch of the run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
WB=data/sniim/raw/Leche31032025.xlsx
field() { awk -v k="$1" '$1==k{print $2}'; }
min() { awk 'NR==1||$1<m{m=$1} END{print m}'; }
now() { date +%s.%N; }
# Every workspace stays until the end: deleting files just before the next
# run makes ext4 skip the freed inodes when it allocates (see bench/ingest.c).
MC_BENCH_DIR=$(mktemp -d)
export MC_BENCH_DIR
trap 'rm -rf "$MC_BENCH_DIR"' EXIT

c_in="" py_in="" c_proc="" py_proc="" c_last=""
for _ in $(seq "$ROUNDS"); do
	# In process: mc_ingest into a fresh workspace (store already open).
	c_last=$("$BUILD/bench_ingest" "$WB" data/sniim 10)
	c_in+="$(echo "$c_last" | field ingest_seconds)"$'\n'
	py_in+="$(/usr/bin/python3 bench/ingest_peer.py "$WB" 1 | field ingest_seconds)"$'\n'
	# Whole processes, start-up included: 'milkcast ingest' into a new
	# workspace (creating milkcast.db) against 'python3 ingest_peer.py'.
	for _ in 1 2 3; do
		h=$(mktemp -d -p "$MC_BENCH_DIR"); s=$(now)
		"$BUILD/milkcast" -q --home "$h" ingest "$WB"
		e=$(now); c_proc+="$(echo "$e - $s" | bc)"$'\n'
	done
	s=$(now); /usr/bin/python3 bench/ingest_peer.py "$WB" 1 >/dev/null; e=$(now)
	py_proc+="$(echo "$e - $s" | bc)"$'\n'
done

rows=$(echo "$c_last" | awk '$1=="ingest_rows_per_s"{print $4}' | tr -d '(')
c_s=$(printf '%s' "$c_in" | min)
py_s=$(printf '%s' "$py_in" | min)
echo "$c_last" | grep -E '^parquet_(read|write)'
printf 'milkcast ingest: %.4f s = %.0f rows/s (%s rows, best of %d)\n' "$c_s" \
	"$(echo "$rows / $c_s" | bc -l)" "$rows" $((ROUNDS * 10))
printf 'python peer ingest: %.4f s = %.0f rows/s (best of %d)\n' "$py_s" \
	"$(echo "$rows / $py_s" | bc -l)" "$ROUNDS"
awk -v c="$c_s" -v p="$py_s" \
	'BEGIN { printf "ratio python/milkcast (workbook to lake, in process): %.1fx (target >= 20x)\n", p / c }'
c_w=$(printf '%s' "$c_proc" | min)
py_w=$(printf '%s' "$py_proc" | min)
printf 'process: milkcast ingest %.4f s, python peer %.4f s\n' "$c_w" "$py_w"
awk -v c="$c_w" -v p="$py_w" 'BEGIN { printf "ratio python/milkcast (whole process): %.1fx\n", p / c }'

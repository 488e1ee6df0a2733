#!/usr/bin/env bash
# bench/ingest: milkcast's workbook ingest and Parquet I/O next to the Python peer, as a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
WB=data/sniim/raw/Leche31032025.xlsx
c_out=$("$BUILD/bench_ingest" "$WB" data/sniim 5)
echo "$c_out"
py_out=$(/usr/bin/python3 bench/ingest_peer.py "$WB" 3)
echo "python_peer_$py_out"
c_s=$(echo "$c_out" | awk '$1=="ingest_seconds"{print $2}')
py_s=$(echo "$py_out" | awk '$1=="ingest_seconds"{print $2}')
awk -v c="$c_s" -v p="$py_s" 'BEGIN { printf "ratio python/milkcast (workbook to lake, in process): %.1fx (target >= 20x)\n", p / c }'

# Whole processes, start-up included: 'milkcast ingest' into a new workspace
# (creating milkcast.db) against 'python3 ingest_peer.py' with one repeat.
best() { sort -n | head -1; }
c_wall=$(for i in 1 2 3 4 5; do
	h=$(mktemp -d); s=$(date +%s.%N)
	"$BUILD/milkcast" -q --home "$h" ingest "$WB"
	e=$(date +%s.%N); rm -rf "$h"; echo "$e - $s" | bc; done | best)
py_wall=$(for i in 1 2 3; do
	s=$(date +%s.%N); /usr/bin/python3 bench/ingest_peer.py "$WB" 1 >/dev/null
	e=$(date +%s.%N); echo "$e - $s" | bc; done | best)
echo "process milkcast ingest: ${c_wall} s, python peer process: ${py_wall} s"
awk -v c="$c_wall" -v p="$py_wall" 'BEGIN { printf "ratio python/milkcast (whole process): %.1fx\n", p / c }'

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
awk -v c="$c_s" -v p="$py_s" 'BEGIN { printf "ratio python/milkcast (workbook to lake): %.1fx (target >= 20x)\n", p / c }'

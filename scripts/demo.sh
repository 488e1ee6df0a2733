#!/usr/bin/env bash
# The main job end to end on the shipped data, with embedded defaults.
# Today: ingest the SNIIM workbook into the Parquet lake, then summarise it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/milkcast}
export MILKCAST_HOME=${MILKCAST_HOME:-$PWD/milkcast-home}

echo "== milkcast demo: workspace $MILKCAST_HOME"
echo
echo "== 1. ingest the SNIIM workbook of 31 March 2025 (184 publications)"
"$BIN" ingest data/sniim/raw/Leche31032025.xlsx
echo
echo "== 2. ingest the same prices as published monthly Parquet files (nothing new: idempotent)"
"$BIN" ingest data/sniim/
echo
echo "== 3. the lake"
"$BIN" lake ls
echo
echo "== 4. series summary (first rows)"
"$BIN" lake stats | head -12
"$BIN" lake stats | tail -1
mkdir -p "$MILKCAST_HOME/reports"
"$BIN" lake stats --json > "$MILKCAST_HOME/reports/lake-stats.json"
"$BIN" -q lake export --format csv -o "$MILKCAST_HOME/reports/prices.csv"
echo
echo "== where to look"
echo "  lake (Parquet, month partitions):  $MILKCAST_HOME/lake/prices/"
echo "  all prices as CSV:                 $MILKCAST_HOME/reports/prices.csv"
echo "  per-series summary (JSON):         $MILKCAST_HOME/reports/lake-stats.json"
echo "  ingest manifest, quarantine:       $MILKCAST_HOME/milkcast.db ('milkcast lake quarantine')"
echo "  user guide:                        docs/user-guide.md"

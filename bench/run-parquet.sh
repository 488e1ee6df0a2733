#!/usr/bin/env bash
# Parquet writer and reader throughput per codec on a 2-million-row table
# shaped like SNIIM's (MB/s of in-memory table bytes). Debian 12 ships no
# Parquet library for Python (no pyarrow, no fastparquet), so there is no
# Python peer to print next to it; bench/run-ingest.sh has the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
"${1:-build}/bench_parquet_rw"

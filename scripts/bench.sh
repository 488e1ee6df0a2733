#!/usr/bin/env bash
# Run every benchmark under bench/ next to its Python peer; print ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
for b in bench/run-*.sh; do
	[ -e "$b" ] || continue
	echo "== $b"
	bash "$b" "$BUILD"
done

#!/usr/bin/env bash
# Install every Debian package (and the npm test oracle) that build, tests
# and benchmarks use.  Idempotent; prints nothing when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# build and library dependencies
PKGS=(build-essential cmake pkg-config git
      libzip-dev libxml2-dev libzstd-dev libsnappy-dev libsqlite3-dev
      libjansson-dev libcurl4-openssl-dev libmicrohttpd-dev libxgboost-dev
      libcmocka-dev tzdata patchelf
# tests and benchmarks: oracles and peers, never part of milkcast itself
      python3 python3-pandas python3-openpyxl python3-xgboost python3-optuna python3-scipy sqlite3 zip unzip curl bc
      prometheus wrk python3-flask gunicorn
      clang-format cppcheck clang-tidy shellcheck python3-yaml)
# Node.js for the DuckDB oracle; the machine image may ship its own.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "install-deps: installing ${missing[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# DuckDB (npm @duckdb/node-api) reads our Parquet independently in tests.
if [ ! -d tests/oracle/node_modules/@duckdb/node-api ]; then
	echo "install-deps: installing the DuckDB test oracle (npm)"
	(cd tests/oracle && npm install --no-audit --no-fund --silent >/dev/null)
fi

#!/usr/bin/env bash
# Lint: clang-format check and cppcheck over the C sources.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
files=$(git ls-files '*.c' '*.h')
status=0
echo "== clang-format"
clang-format --dry-run --Werror $files || status=1
echo "== cppcheck"
cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
	--inline-suppr --suppress=missingIncludeSystem -I include -I src $files || status=1
exit $status

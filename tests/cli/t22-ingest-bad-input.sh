#!/usr/bin/env bash
# Bad inputs: a clear error naming the file, exit 1, and the lake exactly as it was.
. "$(dirname "$0")/lib.sh"
DATA="$MC_SRC/data/sniim"
WB="$DATA/raw/Leche31032025.xlsx"

"$MILKCAST" -q ingest "$DATA/2024-01-data.parquet"
before=$(lake_state)

check_rejected() { # NAME FILE EXPECTED-MESSAGE-SUBSTRING
	expect_exit 1 "$MILKCAST" ingest "$2"
	assert_contains "$TMP/err" "$3"
	assert_eq "$(lake_state)" "$before" "lake after $1"
	[ -z "$(find "$MILKCAST_HOME" -name '*.tmp.*')" ] || fail "temp files left after $1"
	pass "$1 rejected"
}

: > "$TMP/empty.xlsx"
check_rejected "empty file" "$TMP/empty.xlsx" "empty.xlsx"
printf 'this is not a workbook\n' > "$TMP/text.xlsx"
check_rejected "not a zip" "$TMP/text.xlsx" "text.xlsx"
head -c 20000 "$WB" > "$TMP/truncated.xlsx"
check_rejected "truncated workbook" "$TMP/truncated.xlsx" "truncated.xlsx"
head -c 3000 "$DATA/2024-02-data.parquet" > "$TMP/truncated.parquet"
check_rejected "truncated Parquet" "$TMP/truncated.parquet" "truncated.parquet"
printf 'PAR1garbagePAR1' > "$TMP/garbage.parquet"
check_rejected "corrupt Parquet" "$TMP/garbage.parquet" "garbage.parquet"
mkdir -p "$TMP/nodata" && echo hi > "$TMP/nodata/readme.txt"
check_rejected "directory with no data" "$TMP/nodata" "no .xlsx or .parquet files"
check_rejected "missing file" "$TMP/nope.xlsx" "nope.xlsx"

# A workbook with the wrong layout: the date row of the newest block says something else.
$PY - "$WB" "$TMP/layout.xlsx" <<'PY'
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1]); ws = wb.worksheets[0]
for row in ws.iter_rows(min_row=1, max_row=10):
    for c in row:
        if isinstance(c.value, str) and c.value.strip().startswith("31 de marzo"):
            c.value = "fecha desconocida"
            wb.save(sys.argv[2]); sys.exit(0)
sys.exit("date row not found")
PY
check_rejected "wrong layout" "$TMP/layout.xlsx" "layout.xlsx"
grep -q "row" "$TMP/err" || fail "layout error does not name the row: $(cat "$TMP/err")"

# A Parquet file without the expected columns.
node "$MC_SRC/tests/oracle/duck.mjs" "COPY (SELECT 1 AS a, 'x' AS b) TO '$TMP/othercols.parquet' (FORMAT parquet)" >/dev/null
check_rejected "Parquet with other columns" "$TMP/othercols.parquet" "no column Fecha"

# One bad file among good ones: nothing is written.
expect_exit 1 "$MILKCAST" ingest "$DATA/2024-03-data.parquet" "$TMP/truncated.parquet"
assert_eq "$(lake_state)" "$before" "lake after a mixed batch"
pass "a mixed batch writes nothing"

# Usage errors exit 2.
expect_exit 2 "$MILKCAST" ingest
expect_exit 2 "$MILKCAST" ingest --bogus x
expect_exit 2 "$MILKCAST" nosuchcommand
pass "usage errors"

#!/usr/bin/env bash
# A changed past value is recorded, not silently overwritten; bad rows go to quarantine with a reason.
. "$(dirname "$0")/lib.sh"
DATA="$MC_SRC/data/sniim"
DUCK="node $MC_SRC/tests/oracle/duck.mjs"

"$MILKCAST" -q ingest "$DATA/2025-03-data.parquet"

# 1. A revised workbook: SNIIM corrects Mexicali's price on 2025-03-31 (a past value).
$PY - "$DATA/raw/Leche31032025.xlsx" "$TMP/revised.xlsx" <<'PY'
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb.worksheets[0]
for row in ws.iter_rows(min_row=1, max_row=80):
    if row[1].value == "Mexicali":
        row[2].value = 99.5      # pasteurizada, tiendas
        break
else:
    sys.exit("Mexicali not found")
wb.save(sys.argv[2])
PY
old=$("$MILKCAST" lake export --from 2025-03-31 --to 2025-03-31 -o - | grep ',Mexicali,pasteurizada,tiendas,' | cut -d, -f7)
[ -n "$old" ] || fail "no Mexicali row before the revision"
expect_exit 0 "$MILKCAST" --json ingest "$TMP/revised.xlsx"
assert_eq "$(json_get "$TMP/out" "j['rows_changed']")" 1 "revisions"
now=$("$MILKCAST" lake export --from 2025-03-31 --to 2025-03-31 -o - | grep ',Mexicali,pasteurizada,tiendas,' | cut -d, -f7)
assert_eq "$now" "$old" "value kept without --apply-revisions"
expect_exit 0 "$MILKCAST" --json lake revisions
assert_eq "$(json_get "$TMP/out" "j[0]['new_price']")" 99.5 "recorded new value"
assert_eq "$(json_get "$TMP/out" "j[0]['applied']")" 0 "recorded as not applied"
pass "revision recorded, lake value kept"

expect_exit 0 "$MILKCAST" --json ingest --apply-revisions "$TMP/revised.xlsx"
now=$("$MILKCAST" lake export --from 2025-03-31 --to 2025-03-31 -o - | grep ',Mexicali,pasteurizada,tiendas,' | cut -d, -f7)
assert_eq "$now" "99.5" "value after --apply-revisions"
rows=$("$MILKCAST" lake export --from 2025-03-31 --to 2025-03-31 -o - | grep -c ',Mexicali,pasteurizada,tiendas,')
assert_eq "$rows" 1 "one row per series and date after a revision"
pass "revision applied on request"

# 2. Bad rows: unknown city, Saturday, implausible price, unknown channel, a duplicate.
$DUCK "COPY (SELECT Fecha, Estado, Ciudad, Tipo, Canal, Precio::DOUBLE AS Precio FROM (VALUES
  (TIMESTAMP '2025-03-28 00:00:00', 'Sonora', 'Atlantis', 'Pasteurizada', 'Tiendas', 25.0),
  (TIMESTAMP '2025-03-29 00:00:00', 'Sonora', 'Hermosillo', 'Pasteurizada', 'Tiendas', 25.0),
  (TIMESTAMP '2025-03-28 00:00:00', 'Sonora', 'Hermosillo', 'Pasteurizada', 'Tiendas', 250.0),
  (TIMESTAMP '2025-03-28 00:00:00', 'Sonora', 'Hermosillo', 'Pasteurizada', 'Mercado', 25.0),
  (TIMESTAMP '2025-04-02 00:00:00', 'Sonora', 'Hermosillo', 'Pasteurizada', 'Tiendas', 26.0),
  (TIMESTAMP '2025-04-02 00:00:00', 'Sonora ', 'Hermosillo', 'Pasteurizada', 'Tiendas', 26.5),
  (TIMESTAMP '2025-04-02 00:00:00', 'Sonora', 'Hermosillo', 'Ultrapasteurizada', 'Tiendas', 0.0)
) t(Fecha, Estado, Ciudad, Tipo, Canal, Precio)) TO '$TMP/bad-rows.parquet' (FORMAT parquet)" >/dev/null
expect_exit 0 "$MILKCAST" --json ingest --today 2025-04-02 "$TMP/bad-rows.parquet"
assert_eq "$(json_get "$TMP/out" "j['rows_quarantined']")" 5 "quarantined"
assert_eq "$(json_get "$TMP/out" "j['rows_added']")" 2 "added (one priced, one missing)"
assert_eq "$(json_get "$TMP/out" "j['rows_missing']")" 1 "missing (price 0)"
expect_exit 0 "$MILKCAST" --json lake quarantine
reasons=$(json_get "$TMP/out" "'\n'.join(sorted(r['position']+': '+r['reason'] for r in j))")
grep -q "row 1: unknown city for this state: state 'Sonora', city 'Atlantis'" <<<"$reasons" || fail "unknown city: $reasons"
grep -q "row 2: date 2025-03-29 is a Saturday, not a publication day" <<<"$reasons" || fail "saturday: $reasons"
grep -q "row 3: implausible price 250.00" <<<"$reasons" || fail "price: $reasons"
grep -q "row 4: unknown channel 'Mercado'" <<<"$reasons" || fail "channel: $reasons"
grep -q "row 6: duplicate of row 5" <<<"$reasons" || fail "duplicate: $reasons"
pass "bad rows quarantined with reasons"

# 3. A future date is quarantined against the real clock too.
$DUCK "COPY (SELECT TIMESTAMP '2099-01-02 00:00:00' Fecha, 'Sonora' Estado, 'Hermosillo' Ciudad, 'Pasteurizada' Tipo, 'Tiendas' Canal, 25.0::DOUBLE Precio) TO '$TMP/future.parquet' (FORMAT parquet)" >/dev/null
expect_exit 0 "$MILKCAST" --json ingest "$TMP/future.parquet"
assert_eq "$(json_get "$TMP/out" "j['rows_quarantined']")" 1 "future date quarantined"
pass "future date quarantined"

#!/usr/bin/env bash
# t15: Parquet interoperability with DuckDB (the oracle).  Every value of
# every SNIIM file as read by milkcast (bench_pqtool dump) equals DuckDB's
# reading; DuckDB reads what milkcast writes identically (values, types,
# nulls, REQUIRED/OPTIONAL, statistics); milkcast reads what DuckDB writes
# (zstd, snappy, uncompressed, PARQUET_VERSION V2) identically.
# Env: MC_BUILD_DIR (build tree with bench_pqtool), MC_SRC (repo).  Exit 77 = skipped.
set -euo pipefail
SRC=${MC_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MC_BUILD_DIR:-$SRC/build}
PQ=$BUILD/bench_pqtool
ORACLE=$SRC/tests/oracle
if ! command -v node >/dev/null 2>&1 || [ ! -d "$ORACLE/node_modules/@duckdb/node-api" ]; then
	echo "t15: skipped (no DuckDB oracle; run scripts/install-deps.sh)"
	exit 77
fi
if [ ! -x "$PQ" ]; then
	echo "t15: $PQ is not built" >&2
	exit 1
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$SRC"
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() {
	failed=$((failed + 1))
	echo "FAIL: $*" >&2
}

# DuckDB's canonical dump, same text as `pqtool dump`: a header of name:type,
# then one line per row, tab-separated; \N = null; floats %.9g / %.17g; dates
# as days and timestamps as integers in their unit; strings with \\ \t \n \r.
# Usage: duck_dump IN=OUT ...  (one node process for all files).
DUMP_JS=$(
	cat <<'EOF'
import { DuckDBInstance } from '@duckdb/node-api';
import { writeFileSync } from 'fs';
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const q = s => "'" + s.replaceAll("'", "''") + "'";
const id = s => '"' + s.replaceAll('"', '""') + '"';
async function rows(sql) { return (await con.runAndReadAll(sql)).getRows(); }
function label(type, logical, converted) {
  const unit = (logical || '') + ' ' + (converted || '');
  switch (type) {
    case 'BOOLEAN': return 'bool';
    case 'TINYINT': case 'SMALLINT': case 'INTEGER': case 'UTINYINT': case 'USMALLINT': return 'int32';
    case 'BIGINT': return 'int64';
    case 'FLOAT': return 'float';
    case 'DOUBLE': return 'double';
    case 'VARCHAR': return 'string';
    case 'DATE': return 'date';
    case 'TIMESTAMP_NS': return 'timestamp[ns]';
    case 'TIMESTAMP_MS': return 'timestamp[ms]';
    case 'TIMESTAMP': case 'TIMESTAMP WITH TIME ZONE':
      return /MilliSeconds\(\)|TIMESTAMP_MILLIS/.test(unit) ? 'timestamp[ms]'
        : /NanoSeconds\(\)/.test(unit) ? 'timestamp[ns]' : 'timestamp[us]';
    default: return 'unsupported:' + type;
  }
}
function expr(c, lab) {
  const num = d => `CASE WHEN isnan(${c}) THEN 'nan' ELSE printf('%.${d}g', ${c}) END`;
  const e = {
    bool: `CASE WHEN ${c} THEN 'true' WHEN NOT ${c} THEN 'false' END`,
    int32: `${c}::VARCHAR`, int64: `${c}::VARCHAR`,
    float: num(9), double: num(17),
    string: `replace(replace(replace(replace(${c}, '\\', '\\\\'), chr(9), '\\t'), chr(10), '\\n'), chr(13), '\\r')`,
    date: `(${c} - DATE '1970-01-01')::VARCHAR`,
    'timestamp[ms]': `epoch_ms(${c})::VARCHAR`, 'timestamp[us]': `epoch_us(${c})::VARCHAR`,
    'timestamp[ns]': `epoch_ns(${c})::VARCHAR`,
  }[lab];
  return `coalesce(${e ?? "'?'"}, '\\N')`;
}
for (const arg of process.argv.slice(1)) {
  const [file, out] = arg.split('=');
  const desc = await rows(`DESCRIBE SELECT * FROM read_parquet(${q(file)})`);
  const schema = await rows(`SELECT name, logical_type, converted_type FROM parquet_schema(${q(file)})`);
  const cols = desc.map(([name, type]) => {
    const s = schema.find(r => r[0] === name) || [];
    return { name, lab: label(type, s[1], s[2]) };
  });
  const lines = [cols.map(c => `${c.name}:${c.lab}`).join('\t')];
  const list = cols.map(c => expr(id(c.name), c.lab)).join(', ');
  for (const [line] of await rows(`SELECT concat_ws(chr(9), ${list}) FROM read_parquet(${q(file)})`))
    lines.push(line);
  writeFileSync(out, lines.join('\n') + '\n');
}
EOF
)
duck_dump() { (cd "$ORACLE" && node --input-type=module -e "$DUMP_JS" "$@"); }
duck() { node "$ORACLE/duck.mjs" "$1"; }

# Compare `pqtool dump` of each file with DuckDB's dump of the same file.
compare_dumps() {
	local args=() f
	for f in "$@"; do args+=("$(realpath "$f")=$TMP/$(basename "$f").duck"); done
	duck_dump "${args[@]}"
	for f in "$@"; do
		if ! "$PQ" dump "$f" >"$TMP/$(basename "$f").ours"; then
			bad "milkcast cannot read $f"
		elif cmp -s "$TMP/$(basename "$f").ours" "$TMP/$(basename "$f").duck"; then
			ok
		else
			bad "$f: milkcast and DuckDB read different values"
			diff "$TMP/$(basename "$f").ours" "$TMP/$(basename "$f").duck" | head -5 >&2 || true
		fi
	done
}

# 1. The real SNIIM files (pandas/pyarrow, Snappy, dictionaries).
compare_dumps data/sniim/*.parquet

# 2. Files milkcast writes: every type, nulls, NaN/±inf/-0, accents; several
#    row groups and pages; each codec; dictionary on and off; 0 rows.
"$PQ" gen 5000 "$TMP/w_zstd.parquet" --rg 2000 --page 4096
"$PQ" gen 4000 "$TMP/w_snappy_plain.parquet" --codec snappy --no-dict --rg 1500
"$PQ" gen 3000 "$TMP/w_none.parquet" --codec none --page 1000 --seed 9
"$PQ" gen 3000 "$TMP/w_stats.parquet" --seed 11
"$PQ" gen 0 "$TMP/w_empty.parquet"
compare_dumps "$TMP"/w_*.parquet

# isAdjustedToUTC timestamps: DuckDB reads them as TIMESTAMP WITH TIME ZONE, in
# microseconds, so the nanosecond column (11) is left out of the comparison.
"$PQ" gen 800 "$TMP/utc.parquet" --utc --no-stats
duck_dump "$TMP/utc.parquet=$TMP/utc.duck"
if cmp -s <("$PQ" dump "$TMP/utc.parquet" | cut -f1-10,12-) <(cut -f1-10,12- "$TMP/utc.duck"); then
	ok
else
	bad "utc.parquet: milkcast and DuckDB read different values"
fi
tz=$(duck "SELECT count(*) AS n FROM (DESCRIBE SELECT * FROM read_parquet('$TMP/utc.parquet'))
	WHERE column_type = 'TIMESTAMP WITH TIME ZONE'")
if [ "$tz" = '{"n":"3"}' ]; then ok; else bad "UTC timestamps: $tz"; fi

# Our dumps of what we wrote equal the generator's table (via a second write).
# shellcheck disable=SC2043 # one file today, the loop takes more
for f in "$TMP"/w_zstd.parquet; do
	"$PQ" copy "$f" "$TMP/c_copy.parquet" --codec snappy --no-dict
	if cmp -s <("$PQ" dump "$f") <("$PQ" dump "$TMP/c_copy.parquet"); then
		ok
	else
		bad "copy of $f differs"
	fi
done

# REQUIRED for non-nullable columns, OPTIONAL for nullable ones.
req=$(duck "SELECT string_agg(name, ',' ORDER BY name) AS r FROM parquet_schema('$TMP/w_zstd.parquet')
	WHERE repetition_type = 'REQUIRED' AND name <> 'schema'")
if [ "$req" = '{"r":"fecha,flag,i32,ts_us,uniq"}' ]; then ok; else bad "REQUIRED columns: $req"; fi

# Copies of the SNIIM files through milkcast (zstd) read the same in DuckDB.
for f in data/sniim/*.parquet; do "$PQ" copy "$f" "$TMP/copy_$(basename "$f")"; done
args=()
for f in data/sniim/*.parquet; do args+=("$TMP/copy_$(basename "$f")=$TMP/copy_$(basename "$f").duck"); done
duck_dump "${args[@]}"
for f in data/sniim/*.parquet; do
	if cmp -s "$TMP/$(basename "$f").duck" "$TMP/copy_$(basename "$f").duck"; then
		ok
	else
		bad "DuckDB reads our copy of $f differently"
	fi
done

# 3. Statistics we write, as DuckDB reports them, equal DuckDB's aggregates.
STATS_COLS="i32 i64 fecha Ciudad uniq ts_us ts_ns Precio b flag"
got_sql="" want_sql=""
for c in $STATS_COLS; do
	got_sql+="${got_sql:+ UNION ALL }SELECT '$c' AS c, stats_min_value AS lo, stats_max_value AS hi,
		stats_null_count AS nulls FROM parquet_metadata('$TMP/w_stats.parquet') WHERE path_in_schema = '$c'"
	want_sql+="${want_sql:+ UNION ALL }SELECT '$c' AS c, min(\"$c\")::VARCHAR AS lo, max(\"$c\")::VARCHAR AS hi,
		(count(*) - count(\"$c\"))::VARCHAR AS nulls FROM read_parquet('$TMP/w_stats.parquet')"
done
duck "SELECT * FROM ($got_sql) ORDER BY c" >"$TMP/stats.got"
duck "SELECT * FROM ($want_sql) ORDER BY c" >"$TMP/stats.want"
if [ "$(wc -l <"$TMP/stats.got")" -eq 10 ] && cmp -s "$TMP/stats.got" "$TMP/stats.want"; then
	ok
else
	bad "statistics differ from DuckDB's aggregates"
	diff "$TMP/stats.got" "$TMP/stats.want" >&2 || true
fi
# Floats: NaN is not a bound (DuckDB's max() would be NaN).  (f64 is not
# checked here: DuckDB shows no statistics for infinite bounds, even its own.)
got=$(duck "SELECT stats_min_value AS lo, stats_max_value AS hi
	FROM parquet_metadata('$TMP/w_stats.parquet') WHERE path_in_schema = 'f32'")
want=$(duck "SELECT min(f32)::VARCHAR AS lo, max(f32)::VARCHAR AS hi
	FROM read_parquet('$TMP/w_stats.parquet') WHERE NOT isnan(f32)")
if [ "$got" = "$want" ]; then ok; else bad "statistics of f32: $got, want $want"; fi

# 4. Files DuckDB writes: each codec, several row groups, V2 format.
RICH="SELECT
  CASE WHEN i % 10 = 0 THEN NULL ELSE (i * 7 - 1000)::INTEGER END AS a,
  (i::BIGINT * 1000003 - 5000000000) AS big,
  CASE WHEN i % 13 = 0 THEN NULL ELSE (i % 3 = 0) END AS b,
  CASE WHEN i % 11 = 0 THEN NULL ELSE ['Cd. Juárez', 'Querétaro', '', 'tab' || chr(9) || 'x',
    'nl' || chr(10) || 'y', 'back\\slash', 'Aguascalientes '][i % 7 + 1] END AS s,
  'u' || i::VARCHAR || repeat('x', (i % 50)::INTEGER) AS u,
  CASE i % 9 WHEN 0 THEN 'nan'::DOUBLE WHEN 1 THEN -0.0::DOUBLE WHEN 2 THEN 'inf'::DOUBLE
    WHEN 3 THEN '-inf'::DOUBLE ELSE i / 7.0 END AS d,
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 100)::FLOAT / 3 END AS f,
  DATE '1960-01-01' + (i % 40000)::INTEGER AS dt,
  make_timestamp(1704067200000000 + i::BIGINT * 1000003) AS ts_us,
  CASE WHEN i % 5 = 0 THEN NULL ELSE make_timestamp_ns(1704067200000000000 + i::BIGINT * 1000000007) END AS ts_ns,
  epoch_ms(1704067200000 + i::BIGINT * 1003)::TIMESTAMP_MS AS ts_ms,
  (i % 100 - 50)::TINYINT AS t8, (i % 200)::UTINYINT AS u8,
  (i * 3 - 4000)::SMALLINT AS s16, (i % 60000)::USMALLINT AS u16,
  (i % 5)::DOUBLE / 4 AS lowd
FROM range(5000) t(i)"
for codec in zstd snappy uncompressed; do
	duck "COPY ($RICH) TO '$TMP/d_$codec.parquet' (FORMAT parquet, COMPRESSION $codec, ROW_GROUP_SIZE 2048)" >/dev/null
done
duck "COPY (SELECT b, s, lowd, t8, u8 FROM ($RICH)) TO '$TMP/d_v2.parquet'
	(FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V2)" >/dev/null
compare_dumps "$TMP"/d_*.parquet

# DELTA_* encodings (DuckDB's V2 for high-cardinality columns) are refused by name.
duck "COPY (SELECT (i * 7919)::BIGINT AS id FROM range(3000) t(i)) TO '$TMP/delta.parquet'
	(FORMAT parquet, PARQUET_VERSION V2)" >/dev/null
if "$PQ" dump "$TMP/delta.parquet" >/dev/null 2>"$TMP/delta.err"; then
	bad "a DELTA_BINARY_PACKED file was read"
elif grep -q "column 'id'.*DELTA_BINARY_PACKED" "$TMP/delta.err"; then
	ok
else
	bad "unexpected error for DELTA: $(cat "$TMP/delta.err")"
fi

echo "t15-parquet-duckdb: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

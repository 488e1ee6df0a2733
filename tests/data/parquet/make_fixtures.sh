#!/usr/bin/env bash
# Regenerate the small Parquet fixtures of tests/data/parquet/ written by
# DuckDB and by arrow-rs (committed; tests/unit/test_parquet_read.c checks
# their values against the formulas below).  Needs the DuckDB oracle
# (scripts/install-deps.sh) and npm for the arrow-rs writer.
set -euo pipefail
cd "$(dirname "$0")"
duck() { node ../../oracle/duck.mjs "$1" >/dev/null; }

# Every supported type, nulls, accents; values follow formulas of i.
ALL="select
  case when i % 10 = 0 then null else (i * 7 - 1000)::INTEGER end as a,
  (i::BIGINT * 1000003 - 5000000000) as big,
  (i % 3 = 0) as b,
  case when i % 11 = 0 then null else ['Cd. Juárez', 'Querétaro', '', 'Aguascalientes '][i % 4 + 1] end as s,
  (i / 8.0)::DOUBLE as d,
  case when i % 7 = 0 then null else (i % 100)::FLOAT / 4 end as f,
  DATE '2020-01-01' + (i % 400)::INTEGER as dt,
  make_timestamp(1704067200000000 + i::BIGINT * 1000003) as ts_us,
  case when i % 5 = 0 then null else make_timestamp_ns(1704067200000000000 + i::BIGINT * 1000000007) end as ts_ns,
  epoch_ms(1704067200000 + i::BIGINT * 1003)::TIMESTAMP_MS as ts_ms,
  (i % 100 - 50)::TINYINT as t8, (i % 200)::UTINYINT as u8,
  (i * 3 - 4000)::SMALLINT as s16, (i % 60000)::USMALLINT as u16
from range(2100) t(i)"
for codec in zstd snappy uncompressed; do
	duck "COPY ($ALL) TO 'duck_v1_$codec.parquet' (FORMAT parquet, COMPRESSION $codec, ROW_GROUP_SIZE 1000)"
done

# Data page v2 with only dictionary/PLAIN encodings (low cardinality columns).
LOW="select
  case when i % 10 = 0 then null else (i % 7 - 3)::INTEGER end as a,
  ((i % 5)::BIGINT * 1000000007) as big,
  (i % 3 = 0) as b,
  case when i % 11 = 0 then null else ['Cd. Juárez', 'Querétaro', '', 'Aguascalientes '][i % 4 + 1] end as s,
  ((i % 9) / 8.0)::DOUBLE as d,
  DATE '2020-01-01' + (i % 6)::INTEGER as dt,
  make_timestamp_ns(1704067200000000000 + (i % 4)::BIGINT * 1000000007) as ts_ns
from range(3000) t(i)"
duck "COPY ($LOW) TO 'duck_v2_snappy.parquet' (FORMAT parquet, COMPRESSION snappy, PARQUET_VERSION V2, ROW_GROUP_SIZE 2000)"
duck "COPY ($LOW) TO 'duck_v2_zstd.parquet' (FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V2)"
# v2 with high cardinality: DuckDB picks DELTA_BINARY_PACKED, which we do not read.
duck "COPY (select (i * 7919)::BIGINT as id from range(2000) t(i)) TO 'duck_v2_delta.parquet' (FORMAT parquet, PARQUET_VERSION V2)"

# Unsupported types and codecs: the reader must name the column.
duck "COPY (select 1 as ok, 1.5::DECIMAL(10,2) as price) TO 'unsup_decimal.parquet' (FORMAT parquet)"
duck "COPY (select 1 as ok, [1, 2] as prices) TO 'unsup_list.parquet' (FORMAT parquet)"
duck "COPY (select 1 as ok, {'a': 1} as rec) TO 'unsup_struct.parquet' (FORMAT parquet)"
duck "COPY (select 1 as ok, interval 3 day as span) TO 'unsup_interval.parquet' (FORMAT parquet)"
duck "COPY (select 1 as ok, 7::UINTEGER as big_u) TO 'unsup_uint32.parquet' (FORMAT parquet)"
duck "COPY (select 1 as ok, 7 as v) TO 'unsup_gzip.parquet' (FORMAT parquet, COMPRESSION gzip)"
duck "COPY (select 1 as ok, 7 as v) TO 'unsup_brotli.parquet' (FORMAT parquet, COMPRESSION brotli)"
duck "COPY (select 1 as ok, 7 as v) TO 'unsup_lz4.parquet' (FORMAT parquet, COMPRESSION lz4_raw)"
# Data page v2 (DuckDB writes v1 pages only): arrow-rs through npm parquet-wasm,
# installed in a scratch directory.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp make_v2_fixtures.mjs "$scratch/"
(cd "$scratch" && npm init -y >/dev/null &&
	npm install --no-audit --no-fund --silent parquet-wasm@0.8.0 apache-arrow@21.2.0 >/dev/null)
node "$scratch/make_v2_fixtures.mjs" "$(pwd)"
echo "fixtures written to $(pwd)"

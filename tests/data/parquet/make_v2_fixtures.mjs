// Write Parquet fixtures with data page v2 using arrow-rs (npm parquet-wasm),
// since DuckDB writes only v1 data pages.  Run by make_fixtures.sh in a
// scratch npm directory: node make_v2_fixtures.mjs OUTDIR.  The columns
// follow the formulas of duck_v1_*.parquet (see make_fixtures.sh), over 1200 rows.
import * as arrow from 'apache-arrow';
import * as pw from 'parquet-wasm/node';
import { writeFileSync } from 'fs';

const n = 1200;
const outdir = process.argv[2] || '.';

function bitmap(isNull) {
  const bits = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    if (isNull(i)) nulls++;
    else bits[i >> 3] |= 1 << (i & 7);
  }
  return { nulls, bits };
}

function fixed(type, Arr, f, isNull = () => false) {
  const data = new Arr(n);
  const { nulls, bits } = bitmap(isNull);
  for (let i = 0; i < n; i++) if (!isNull(i)) data[i] = f(i);
  return arrow.makeVector(arrow.makeData({ type, length: n, nullCount: nulls, data,
    nullBitmap: nulls ? bits : undefined }));
}

function bools(f) {
  const data = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) if (f(i)) data[i >> 3] |= 1 << (i & 7);
  return arrow.makeVector(arrow.makeData({ type: new arrow.Bool(), length: n, nullCount: 0, data }));
}

function strings(f, isNull) {
  const enc = new TextEncoder();
  const parts = [], offsets = new Int32Array(n + 1);
  let len = 0;
  for (let i = 0; i < n; i++) {
    if (!isNull(i)) { const b = enc.encode(f(i)); parts.push(b); len += b.length; }
    offsets[i + 1] = len;
  }
  const data = new Uint8Array(len);
  let at = 0;
  for (const b of parts) { data.set(b, at); at += b.length; }
  const { nulls, bits } = bitmap(isNull);
  return arrow.makeVector(arrow.makeData({ type: new arrow.Utf8(), length: n, nullCount: nulls,
    valueOffsets: offsets, data, nullBitmap: nulls ? bits : undefined }));
}

const cities = ['Cd. Juárez', 'Querétaro', '', 'Aguascalientes '];
const B = BigInt;
const table = new arrow.Table({
  a: fixed(new arrow.Int32(), Int32Array, i => i * 7 - 1000, i => i % 10 == 0),
  big: fixed(new arrow.Int64(), BigInt64Array, i => B(i) * 1000003n - 5000000000n),
  b: bools(i => i % 3 == 0),
  s: strings(i => cities[i % 4], i => i % 11 == 0),
  d: fixed(new arrow.Float64(), Float64Array, i => i / 8),
  f: fixed(new arrow.Float32(), Float32Array, i => (i % 100) / 4, i => i % 7 == 0),
  dt: fixed(new arrow.DateDay(), Int32Array, i => 18262 + i % 400),
  ts_us: fixed(new arrow.TimestampMicrosecond(), BigInt64Array, i => 1704067200000000n + B(i) * 1000003n),
  ts_ns: fixed(new arrow.TimestampNanosecond(), BigInt64Array,
    i => 1704067200000000000n + B(i) * 1000000007n, i => i % 5 == 0),
  ts_ms: fixed(new arrow.TimestampMillisecond(), BigInt64Array, i => 1704067200000n + B(i) * 1003n),
  t8: fixed(new arrow.Int8(), Int8Array, i => i % 100 - 50),
  u8: fixed(new arrow.Uint8(), Uint8Array, i => i % 200),
  s16: fixed(new arrow.Int16(), Int16Array, i => i * 3 - 4000),
  u16: fixed(new arrow.Uint16(), Uint16Array, i => i % 60000),
});

function write(name, configure) {
  const props = configure(new pw.WriterPropertiesBuilder()
    .setWriterVersion(pw.WriterVersion.V2)
    .setMaxRowGroupSize(500)
    .setDataPageSizeLimit(512)
    .setWriteBatchSize(128)).build();
  const wasmTable = pw.Table.fromIPCStream(arrow.tableToIPC(table, 'stream'));
  writeFileSync(`${outdir}/${name}`, pw.writeParquet(wasmTable, props));
}

// Dictionary pages, RLE_DICTIONARY indices, RLE booleans, several pages per chunk.
write('arrow_v2_dict_snappy.parquet', b => b.setCompression(pw.Compression.SNAPPY));
// PLAIN values only.
write('arrow_v2_plain_zstd.parquet', b => b.setCompression(pw.Compression.ZSTD)
  .setDictionaryEnabled(false).setEncoding(pw.Encoding.PLAIN));
write('arrow_v2_plain_none.parquet', b => b.setCompression(pw.Compression.UNCOMPRESSED)
  .setDictionaryEnabled(false).setEncoding(pw.Encoding.PLAIN));

// Test oracle: run one SQL statement in DuckDB and print rows as JSON lines.
// usage: node duck.mjs "SQL"
import { DuckDBInstance } from '@duckdb/node-api';
const sql = process.argv[2];
if (!sql) { console.error('usage: node duck.mjs SQL'); process.exit(2); }
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
try {
  const r = await con.runAndReadAll(sql);
  for (const row of r.getRowObjectsJson()) console.log(JSON.stringify(row));
} catch (e) {
  console.error(String(e.message || e));
  process.exit(1);
}

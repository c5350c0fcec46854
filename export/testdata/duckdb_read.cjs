// Reads a Parquet file with DuckDB, an implementation independent of the
// writer, and prints its column types and every value cast to text, or
// with the argument json as DuckDB's to_json writes it:
//   NODE_PATH=…/node_modules node duckdb_read.cjs FILE [json]
const { DuckDBInstance } = require('@duckdb/node-api');

(async () => {
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  await c.run("SET TimeZone = 'UTC'");
  const file = process.argv[2].replace(/'/g, "''");
  const asJSON = process.argv[3] === 'json';
  const d = await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
  const columns = d.getRowObjectsJson().map((r) => ({ name: r.column_name, type: r.column_type }));
  const list = columns.map((x) => {
    const col = `"${x.name.replace(/"/g, '""')}"`;
    return asJSON ? `CAST(to_json(${col}) AS VARCHAR)` : `CAST(${col} AS VARCHAR)`;
  }).join(', ');
  const r = await c.runAndReadAll(`SELECT ${list} FROM read_parquet('${file}')`);
  console.log(JSON.stringify({ columns, rows: r.getRowsJson() }));
})().catch((e) => {
  console.error(String(e));
  process.exit(1);
});

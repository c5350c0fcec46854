package postgres

import (
	"bytes"
	"io"
	"testing"

	"github.com/jackc/pgx/v5"
)

// BenchmarkCSVTranscoder: the rows of bench/export.sh's table transcoded
// from binary COPY to CSV, without the server's time.
func BenchmarkCSVTranscoder(b *testing.B) {
	conn := copyConn(b)
	createBenchTable(b, conn, 100000)
	var data bytes.Buffer
	if _, err := conn.PgConn().CopyTo(b.Context(), &data, "COPY t TO STDOUT (FORMAT binary)"); err != nil {
		b.Fatal(err)
	}
	options := renderOptions(true, ",", `"`, `"`)
	b.SetBytes(int64(data.Len()))
	b.ResetTimer()
	for b.Loop() {
		tr, err := csvPlan(b.Context(), conn, "SELECT * FROM t", nil, options)
		if err != nil || tr == nil {
			b.Fatal(tr, err)
		}
		tr.w = io.Discard
		if _, err := tr.Write(data.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}

// createBenchTable creates bench/export.sh's table t, of rows rows.
func createBenchTable(tb testing.TB, conn *pgx.Conn, rows int) {
	tb.Helper()
	if _, err := conn.Exec(tb.Context(), `CREATE TABLE t (id bigint, name text, amount numeric(12,2), qty int, ts timestamp, flag boolean, score float8, note text)`); err != nil {
		tb.Fatal(err)
	}
	if _, err := conn.Exec(tb.Context(), `INSERT INTO t SELECT i, 'name ' || i || CASE WHEN i % 10 = 0 THEN ', with "quotes"' ELSE '' END, (i % 100000) / 100.0, i % 1000,
			timestamp '2026-01-01' + i * interval '1 second', i % 2 = 0, i * 0.5, md5(i::text) FROM generate_series(1, $1) i`, rows); err != nil {
		tb.Fatal(err)
	}
}

package postgres

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/statement"
)

// copyConn is a connection of its own to a fresh database.
func copyConn(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(t.Context()) })
	return conn
}

// writes keeps every Write, so that rows are compared write by write.
type writes [][]byte

func (w *writes) Write(b []byte) (int, error) {
	*w = append(*w, bytes.Clone(b))
	return len(b), nil
}

// renderOptions renders COPY options as the export package does.
func renderOptions(header bool, delimiter, quote, escape string) string {
	o := export.CopyOptions{Format: export.FormatCSV, Header: header}
	for _, f := range []struct {
		v   string
		dst **string
	}{{delimiter, &o.Delimiter}, {quote, &o.Quote}, {escape, &o.Escape}} {
		if f.v != "" {
			*f.dst = &f.v
		}
	}
	return o.String()
}

// optionSets are the CSV dialects every parity test runs under: the
// defaults, the export's own, and delimiters and quotes that appear in
// some type's text (so its values must be quoted).
var optionSets = []string{
	"FORMAT csv",
	renderOptions(true, "", "", ""),
	renderOptions(true, ",", `"`, `"`),
	renderOptions(false, ";", "", ""),
	renderOptions(true, "\t", "", ""),
	renderOptions(true, "-", "", ""),
	renderOptions(false, " ", "'", `\`),
	renderOptions(true, "x", "", ""),
	renderOptions(true, "|", ".", "!"),
	renderOptions(false, ":", "e", ""),
}

// sameCopy runs query through PostgreSQL's own COPY TO STDOUT (options)
// and through copyOut, and fails unless both wrote the same rows, write
// by write. It returns whether copyOut took the binary path.
func sameCopy(t *testing.T, conn *pgx.Conn, query, options string) bool {
	t.Helper()
	var want, got writes
	if _, err := conn.PgConn().CopyTo(t.Context(), &want, "COPY ("+query+"\n) TO STDOUT ("+options+")"); err != nil {
		t.Fatalf("PostgreSQL's COPY of %s (%s): %v", query, options, err)
	}
	binary, err := copyOut(t.Context(), conn, &got, query, nil, options)
	if err != nil {
		t.Fatalf("copyOut %s (%s): %v", query, options, err)
	}
	for i := range max(len(got), len(want)) {
		var g, w []byte
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if !bytes.Equal(g, w) {
			t.Fatalf("%s (%s), binary %t: write %d is %q, PostgreSQL's %q", query, options, binary, i, g, w)
		}
	}
	return binary
}

// edgeValues are, for each whitelisted type, values as text literals
// ("" and NULL included for every type) whose output is most likely to
// go wrong.
var edgeValues = []struct {
	typ    string
	values []string
}{
	{"int2", []string{"0", "-32768", "32767", "1", "-1"}},
	{"int4", []string{"0", "-2147483648", "2147483647", "42"}},
	{"int8", []string{"0", "-9223372036854775808", "9223372036854775807", "-7"}},
	{"oid", []string{"0", "4294967295", "12345"}},
	{"bool", []string{"true", "false"}},
	{"text", []string{"", "a", "a,b", `a"b`, `""`, "a\nb", "a\rb", "\r\n", `\.`, `\`, `\N`, "é漢字🙂", " lead", "trail ", "x;y", "NULL", `"`, ",", "\t", "-", "a'b", `a\b`, "x", "|", ".", "!", "e", ":"}},
	{"varchar(10)", []string{"", "a,b", `\.`, "plain"}},
	{"char(5)", []string{"", "ab", "a,b", "abcde"}},
	{"name", []string{"", "abc", "a,b", `a"b`}},
	{"json", []string{`{"a": [1, "x,y"]}`, `"str"`, "null", `"\\."`, "  [1,\n2]  "}},
	{"jsonb", []string{`{"b":1,"a":"q\"x"}`, "[]", `"\\."`, `{"k": [1.50, 2e3, null, true]}`, `"é"`}},
	{"uuid", []string{"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}},
	{"float8", []string{"0", "-0", "NaN", "Infinity", "-Infinity", "1e15", "999999999999999", "1e14", "123456789012345.6", "1e-4",
		"0.00011", "9.99e-5", "5e-324", "1.7976931348623157e308", "2.2250738585072014e-308", "0.1", "0.3333333333333333",
		"1e16", "1e100", "-1e-100", "123.456", "9007199254740993", "1e21", "1e22", "1e23", "4.35", "2.675", "1000000.5"}},
	{"numeric", []string{"NaN", "Infinity", "-Infinity", "0", "0.00", "-0.0", "1.10", "123456789.000100", "1e-20", "1e20", "-12.5",
		"0.0001", "9999.9999", "10000", "1e300", "1e-300", "-1.000000000000000000000000000001", "0.5", "-0.00005", "12345678901234567890.123456789",
		"99999", "100000000", "0.000000001"}},
	{"numeric(12,2)", []string{"0", "1.5", "-1234567890.12", "0.01"}},
	{"date", []string{"2000-01-01", "1999-12-31", "infinity", "-infinity", "0044-03-15 BC", "4713-01-01 BC", "0001-12-31 BC",
		"5874897-12-31", "10000-01-01", "0001-01-01", "1970-01-01", "2024-02-29", "1900-03-01"}},
	{"timestamp", []string{"2000-01-01 00:00:00", "1999-12-31 23:59:59.999999", "2026-01-01 12:34:56.5", "0044-03-15 12:00:00.0001 BC",
		"infinity", "-infinity", "4713-01-01 00:00:00 BC", "294276-12-31 23:59:59.999999", "10000-01-01 00:00:00",
		"1900-01-01 00:00:00.120", "1969-12-31 23:59:59.000001", "0001-01-01 00:00:00"}},
	{"timestamp(2)", []string{"2000-01-01 00:00:00.456", "1999-12-31 23:59:59.999"}},
	{"timestamptz", []string{"2000-01-01 00:00:00+00", "1999-12-31 23:59:59.999999+05", "infinity", "-infinity",
		"0044-03-15 12:00:00 BC", "294276-12-31 23:59:59.999999+00", "4713-01-01 00:00:00+00 BC", "1900-01-01 00:00:00.5-03:30"}},
	{"time", []string{"00:00:00", "23:59:59.999999", "24:00:00", "12:00:00.5", "01:02:03.000004"}},
	{"bytea", []string{"", `\x00ff`, "abc", `\x2c22`, `\x5c2e`}},
}

// TestCopyCSVParity (issue 14, item 4): for every whitelisted type, its
// edge values in a one-column and a three-column query come out of the
// binary path byte for byte as PostgreSQL's own CSV, under every dialect.
func TestCopyCSVParity(t *testing.T) {
	conn := copyConn(t)
	if _, err := conn.Exec(t.Context(), "SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	for _, c := range edgeValues {
		rows := []string{"(NULL)"}
		for _, v := range c.values {
			rows = append(rows, "("+statement.QuoteLiteralPG(v)+")")
		}
		values := " FROM (VALUES " + strings.Join(rows, ", ") + ") s(v)"
		queries := []string{
			"SELECT v::" + c.typ + " AS v" + values,
			"SELECT v::" + c.typ + ` AS "v,1", 1 AS "q""t", v::` + c.typ + ` AS "\."` + values,
		}
		for _, q := range queries {
			for _, o := range optionSets {
				if !sameCopy(t, conn, q, o) {
					t.Errorf("%s (%s) took PostgreSQL's text COPY, want the binary path", q, o)
				}
			}
		}
	}
	// A one-column header of \. is quoted, as a value would be.
	if !sameCopy(t, conn, `SELECT 'x' AS "\."`, renderOptions(true, "", "", "")) {
		t.Error(`the header \. took the text path`)
	}
	for _, zone := range []string{"Etc/UTC", "UTC"} {
		if _, err := conn.Exec(t.Context(), "SELECT set_config('TimeZone', $1, false)", zone); err != nil {
			t.Fatal(err)
		}
		if !sameCopy(t, conn, "SELECT timestamptz '2026-11-30 02:59:42.222694+00' AS n, timestamptz '1999-01-08 04:05:06.789+02' AS t", "FORMAT csv") {
			t.Errorf("timestamptz under TimeZone %s took the text path", zone)
		}
	}
}

// TestCopyCSVFallback: types off the whitelist, session settings whose
// text the binary path does not reproduce, and options it does not take
// all go to PostgreSQL's text COPY, with its output unchanged.
func TestCopyCSVFallback(t *testing.T) {
	conn := copyConn(t)
	csv := renderOptions(true, "", "", "")
	for _, c := range []struct{ set, query, options string }{
		{query: "SELECT interval '1 day 02:03:04' AS i", options: csv},
		{query: "SELECT ARRAY[1, NULL, 3]::int4[] AS a", options: csv},
		{query: "SELECT ROW(1, 'a,b') AS r", options: csv},
		{query: "SELECT 12.5::money AS m", options: csv},
		{query: "SELECT 1 AS n, 'x'::\"char\" AS c", options: csv},
		{query: "SELECT 1.5::float4 AS f, 'NaN'::float4 AS g", options: csv},
		{set: "SET DateStyle = 'SQL, DMY'", query: "SELECT date '2026-01-02' AS d", options: csv},
		{set: "SET DateStyle = 'German'", query: "SELECT timestamp '2026-01-02 03:04:05' AS d", options: csv},
		{set: "SET extra_float_digits = 0", query: "SELECT 0.1::float8 AS f, (1/3.0)::float8 AS g, 0.1::float4 AS h", options: csv},
		{set: "SET extra_float_digits = -3", query: "SELECT 123.456789::float8 AS f", options: csv},
		{set: "SET bytea_output = 'escape'", query: `SELECT '\x00ff41'::bytea AS b`, options: csv},
		{set: "SET TimeZone = 'America/New_York'", query: "SELECT timestamptz '2026-01-02 03:04:05+00' AS t", options: csv},
		{query: "SELECT 1 AS n, '' AS e", options: "FORMAT csv, NULL 'x'"},
		{query: "SELECT 1 AS n", options: "FORMAT csv, FORCE_QUOTE *"},
		{query: "SELECT 1 AS n, 'a,b' AS s", options: "FORMAT text"},
		{query: "SELECT 1 AS n, 'a' AS s", options: "FORMAT csv, ENCODING 'UTF8'"},
	} {
		if c.set != "" {
			if _, err := conn.Exec(t.Context(), c.set); err != nil {
				t.Fatal(err)
			}
		}
		if sameCopy(t, conn, c.query, c.options) {
			t.Errorf("%s; %s (%s) took the binary path, want PostgreSQL's text", c.set, c.query, c.options)
		}
		if _, err := conn.Exec(t.Context(), "RESET ALL"); err != nil {
			t.Fatal(err)
		}
	}
	// Options COPY refuses stay refused, by PostgreSQL.
	var w writes
	if _, err := copyOut(t.Context(), conn, &w, "SELECT 1", nil, `FORMAT csv, DELIMITER '"'`); err == nil || !strings.Contains(err.Error(), "query:") {
		t.Errorf("DELIMITER '\"' with QUOTE '\"': %v, want PostgreSQL's error", err)
	}
}

// randomTable fills table t with n rows of random values of every
// whitelisted type, from seed.
func randomTable(t *testing.T, conn *pgx.Conn, n int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	const chars = "ab,\"\n\r\\.' xé漢🙂\t;|-"
	runes := []rune(chars)
	text := func() string {
		b := make([]rune, r.IntN(8))
		for i := range b {
			b[i] = runes[r.IntN(len(runes))]
		}
		return string(b)
	}
	cols := map[string][]any{}
	add := func(name string, v any) { cols[name] = append(cols[name], v) }
	for range n {
		add("i8", r.Int64()>>r.IntN(64))
		add("f8", strconv.FormatFloat(math.Float64frombits(r.Uint64()), 'g', -1, 64))
		add("f8b", strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(40)-20)), 'g', -1, 64))
		// Short decimals are the likeliest to sit on a midpoint between
		// two doubles (1e23), which PostgreSQL never prints.
		add("f8c", strconv.FormatUint(r.Uint64N(1e17)>>r.IntN(57), 10)+"e"+strconv.Itoa(r.IntN(80)-40))
		add("f4", strconv.FormatFloat(float64(math.Float32frombits(r.Uint32())), 'g', -1, 32))
		digits := strconv.FormatUint(r.Uint64()>>r.IntN(64), 10)
		if k := r.IntN(len(digits) + 3); k <= len(digits) {
			digits = digits[:k] + "." + digits[k:]
		}
		add("num", strings.Repeat("-", r.IntN(2))+digits+strings.Repeat("0", r.IntN(3))+"e"+strconv.Itoa(r.IntN(60)-30))
		add("txt", text())
		add("days", int64(r.IntN(4_000_000)-2_400_000))
		add("us", r.Int64N(3e17)-15e16)
	}
	if _, err := conn.Exec(t.Context(), `CREATE TABLE t AS SELECT i8, (i8 % 32768)::int2 AS i2, (i8 % 2147483648)::int4 AS i4,
		f8::float8 AS f8, f8b::float8 AS f8b, f4::float8 AS f4, f8c::float8 AS f8c, num::numeric AS num, txt, txt::varchar AS vc, nullif(txt, 'a') AS nul,
		to_jsonb(txt) AS jb, to_json(txt) AS js, i8 % 2 = 0 AS b, gen_random_uuid() AS u, convert_to(txt, 'UTF8') AS by,
		date '2000-01-01' + days::int AS d, timestamp '2000-01-01' + us * interval '1 microsecond' AS ts,
		timestamptz '2000-01-01 00:00:00+00' + us * interval '1 microsecond' AS tz, (abs(us) % 86400000001) * interval '1 microsecond' AS iv
		FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::int8[], $9::text[])
			AS u(i8, f8, f8b, f4, num, txt, days, us, f8c)`,
		cols["i8"], cols["f8"], cols["f8b"], cols["f4"], cols["num"], cols["txt"], cols["days"], cols["us"], cols["f8c"]); err != nil {
		t.Fatal(err)
	}
}

// TestCopyCSVRandom: random values of every whitelisted type, many rows,
// byte for byte as PostgreSQL's CSV.
func TestCopyCSVRandom(t *testing.T) {
	conn := copyConn(t)
	if _, err := conn.Exec(t.Context(), "SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	randomTable(t, conn, 20000, 14)
	query := "SELECT i8, i2, i4, f8, f8b, f4, f8c, num, txt, vc, nul, jb, js, b, u, by, d, ts, tz, iv::time AS tm FROM t"
	for _, o := range optionSets[:5] {
		if !sameCopy(t, conn, query, o) {
			t.Errorf("random rows (%s) took the text path", o)
		}
	}
}

// TestCopyCSVSplits: binary COPY data cut anywhere (in the signature, in a
// field's length, in a value) is written as the same rows.
func TestCopyCSVSplits(t *testing.T) {
	conn := copyConn(t)
	if _, err := conn.Exec(t.Context(), "SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	randomTable(t, conn, 300, 7)
	query := "SELECT i8, f8, num, txt, d, ts, tz, by FROM t"
	options := renderOptions(true, "", "", "")
	var want writes
	if _, err := conn.PgConn().CopyTo(t.Context(), &want, "COPY ("+query+") TO STDOUT ("+options+")"); err != nil {
		t.Fatal(err)
	}
	var data bytes.Buffer
	if _, err := conn.PgConn().CopyTo(t.Context(), &data, "COPY ("+query+") TO STDOUT (FORMAT binary)"); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, most := range []int{1, 2, 3, 7, 19, 100, 5000} {
		tr, err := csvPlan(t.Context(), conn, query, nil, options)
		if err != nil || tr == nil {
			t.Fatalf("plan: %v, %v", tr, err)
		}
		var got writes
		tr.w = &got
		for b := data.Bytes(); len(b) > 0; {
			n := min(len(b), 1+r.IntN(most))
			if _, err := tr.Write(b[:n]); err != nil {
				t.Fatalf("pieces of up to %d bytes: %v", most, err)
			}
			b = b[n:]
		}
		if err := tr.finish(); err != nil {
			t.Fatalf("pieces of up to %d bytes: %v", most, err)
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("pieces of up to %d bytes: %d writes differ from PostgreSQL's %d", most, len(got), len(want))
		}
	}
	// Data cut short is an error, not a short export.
	tr, _ := csvPlan(t.Context(), conn, query, nil, options)
	tr.w = &writes{}
	if _, err := tr.Write(data.Bytes()[:data.Len()-1]); err != nil {
		t.Fatal(err)
	}
	if err := tr.finish(); err == nil {
		t.Error("data without its trailer: no error")
	}
}

// TestCopyCSVBenchTypes: the table of bench/export.sh, under the options
// the export package gives a plain --format csv, takes the binary path
// (a silent fallback would fail here), through CopyTo's and the range
// scan's way of calling copyOut, and a query failing mid-stream still
// names the query.
func TestCopyCSVBenchTypes(t *testing.T) {
	conn := copyConn(t)
	createBenchTable(t, conn, 5000)
	options := renderOptions(true, ",", `"`, `"`)
	if !sameCopy(t, conn, "SELECT * FROM t", options) {
		t.Error("the bench table took PostgreSQL's text COPY, want the binary path")
	}
	sd, err := conn.Prepare(t.Context(), "", "SELECT * FROM t")
	if err != nil {
		t.Fatal(err)
	}
	var w writes
	if binary, err := copyOut(t.Context(), conn, &w, "SELECT * FROM t", sd.Fields, options); err != nil || !binary || len(w) != 5001 {
		t.Errorf("copyOut with the prepared fields: binary %t, %d writes, %v; want binary, 5001", binary, len(w), err)
	}
	_, err = copyOut(t.Context(), conn, &writes{}, "SELECT 1/(id - 4000) AS x FROM t", nil, options)
	if err == nil || !strings.HasPrefix(err.Error(), "query:") || !strings.Contains(err.Error(), "division by zero") {
		t.Errorf("a query failing mid-stream: %v, want query: … division by zero", err)
	}
}

func TestParseCSVOptions(t *testing.T) {
	for _, c := range []struct {
		in   string
		want csvOptions
		ok   bool
	}{
		{"FORMAT csv", csvOptions{delimiter: ',', quote: '"', escape: '"'}, true},
		{renderOptions(true, ",", `"`, `"`), csvOptions{header: true, delimiter: ',', quote: '"', escape: '"'}, true},
		{renderOptions(false, "\t", "'", `\`), csvOptions{delimiter: '\t', quote: '\'', escape: '\\'}, true},
		{renderOptions(false, ",", "", `\`), csvOptions{delimiter: ',', quote: '"', escape: '\\'}, true},
		{"FORMAT csv, NULL ''", csvOptions{delimiter: ',', quote: '"', escape: '"'}, true},
		{"FORMAT csv, NULL 'x'", csvOptions{}, false},
		{"FORMAT text", csvOptions{}, false},
		{"FORMAT csv, FORCE_QUOTE *", csvOptions{}, false},
		{"FORMAT csv, ENCODING 'UTF8'", csvOptions{}, false},
		{"FORMAT csv, DELIMITER '\"'", csvOptions{}, false},
		{"FORMAT csv, DELIMITER E'\\n'", csvOptions{}, false},
		{"FORMAT csv, DELIMITER 'é'", csvOptions{}, false},
		{"FORMAT csv, HEADER true, HEADER true", csvOptions{}, false},
		{"FORMAT csv, QUOTE ';', DELIMITER ','", csvOptions{}, false},
	} {
		got, ok := parseCSVOptions(c.in)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("parseCSVOptions(%q) = %+v, %t; want %+v, %t", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestAppendFloat8: PostgreSQL's float8 output, where it differs from
// strconv's shortest form (a midpoint between two doubles, which
// PostgreSQL never prints) and at the notation thresholds.
func TestAppendFloat8(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{1e23, "9.999999999999999e+22"},
		{1e15, "1e+15"},
		{1e14, "100000000000000"},
		{123456789012345.6, "123456789012345.6"},
		{1e-4, "0.0001"},
		{9.99e-5, "9.99e-05"},
		{5e-324, "5e-324"},
		{math.Copysign(0, -1), "-0"},
		{1e100, "1e+100"},
		{-1.5, "-1.5"},
		{math.Inf(-1), "-Infinity"},
		{math.NaN(), "NaN"},
	} {
		if got := string(appendFloat8(nil, c.in)); got != c.want {
			t.Errorf("appendFloat8(%v) = %s, want %s", c.in, got, c.want)
		}
	}
	// The generated tables start as d2s_full_table.h's.
	if got, want := ryu().inv[1], [2]uint64{3689348814741910324, 230584300921369395}; got != want {
		t.Errorf("DOUBLE_POW5_INV_SPLIT[1] = %v, want %v", got, want)
	}
	if got, want := ryu().split[1], [2]uint64{0, 90071992547409920}; got != want {
		t.Errorf("DOUBLE_POW5_SPLIT[1] = %v, want %v", got, want)
	}
}

func TestAppendUint(t *testing.T) {
	for _, u := range []uint64{0, 9, 10, 99, 100, 999, 1000, 12345, 1<<53 + 1, 1e19 - 1, 1e19, math.MaxUint64} {
		for p := uint64(1); p <= 10; p *= 10 {
			if got, want := string(appendUint([]byte("x"), u/p)), "x"+strconv.FormatUint(u/p, 10); got != want {
				t.Errorf("appendUint(%d) = %s, want %s", u/p, got, want)
			}
		}
	}
	if got := string(appendInt(nil, math.MinInt64)); got != "-9223372036854775808" {
		t.Errorf("appendInt(MinInt64) = %s", got)
	}
}

// TestCopyCSVRanges: a table read in ranges of its pages (the parallel
// path) comes out, range after range, as PostgreSQL's one COPY of it.
func TestCopyCSVRanges(t *testing.T) {
	url := testenv.Postgres(t)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if _, err := conn.Exec(t.Context(), `CREATE TABLE t (id bigint, name text, amount numeric(12,2), ts timestamp, score float8);
		INSERT INTO t SELECT i, 'name, ' || i, i / 100.0, timestamp '2026-01-01' + i * interval '1 second', i * 0.25
		FROM generate_series(1, 20000) i`); err != nil {
		t.Fatal(err)
	}
	in, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	options := renderOptions(true, ",", `"`, `"`)
	var want writes
	if _, err := conn.PgConn().CopyTo(t.Context(), &want, "COPY (SELECT * FROM t) TO STDOUT ("+options+")"); err != nil {
		t.Fatal(err)
	}
	scan, err := in.ScanTable(t.Context(), bulk.Query{SQL: "SELECT * FROM t"}, "t", 8)
	if err != nil {
		t.Fatal(err)
	}
	defer scan.Close()
	if scan.Ranges() < 2 {
		t.Fatalf("%d ranges, want several", scan.Ranges())
	}
	var got writes
	for i := range scan.Ranges() {
		o := options
		if i > 0 {
			o = renderOptions(false, ",", `"`, `"`)
		}
		if err := scan.CopyRange(t.Context(), i, &got, o); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("%d ranges wrote %d rows unlike PostgreSQL's %d", scan.Ranges(), len(got), len(want))
	}
}

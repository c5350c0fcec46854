package export_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/s3bridge/s3bridge"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	pformat "github.com/parquet-go/parquet-go/format"

	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/format"
)

// cell is a decoded field: nil for NULL.
type cell = *string

func str(s string) cell { return &s }

// wantRows is table t's rows as decode returns them, amounts normalized by
// norm.
func wantRows(n int) [][]cell {
	var rows [][]cell
	for i := 1; i <= n; i++ {
		name := str("name-" + strconv.Itoa(i))
		switch i {
		case 3:
			name = nil
		case 4:
			name = str(nasty)
		}
		rows = append(rows, []cell{str(strconv.Itoa(i)), name, str(strconv.FormatFloat(float64(i)*1.5, 'f', 2, 64))})
	}
	return rows
}

// norm rewrites numbers in the third column to two decimals, since each
// database prints t.amount its own way (1.5, 1.50).
func norm(rows [][]cell) [][]cell {
	for _, r := range rows {
		if len(r) == 3 && r[2] != nil {
			if f, err := strconv.ParseFloat(*r[2], 64); err == nil {
				r[2] = str(strconv.FormatFloat(f, 'f', 2, 64))
			}
		}
	}
	return rows
}

// decode reads one part of any format back into rows, through decoders
// that are not the encoders: the format package's for csv and text,
// encoding/json, and parquet-go's reader.
func decode(t *testing.T, f string, header bool, body []byte) (cols []string, rows [][]cell) {
	t.Helper()
	switch f {
	case export.FormatCSV, export.FormatText:
		return decodeDelimited(t, f, header, body)
	case export.FormatJSONL:
		return decodeJSONL(t, body)
	case export.FormatParquet:
		return decodeParquet(t, body)
	}
	t.Fatalf("format %s", f)
	return nil, nil
}

func decodeDelimited(t *testing.T, f string, header bool, body []byte) (cols []string, rows [][]cell) {
	t.Helper()
	r, err := format.NewReader(bytes.NewReader(body), format.Options{Format: f, Header: header, NullEmpty: f == export.FormatCSV})
	must(t, err)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return r.Columns(), rows
		}
		must(t, err)
		row := make([]cell, len(rec))
		for i, v := range rec {
			if !v.Null {
				row[i] = str(v.S)
			}
		}
		rows = append(rows, row)
	}
}

func decodeJSONL(t *testing.T, body []byte) (cols []string, rows [][]cell) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("line %q: not an object", sc.Text())
		}
		var row []cell
		var names []string
		for dec.More() {
			k, _ := dec.Token()
			names = append(names, k.(string))
			var v any
			must(t, dec.Decode(&v))
			switch v := v.(type) {
			case nil:
				row = append(row, nil)
			case string:
				row = append(row, str(v))
			default:
				row = append(row, str(fmt.Sprint(v)))
			}
		}
		cols, rows = names, append(rows, row)
	}
	must(t, sc.Err())
	return cols, rows
}

func decodeParquet(t *testing.T, body []byte) (cols []string, rows [][]cell) {
	t.Helper()
	pf, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
	must(t, err)
	fields := pf.Schema().Fields()
	for _, c := range fields {
		cols = append(cols, c.Name())
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	buf := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(buf)
		for _, pr := range buf[:n] {
			row := make([]cell, len(cols))
			for _, v := range pr {
				if !v.IsNull() {
					row[v.Column()] = str(parquetText(fields[v.Column()], v))
				}
			}
			rows = append(rows, row)
		}
		if err == io.EOF {
			return cols, rows
		}
		must(t, err)
	}
}

// parquetText prints a Parquet value by its logical type.
func parquetText(f parquet.Field, v parquet.Value) string {
	var dec *pformat.DecimalType
	if lt := f.Type().LogicalType(); lt != nil {
		dec, _ = lt.Value.(*pformat.DecimalType)
	}
	switch {
	case dec != nil:
		var unscaled int64
		switch v.Kind() {
		case parquet.Int32:
			unscaled = int64(v.Int32())
		case parquet.Int64:
			unscaled = v.Int64()
		default:
			return fmt.Sprintf("fixed:%x", v.ByteArray())
		}
		return strconv.FormatFloat(float64(unscaled)/pow10(int(dec.Scale)), 'f', int(dec.Scale), 64)
	case v.Kind() == parquet.ByteArray:
		return string(v.ByteArray())
	}
	return v.String()
}

func pow10(n int) float64 {
	p := 1.0
	for range n {
		p *= 10
	}
	return p
}

func checkRows(t *testing.T, what string, got, want [][]cell) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
}

func show(rows [][]cell) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString("[")
		for i, c := range r {
			if i > 0 {
				b.WriteString(" ")
			}
			if c == nil {
				b.WriteString("NULL")
			} else {
				b.WriteString(strconv.Quote(*c))
			}
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// TestFormats exports the same table in every format and compression from
// every database and reads each file back with an independent decoder.
func TestFormats(t *testing.T) {
	forEachDB(t, func(t *testing.T, d db) {
		h := newHarness(t, d)
		h.exec(d.table(10)...)
		for _, f := range []string{export.FormatCSV, export.FormatText, export.FormatJSONL, export.FormatParquet} {
			for _, c := range []string{"", export.CompressGzip, export.CompressZstd} {
				t.Run(f+"-"+c, func(t *testing.T) {
					prefix := "fmt/" + f + c
					header := f == export.FormatCSV
					h.ok(export.Params{Query: "SELECT id, name, amount FROM t ORDER BY id", URI: h.uri(prefix), Format: f, Header: header, Compression: c})
					keys := h.keys(prefix)
					ext := map[string]string{"": "", export.CompressGzip: ".gz", export.CompressZstd: ".zst"}[c]
					if f == export.FormatParquet {
						ext = ""
					}
					if want := []string{prefix + ".part_00000" + ext}; !reflect.DeepEqual(keys, want) {
						t.Fatalf("keys %v, want %v", keys, want)
					}
					cols, rows := decode(t, f, header, h.get(keys[0]))
					if (header || f == export.FormatJSONL || f == export.FormatParquet) && !reflect.DeepEqual(cols, []string{"id", "name", "amount"}) {
						t.Errorf("columns %v", cols)
					}
					checkRows(t, f, norm(rows), wantRows(10))
				})
			}
		}
	})
}

// TestParts: a small --max-file-size splits the output into parts at row
// boundaries, each with the header, named .part_00000…, listed in a
// manifest written after them; aws_s3 naming gives file, file_part2….
func TestParts(t *testing.T) {
	forEachDB(t, func(t *testing.T, d db) {
		h := newHarness(t, d)
		h.exec(d.table(200)...)
		const max = 1024
		for _, f := range []string{export.FormatCSV, export.FormatText, export.FormatJSONL, export.FormatParquet} {
			t.Run(f, func(t *testing.T) {
				prefix := "parts/" + f
				header := f != export.FormatJSONL && f != export.FormatParquet
				h.ok(export.Params{Query: "SELECT id, name, amount FROM t ORDER BY id", URI: h.uri(prefix), Format: f,
					Header: header, MaxFileSize: max, Manifest: true})
				checkParts(t, h, prefix, f, header, max)
			})
		}
		t.Run("aws_s3 names", func(t *testing.T) {
			h.ok(export.Params{Query: "SELECT id, name, amount FROM t ORDER BY id", URI: h.uri("aws/file.csv"), Format: export.FormatCSV,
				MaxFileSize: 1024, Naming: export.NamingAWSS3})
			keys := h.keys("aws/")
			if len(keys) < 2 || keys[0] != "aws/file.csv" || keys[1] != "aws/file.csv_part2" {
				t.Errorf("keys %v, want aws/file.csv, aws/file.csv_part2…", keys)
			}
		})
	})
}

func checkParts(t *testing.T, h *harness, prefix, f string, header bool, max int64) {
	t.Helper()
	objs, _, err := h.store.List(t.Context(), h.bucket, prefix+".", "")
	must(t, err)
	var all [][]cell
	var parts []string
	var manifestAt time.Time
	objs = slices.DeleteFunc(objs, func(o s3bridge.Object) bool {
		if strings.HasSuffix(o.Key, ".manifest") {
			manifestAt = o.LastModified
			return true
		}
		return false
	})
	for i, o := range objs {
		if want := fmt.Sprintf("%s.part_%05d", prefix, i); o.Key != want {
			t.Errorf("part %d is %s, want %s", i, o.Key, want)
		}
		parts = append(parts, o.Key)
		body := h.get(o.Key)
		cols, rows := decode(t, f, header, body)
		if header && !reflect.DeepEqual(cols, []string{"id", "name", "amount"}) {
			t.Errorf("%s: header %v", o.Key, cols)
		}
		if len(rows) == 0 {
			t.Errorf("%s holds no row", o.Key)
		}
		// A part is closed at the first row boundary past the maximum:
		// parts before the last reach it, and each stays under it plus one
		// row (Parquet's estimate is before compression, so its parts are
		// smaller still).
		last := i == len(objs)-1
		if f != export.FormatParquet && !last && o.Size < max {
			t.Errorf("%s is %d bytes, closed before reaching %d", o.Key, o.Size, max)
		}
		if f != export.FormatParquet && o.Size > max+100 {
			t.Errorf("%s is %d bytes, far past %d", o.Key, o.Size, max)
		}
		all = append(all, rows...)
	}
	if len(parts) < 3 {
		t.Fatalf("%d parts, want several", len(parts))
	}
	checkRows(t, "all parts", norm(all), wantRows(200))
	var m struct{ Entries []struct{ URL string } }
	must(t, json.Unmarshal(h.get(prefix+".manifest"), &m))
	if len(m.Entries) != len(parts) {
		t.Fatalf("manifest has %d entries for %d parts", len(m.Entries), len(parts))
	}
	for i, e := range m.Entries {
		if e.URL != h.uri(parts[i]) {
			t.Errorf("manifest entry %d is %s, want %s", i, e.URL, h.uri(parts[i]))
		}
	}
	for _, o := range objs {
		if o.LastModified.After(manifestAt) {
			t.Errorf("%s was written after the manifest", o.Key)
		}
	}
}

// TestOverwrite: without OVERWRITE an existing file fails the export before
// anything is written; with it the files are replaced.
func TestOverwrite(t *testing.T) {
	forEachDB(t, func(t *testing.T, d db) {
		h := newHarness(t, d)
		h.exec(d.table(5)...)
		for _, naming := range []string{export.NamingAurora, export.NamingAWSS3} {
			t.Run(naming, func(t *testing.T) {
				p := export.Params{Query: "SELECT * FROM t ORDER BY id", URI: h.uri("ow-" + naming + "/x"), Format: export.FormatCSV, Naming: naming, Manifest: naming == export.NamingAurora}
				h.ok(p)
				before := h.keys("ow-" + naming + "/")
				h.exec("UPDATE t SET name = 'changed' WHERE id = 1")
				h.fails(p, "already exists", "OVERWRITE")
				if after := h.keys("ow-" + naming + "/"); !reflect.DeepEqual(after, before) {
					t.Errorf("a refused export changed the files: %v, then %v", before, after)
				}
				p.Overwrite = true
				h.ok(p)
				first := before[len(before)-1] // x.part_00000 or x
				if body := h.get(first); !strings.Contains(string(body), "changed") {
					t.Errorf("%s was not replaced: %s", first, body)
				}
				h.exec("UPDATE t SET name = 'name-1' WHERE id = 1")
			})
		}
		// Another file that merely shares the prefix is no obstacle.
		h.put("other/x.csv", "unrelated")
		h.ok(export.Params{Query: "SELECT 1 AS one", URI: h.uri("other/x"), Format: export.FormatCSV})
	})
}

func (h *harness) put(key, body string) {
	h.t.Helper()
	_, err := h.store.Upload(h.t.Context(), h.bucket, key, strings.NewReader(body), s3bridge.PutOptions{})
	must(h.t, err)
}

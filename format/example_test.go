package format_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/format/compress"
)

func gzipped(s string) *bytes.Buffer {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return &b
}

// A loader chains the object body through compress and format.
func Example() {
	body := gzipped("id,price,note\n1,12345678901234567890.10,\"a, b\"\n2,0.1,\n")

	data, codec, err := compress.Decompress(body, "s3://bucket/prices.csv.gz", "", 1<<30)
	if err != nil {
		log.Fatal(err)
	}
	defer data.Close()
	r, err := format.NewReader(data, format.Options{Format: "csv", Header: true, NullEmpty: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(codec, r.Columns())
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Line(), rec)
	}
	// Output:
	// gzip [id price note]
	// 2 [{1 false} {12345678901234567890.10 false} {a, b false}]
	// 3 [{2 false} {0.1 false} { true}]
}

// TestTruncatedGzipChain checks that a cut gzip object fails the load at
// the line where the data stops, instead of loading a short file.
func TestTruncatedGzipChain(t *testing.T) {
	var sb strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&sb, "%d,row %d\n", i, i)
	}
	gz := gzipped(sb.String()).Bytes()
	data, _, err := compress.Decompress(bytes.NewReader(gz[:len(gz)/2]), "x.csv.gz", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := format.NewReader(data, format.Options{Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err = r.Next()
		if err != nil {
			break
		}
	}
	var e *format.Error
	if !errors.As(err, &e) || !e.Fatal || !errors.Is(err, io.ErrUnexpectedEOF) || e.Line < 2 {
		t.Fatalf("got %v, want a fatal *format.Error at a line wrapping io.ErrUnexpectedEOF", err)
	}
	t.Log(err)
}

// TestExactNumbers checks that numbers come out exactly as written in
// every format: no float rounding anywhere.
func TestExactNumbers(t *testing.T) {
	nums := []string{"12345678901234567890", "0.1", "-0.000000000000000000001", "1e400", "3.14159265358979323846264338327950288"}
	inputs := map[string]string{
		"text":  strings.Join(nums, "\t") + "\n",
		"tsv":   strings.Join(nums, "\t") + "\n",
		"csv":   strings.Join(nums, ",") + "\n",
		"jsonl": `{"a":` + nums[0] + `,"b":` + nums[1] + `,"c":` + nums[2] + `,"d":` + nums[3] + `,"e":` + nums[4] + "}\n",
		"json":  `[{"a":` + nums[0] + `,"b":` + nums[1] + `,"c":` + nums[2] + `,"d":` + nums[3] + `,"e":` + nums[4] + "}]",
		"xml":   `<row a="` + nums[0] + `" b="` + nums[1] + `"><c>` + nums[2] + `</c><d>` + nums[3] + `</d><field name="e">` + nums[4] + `</field></row>`,
	}
	for f, in := range inputs {
		r, err := format.NewReader(strings.NewReader(in), format.Options{Format: f})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		got := make([]string, len(rec))
		for i, v := range rec {
			got[i] = v.S
		}
		if strings.Join(got, " ") != strings.Join(nums, " ") {
			t.Errorf("%s: got %q, want %q", f, got, nums)
		}
	}
}

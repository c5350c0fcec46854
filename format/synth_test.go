package format

import (
	"bytes"
	"fmt"
	"io"
)

// synthBlock returns a block of n varied records of the format (with
// quoting, escapes and NULLs where the format has them), the text that opens
// and closes a whole file, and the number of '\n' per record.
func synthBlock(format string, n int) (block []byte, head, tail string) {
	var b bytes.Buffer
	for i := range n {
		price := fmt.Sprintf("%d.%02d", i*7%1000, i%100)
		switch format {
		case "text", "tsv":
			note := "plain note"
			if i%10 == 0 {
				note = `tab\there, newline\nthere`
			}
			null := `\N`
			if i%3 == 0 {
				null = "2024-01-02 03:04:05"
			}
			fmt.Fprintf(&b, "%d\tname %d\t%s\t%s\t%s\n", i, i, price, null, note)
		case "csv":
			note := "plain note"
			if i%10 == 0 {
				note = `"quoted, with ""quotes"""`
			}
			fmt.Fprintf(&b, "%d,\"Smith, %d\",%s,2024-01-02,,%s\n", i, i, price, note)
		case "jsonl":
			fmt.Fprintf(&b, `{"id":%d,"name":"name %d","price":%s,"ok":true,"n":null,"tags":["a","b"]}`+"\n", i, i, price)
		case "json":
			fmt.Fprintf(&b, `  {"id":%d,"name":"name %d","price":%s,"ok":true,"n":null},`+"\n", i, i, price)
		case "xml":
			fmt.Fprintf(&b, `<row id="%d"><name>name %d</name><price>%s</price><n xsi:nil="true"/></row>`+"\n", i, i, price)
		}
	}
	switch format {
	case "json":
		return b.Bytes(), "[\n", `  {"id":0}` + "\n]\n"
	case "xml":
		return b.Bytes(), "<rows>\n", "</rows>\n"
	}
	return b.Bytes(), "", ""
}

// synth returns a reader of a whole file of at least size bytes, generated
// on the fly from a repeated block (never held in memory), and the number of
// records in it.
func synth(format string, size int64) (io.Reader, int64) {
	const perBlock = 1000
	block, head, tail := synthBlock(format, perBlock)
	copies := size/int64(len(block)) + 1
	records := copies * perBlock
	if format == "json" {
		records++ // the tail's last element
	}
	return io.MultiReader(bytes.NewReader([]byte(head)), &repeatReader{b: block, n: copies}, bytes.NewReader([]byte(tail))), records
}

type repeatReader struct {
	b   []byte
	n   int64
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := copy(p, r.b[r.off:])
	if r.off += k; r.off == len(r.b) {
		r.off, r.n = 0, r.n-1
	}
	return k, nil
}

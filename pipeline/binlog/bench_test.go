package binlog

import (
	"encoding/binary"
	"flag"
	"os"
	"testing"

	"github.com/s3bridge/s3bridge/pipeline"
)

var benchFile = flag.String("binlogfile", "", "a binary log file (mariadb-binlog --raw) for BenchmarkDecode instead of the captured stream")

// BenchmarkDecode decodes a stream's events, every row's values
// included, as Stream.Next does after reading them: the captured stream
// of every type, or the file -binlogfile names (bench/pipeline_mariadb.sh
// keeps none; copy one with mariadb-binlog --raw). For profiles:
//
//	go test ./pipeline/binlog/ -run '^$' -bench Decode -binlogfile F -cpuprofile cpu.prof
func BenchmarkDecode(b *testing.B) {
	c := loadCaptured(b)
	events := c.Events
	colls := Collations(c.Collations)
	if *benchFile != "" {
		events = fileEvents(b, *benchFile)
		// The common collations of a server's defaults, beside the
		// captured ones.
		for id, cs := range map[uint32]string{8: "latin1", 33: "utf8mb3", 45: "utf8mb4", 46: "utf8mb4", 224: "utf8mb4", 2048: "utf8mb4"} {
			colls[id] = cs
		}
	}
	var size int64
	for _, ev := range events {
		size += int64(len(ev))
	}
	b.SetBytes(size)
	var rows int
	for b.Loop() {
		d := newDecoder("", colls, pipeline.NewVersions(nil), Position{}, checksumCRC32)
		rows = 0
		for _, ev := range events {
			if err := d.decode(ev); err != nil {
				b.Fatal(err)
			}
			for _, e := range d.out {
				if e.Change != nil {
					rows++
				}
			}
			clear(d.out)
			d.out = d.out[:0]
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// fileEvents splits a binary log file into its events.
func fileEvents(b *testing.B, name string) [][]byte {
	data, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	if len(data) < 4 || string(data[:4]) != "\xfebin" {
		b.Fatalf("%s: not a binary log", name)
	}
	var events [][]byte
	for p := data[4:]; len(p) > 0; {
		if len(p) < headerSize {
			b.Fatalf("%s: %d bytes after the last event", name, len(p))
		}
		n := int(binary.LittleEndian.Uint32(p[9:]))
		if n < headerSize || n > len(p) {
			b.Fatalf("%s: an event of %d bytes", name, n)
		}
		events, p = append(events, p[:n:n]), p[n:]
	}
	return events
}

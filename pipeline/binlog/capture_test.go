package binlog

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"flag"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/s3bridge/s3bridge/pipeline"
)

var update = flag.Bool("update", false, "write the events TestEveryType reads to testdata, for TestCaptured")

// captured is a test's stream kept for the offline tests: the events of
// the test's database (with the FORMAT_DESCRIPTION and ROTATE before
// them), the collations its columns use, and the changes the server said
// they make, as the oracle's texts.
type captured struct {
	Server     string            `json:"server"`
	Database   string            `json:"database"`
	Collations map[uint32]string `json:"collations"`
	Events     [][]byte          `json:"events"`
	Changes    []capturedChange  `json:"changes"`
}

type capturedChange struct {
	Op     string    `json:"op"`
	Before []*string `json:"before"`
	After  []*string `json:"after"`
}

const capturedFile = "testdata/every.json.gz"

// capturer keeps the event groups of one database from a stream.
type capturer struct {
	t        *testing.T
	db       string
	events   [][]byte
	group    [][]byte
	keep     bool
	inGroup  bool
	solitary bool
	colls    map[uint32]bool
}

func (c *capturer) add(ev []byte) {
	h, body, _, err := split(ev, checksumCRC32, "", 0)
	if err != nil {
		c.t.Errorf("capture: %v", err)
		return
	}
	ev = bytes.Clone(ev)
	switch {
	case h.Type == GTIDEvent:
		g, _ := parseGTID(body, h.ServerID)
		c.group, c.keep, c.inGroup, c.solitary = [][]byte{ev}, false, true, g.standalone()
		return
	case !c.inGroup:
		if h.Type == FormatDescriptionEvent || h.Type == RotateEvent {
			c.events = append(c.events, ev)
		}
		return
	}
	c.group = append(c.group, ev)
	end := h.Type == XIDEvent
	switch h.Type {
	case TableMapEvent:
		tm, err := parseTableMap(body, 8)
		if err == nil && tm.database == c.db {
			c.keep = true
			for _, col := range tm.columns {
				if col.collation != 0 {
					c.colls[col.collation] = true
				}
			}
		}
	case QueryEvent:
		q, _ := parseQuery(body, 13)
		end = c.solitary || q.sql == "COMMIT"
		c.keep = c.keep || (c.solitary && q.database == c.db)
	}
	if end {
		if c.keep {
			c.events = append(c.events, c.group...)
		}
		c.inGroup = false
	}
}

// save writes the capture to testdata, compressed (the long values
// repeat).
func (c *capturer) save(st *Stream, want []expectedChange) {
	out := captured{Server: st.c.server, Database: c.db, Collations: map[uint32]string{}, Events: c.events}
	for id := range c.colls {
		out.Collations[id] = st.dec.collations[id]
	}
	for _, w := range want {
		out.Changes = append(out.Changes, capturedChange{Op: w.op.String(), Before: w.before, After: w.after})
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	enc := json.NewEncoder(zw)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		c.t.Fatal(err)
	}
	zw.Close()
	if err := os.MkdirAll(filepath.Dir(capturedFile), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(capturedFile, buf.Bytes(), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func loadCaptured(t testing.TB) *captured {
	t.Helper()
	f, err := os.Open(capturedFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var c captured
	if err := json.NewDecoder(zr).Decode(&c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func (c *captured) expected() []expectedChange {
	var out []expectedChange
	for _, ch := range c.Changes {
		out = append(out, expectedChange{op: pipeline.Op(ch.Op[0]), before: ch.Before, after: ch.After})
	}
	return out
}

// decodeAll decodes events with a fresh decoder and returns the pipeline
// events, or the first error.
func decodeAll(c *captured, events [][]byte) ([]pipeline.Event, *decoder, error) {
	d := newDecoder("", Collations(c.Collations), pipeline.NewVersions(nil), Position{}, checksumCRC32)
	for _, ev := range events {
		if err := d.decode(ev); err != nil {
			return d.out, d, err
		}
	}
	return d.out, d, nil
}

// reseal sets an event's size to its length and recomputes its CRC32.
func reseal(ev []byte) []byte {
	binary.LittleEndian.PutUint32(ev[9:], uint32(len(ev)))
	binary.LittleEndian.PutUint32(ev[len(ev)-4:], crc32.ChecksumIEEE(ev[:len(ev)-4]))
	return ev
}

func cloneEvents(evs [][]byte) [][]byte {
	out := make([][]byte, len(evs))
	for i, ev := range evs {
		out[i] = slices.Clone(ev)
	}
	return out
}

package writer

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/pipeline"
)

// TestChunkKeys: a chunk's parts are named from its number, in any
// format, and Recover reads the chunk back from every such name.
func TestChunkKeys(t *testing.T) {
	for _, c := range []struct {
		ext         string
		chunk, part int
		want        string
	}{
		{"", 0, 0, "p/db/s/t/snapshot/ID/part-00000.avro"},
		{"", 3, 0, "p/db/s/t/snapshot/ID/part-00003.avro"},
		{"", 3, 2, "p/db/s/t/snapshot/ID/part-00003_2.avro"},
		{".jsonl.zst", 12, 1, "p/db/s/t/snapshot/ID/part-00012_1.jsonl.zst"},
		{".parquet", 7, 0, "p/db/s/t/snapshot/ID/part-00007.parquet"},
	} {
		l := Layout{Prefix: "p", Database: "db", Ext: c.ext}
		key := l.chunkPartKey("s", "t", "ID", c.chunk, c.part)
		if key != c.want {
			t.Errorf("chunk %d part %d, ext %q: %s, want %s", c.chunk, c.part, c.ext, key, c.want)
		}
		if got := chunkOf(key[len("p/db/s/t/snapshot/ID/"):]); got != c.chunk {
			t.Errorf("chunkOf(%s) = %d", key, got)
		}
	}
	for _, name := range []string{"part-.avro", "parts-00001.avro", "part-0001x.avro", "v1.avsc", ""} {
		if got := chunkOf(name); got != -1 {
			t.Errorf("chunkOf(%q) = %d, want -1", name, got)
		}
	}
}

// TestPartialSnapshotChunking: a checkpoint keeps a source's chunking
// (PostgreSQL's pages, MariaDB's key ranges) and its resume token through
// JSON and Clone, under the keys older checkpoints have.
func TestPartialSnapshotChunking(t *testing.T) {
	for _, c := range []pipeline.Chunking{
		{Chunks: 4, Pages: 128},
		{Chunks: 3, Key: []string{"id"}, Bounds: [][][]byte{{[]byte("100")}, {[]byte("200")}}},
	} {
		cp := Checkpoint{LSN: 7, Position: "0-1-9 mariadb-bin.000002:4",
			Tables: map[string]TableMark{"s.t": {Partial: NewPartialSnapshot("0000000000000007", nil, c, []int{1})}}}
		b, err := json.Marshal(cp)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{`"position":"0-1-9 mariadb-bin.000002:4"`, `"chunks":`, `"pages_per_chunk":`} {
			if !strings.Contains(string(b), key) {
				t.Errorf("%s: no %s", b, key)
			}
		}
		var back Checkpoint
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		for _, got := range []Checkpoint{back, cp.Clone()} {
			if got.Position != cp.Position || !reflect.DeepEqual(got.Tables["s.t"].Partial.Chunking(), c) {
				t.Errorf("got %q %+v, want %q %+v", got.Position, got.Tables["s.t"].Partial.Chunking(), cp.Position, c)
			}
		}
	}
}

package writer

import "testing"

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

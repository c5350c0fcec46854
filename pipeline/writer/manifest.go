package writer

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/pipeline"
)

// Manifest is the content of _pipeline.json: what a reader of the prefix
// needs to know, and nothing secret.
type Manifest struct {
	Pipeline string          `json:"pipeline"`
	Source   ManifestSource  `json:"source"`
	Format   string          `json:"format"`
	Codec    string          `json:"codec"`
	Tables   []ManifestTable `json:"tables"`
}

// ManifestSource names the source database.
type ManifestSource struct {
	Kind     string `json:"kind"`
	Database string `json:"database"`
}

// ManifestTable describes one table's objects: its schema versions (1 to
// Version, each with its .avsc) and its completed snapshots.
//
// A reader rebuilds the table from its latest snapshot (Snapshot, taken at
// the LSN its id spells) and the changes whose commit LSN (source.lsn) is at
// or after that LSN, in LSN order; changes before it are history the
// snapshot already holds. Earlier snapshots stay, listed in Snapshots.
type ManifestTable struct {
	Schema   string `json:"schema"`
	Table    string `json:"table"`
	Prefix   string `json:"prefix"` // relative to the pipeline's prefix
	Versions []int  `json:"versions"`
	Snapshot string `json:"snapshot,omitempty"`
	// Parts is the number of chunks of Snapshot: its parts are part-<c>
	// and part-<c>_<n> for c below it.
	Parts int `json:"snapshot_chunks,omitempty"`
	// Snapshots are every completed snapshot, oldest first; the last is
	// Snapshot.
	Snapshots []ManifestSnapshot `json:"snapshots,omitempty"`
	Schemas   []string           `json:"schemas"` // the .avsc keys, relative too
}

// ManifestSnapshot is one completed snapshot of a table.
type ManifestSnapshot struct {
	ID string `json:"id"`
	// LSN is its consistent point, in PostgreSQL's form.
	LSN   string `json:"lsn"`
	Parts int    `json:"chunks"`
	// Prefix holds its parts, relative to the pipeline's prefix.
	Prefix string `json:"prefix"`
}

// manifest describes the pipeline as of cp.
func (w *Writer) manifest(cp Checkpoint) Manifest {
	m := Manifest{Pipeline: w.opts.Pipeline, Format: string(cmp.Or(w.opts.Format, Avro)), Codec: string(w.avroCodec()),
		Source: ManifestSource{Kind: "postgres", Database: w.opts.Layout.Database}, Tables: []ManifestTable{}}
	for _, k := range w.sortedTables() {
		mk, ok := cp.Tables[k]
		t := w.tables[k]
		if !ok || mk.Schema == nil {
			continue
		}
		mt := ManifestTable{Schema: t.schema, Table: t.name, Prefix: strings.TrimPrefix(w.opts.Layout.TableDir(t.schema, t.name), w.opts.Layout.root()),
			Snapshot: mk.Snapshot, Parts: mk.Parts}
		for _, sm := range append(slices.Clone(mk.Earlier), SnapshotMark{ID: mk.Snapshot, Parts: mk.Parts}) {
			if sm.ID == "" {
				continue
			}
			var lsn string
			if n, err := strconv.ParseUint(sm.ID, 16, 64); err == nil {
				lsn = pipeline.LSN(n).String()
			}
			mt.Snapshots = append(mt.Snapshots, ManifestSnapshot{ID: sm.ID, LSN: lsn, Parts: sm.Parts,
				Prefix: strings.TrimPrefix(w.opts.Layout.SnapshotDir(t.schema, t.name, sm.ID), w.opts.Layout.root())})
		}
		for v := 1; v <= mk.Schema.Version; v++ {
			mt.Versions = append(mt.Versions, v)
			mt.Schemas = append(mt.Schemas, strings.TrimPrefix(w.opts.Layout.SchemaKey(t.schema, t.name, v), w.opts.Layout.root()))
		}
		m.Tables = append(m.Tables, mt)
	}
	return m
}

func (w *Writer) avroCodec() string {
	if w.opts.Codec == "" {
		return "snappy"
	}
	return string(w.opts.Codec)
}

// writeManifest writes _pipeline.json when its content changed.
func (w *Writer) writeManifest(ctx context.Context, cp Checkpoint) error {
	b, err := json.MarshalIndent(w.manifest(cp), "", "  ")
	if err != nil {
		return err
	}
	if bytes.Equal(b, w.manifestJSON) {
		return nil
	}
	key := w.opts.Layout.ManifestKey()
	if _, err := w.store.Upload(ctx, w.opts.Bucket, key, bytes.NewReader(b),
		s3bridge.PutOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	w.manifestJSON = b
	return nil
}

// ReadManifest reads the _pipeline.json under l; found is false when there
// is none.
func ReadManifest(ctx context.Context, store Store, bucket string, l Layout) (m Manifest, found bool, err error) {
	key := l.ManifestKey()
	rc, _, err := store.Open(ctx, bucket, key)
	if errors.Is(err, s3bridge.ErrNotFound) {
		return Manifest{}, false, nil
	}
	if err != nil {
		return Manifest{}, false, fmt.Errorf("read %s: %w", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return Manifest{}, false, fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, true, fmt.Errorf("read %s: %w", key, err)
	}
	return m, true, nil
}

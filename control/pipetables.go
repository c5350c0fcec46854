package control

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/pipeline/writer"
)

// PipelineTable is one captured table as the pipeline's checkpoint (the
// instance row, no S3 call) records it: its schema version, its last
// change file, and the snapshots written of it.
type PipelineTable struct {
	// Table is schema.table.
	Table string `json:"table"`
	// SchemaVersion counts the table's shapes from 1 (0 before the first
	// change or snapshot is durable); Columns is the latest shape's.
	SchemaVersion int      `json:"schema_version"`
	Columns       []string `json:"columns,omitempty"`
	// LastFile is the key of the table's last durable change file.
	LastFile string `json:"last_file,omitempty"`
	// Snapshot is the id of its latest completed snapshot, SnapshotChunks
	// its chunks (each one part file or more).
	Snapshot       string `json:"snapshot,omitempty"`
	SnapshotChunks int    `json:"snapshot_chunks,omitempty"`
	// EarlierSnapshots are the completed snapshots before it, whose
	// files stay; EarlierChunks their chunks.
	EarlierSnapshots int `json:"earlier_snapshots,omitempty"`
	EarlierChunks    int `json:"earlier_chunks,omitempty"`
	// SnapshotInProgress is "done/chunks" of a snapshot being copied.
	SnapshotInProgress string `json:"snapshot_in_progress,omitempty"`
}

// PipelineTables is the pipeline's tables as its checkpoint records them,
// by name; none before its first checkpoint.
func PipelineTables(p sqlstore.Pipeline) ([]PipelineTable, error) {
	out := []PipelineTable{}
	if p.Checkpoint == "" {
		return out, nil
	}
	var cp writer.Checkpoint
	if err := json.Unmarshal([]byte(p.Checkpoint), &cp); err != nil {
		return out, fmt.Errorf("pipeline %s: its stored checkpoint: %w", p.Name, err)
	}
	for name, m := range cp.Tables {
		t := PipelineTable{Table: name, LastFile: m.File, Snapshot: m.Snapshot, SnapshotChunks: m.Parts, EarlierSnapshots: len(m.Earlier)}
		if m.Schema != nil {
			t.SchemaVersion = m.Schema.Version
			for _, c := range m.Schema.Columns {
				t.Columns = append(t.Columns, c.Name)
			}
		}
		for _, e := range m.Earlier {
			t.EarlierChunks += e.Parts
		}
		if pa := m.Partial; pa != nil {
			t.SnapshotInProgress = fmt.Sprintf("%d/%d", len(pa.Done), pa.Chunks)
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b PipelineTable) int { return strings.Compare(a.Table, b.Table) })
	return out, nil
}

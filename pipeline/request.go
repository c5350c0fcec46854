package pipeline

import (
	"fmt"
	"slices"
)

// SnapshotRequest asks the agent running a pipeline for a new snapshot of
// some of its tables while it streams (pipeline snapshot, add-table). Seq
// numbers the requests of a pipeline from 1; the pipeline's checkpoint
// records the last one done, so a request survives crashes until its
// snapshot is durable.
type SnapshotRequest struct {
	Seq int64 `json:"seq"`
	// Tables are "schema.table" names; empty means every captured table.
	Tables []string `json:"tables,omitempty"`
}

// CheckTable refuses a table name that is not schema.table.
func CheckTable(name string) error {
	if !tableName.MatchString(name) {
		return fmt.Errorf("%q: want schema.table", name)
	}
	return nil
}

// RequestSnapshot appends a request for tables (nil: all) and returns it.
// Every table must be one the pipeline captures (with --all-tables, any).
func (s *Spec) RequestSnapshot(tables []string) (SnapshotRequest, error) {
	for _, t := range tables {
		if !tableName.MatchString(t) {
			return SnapshotRequest{}, fmt.Errorf("pipeline snapshot: %q: want schema.table", t)
		}
		if !s.AllTables && !slices.Contains(s.Tables, t) {
			return SnapshotRequest{}, fmt.Errorf("pipeline snapshot: %s is not captured by this pipeline (add it with pipeline add-table)", t)
		}
	}
	r := SnapshotRequest{Seq: 1, Tables: tables}
	if n := len(s.Requests); n > 0 {
		r.Seq = s.Requests[n-1].Seq + 1
	}
	s.Requests = append(s.Requests, r)
	return r, nil
}

// AddTable adds a table to the captured ones and, unless the pipeline
// never snapshots, requests its snapshot.
func (s *Spec) AddTable(table string) (*SnapshotRequest, error) {
	switch {
	case s.AllTables:
		return nil, fmt.Errorf("pipeline add-table: the pipeline captures all tables already, %s included", table)
	case !tableName.MatchString(table):
		return nil, fmt.Errorf("pipeline add-table: %q: want schema.table", table)
	case slices.Contains(s.Tables, table):
		return nil, fmt.Errorf("pipeline add-table: %s is captured already", table)
	}
	s.Tables = append(s.Tables, table)
	if s.Snapshot == "never" {
		return nil, nil
	}
	r, err := s.RequestSnapshot([]string{table})
	return &r, err
}

// Pending returns the requests after done, the last one a checkpoint
// recorded.
func (s Spec) Pending(done int64) []SnapshotRequest {
	var out []SnapshotRequest
	for _, r := range s.Requests {
		if r.Seq > done {
			out = append(out, r)
		}
	}
	return out
}

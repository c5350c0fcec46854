package pipeline

import "sync"

// Versions numbers the schema versions of a pipeline's tables. The stream
// and the snapshots that run beside it (pipeline snapshot, add-table) each
// meet a table's shape and need its version: they share one Versions, so a
// version number always stands for one shape, whoever met it first. It is
// safe for concurrent use.
type Versions struct {
	mu     sync.Mutex
	latest map[string]*TableSchema
	// seen are the versions met since NewVersions, by table.
	seen map[string][]*TableSchema
}

// NewVersions starts from known, the latest version of each table the
// pipeline has written (its checkpoint's), so that versions go on counting
// across restarts.
func NewVersions(known []TableSchema) *Versions {
	v := &Versions{latest: map[string]*TableSchema{}, seen: map[string][]*TableSchema{}}
	for i := range known {
		k := known[i]
		if cur, ok := v.latest[k.QualifiedName()]; !ok || k.Version > cur.Version {
			v.latest[k.QualifiedName()] = &k
		}
	}
	return v
}

// Evolve returns the version of shape (a TableSchema whose Version is
// ignored), which becomes the latest: numbered as the latest one when it
// has the same shape, else as a new one (see Evolve). isNew says which.
func (v *Versions) Evolve(shape TableSchema) (ts *TableSchema, isNew bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	k := shape.QualifiedName()
	next, isNew := Evolve(v.latest[k], shape)
	v.latest[k] = &next
	if isNew {
		v.seen[k] = append(v.seen[k], &next)
	}
	return &next, isNew
}

// Latest returns the latest version of the table named qualified
// (TableSchema.QualifiedName), nil when none is known.
func (v *Versions) Latest(qualified string) *TableSchema {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.latest[qualified]
}

// Find returns a version met already with the same shape as shape — the
// latest or an earlier one — else a new one, as Evolve. A snapshot taken
// beside the stream uses it: its shape may be one the stream has gone
// past (an ALTER TABLE committed after the snapshot's point and read
// already), and a version it numbered must not be taken for a new one.
// The latest version does not change when an earlier one is found.
func (v *Versions) Find(shape TableSchema) (*TableSchema, bool) {
	v.mu.Lock()
	k := shape.QualifiedName()
	if l := v.latest[k]; l != nil && l.SameShape(&shape) {
		v.mu.Unlock()
		return l, false
	}
	for _, s := range v.seen[k] {
		if s.SameShape(&shape) {
			v.mu.Unlock()
			return s, false
		}
	}
	v.mu.Unlock()
	return v.Evolve(shape)
}

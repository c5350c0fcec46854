package pipeline

// Slabs hands out Changes and rows carved from larger allocations, for a
// source's decoder: one allocation for many rows instead of two per row,
// which the garbage collector then has to sweep one by one. A slab stays
// in memory until the writer is done with the last of its rows, which it
// is within the same transaction or the next few. It is for one goroutine.
type Slabs struct {
	changes []Change
	values  []any
}

const slabRows = 128

// Change returns a zero Change.
func (s *Slabs) Change() *Change {
	if len(s.changes) == 0 {
		s.changes = make([]Change, slabRows)
	}
	c := &s.changes[0]
	s.changes = s.changes[1:]
	return c
}

// Row returns n nil values, with no room to grow into its neighbours.
func (s *Slabs) Row(n int) Row {
	if len(s.values) < n {
		s.values = make([]any, max(n, 8*slabRows))
	}
	r := s.values[:n:n]
	s.values = s.values[n:]
	return r
}

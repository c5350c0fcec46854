package bulk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/format"
)

func TestLineMap(t *testing.T) {
	var m lineMap
	// A header, then one-line rows, then rows every 3 lines (pretty JSON),
	// a row that takes 3 stream lines (a CSV value with line breaks), and
	// an irregular tail.
	for src := 2; src <= 5; src++ {
		m.add(src, 1)
	}
	for src := 10; src <= 19; src += 3 {
		m.add(src, 1)
	}
	m.add(30, 3)
	m.add(40, 1)
	m.add(41, 1)
	m.add(50, 1)
	tests := []struct {
		stream, src int
		ok          bool
	}{
		{1, 2, true}, {4, 5, true}, {5, 10, true}, {8, 19, true}, {9, 30, true}, {11, 30, true},
		{12, 40, true}, {13, 41, true}, {14, 50, true}, {15, 0, false}, {0, 0, false},
	}
	for _, tt := range tests {
		if src, ok := m.source(tt.stream); src != tt.src || ok != tt.ok {
			t.Errorf("source(%d) = %d, %v; want %d, %v", tt.stream, src, ok, tt.src, tt.ok)
		}
	}
	if len(m.runs) > 6 {
		t.Errorf("%d runs, want regular rows to share one", len(m.runs))
	}
}

// TestLineMapBounded: irregular rows fill the ring, then the oldest are
// forgotten rather than memory growing.
func TestLineMapBounded(t *testing.T) {
	var m lineMap
	src := 1
	for i := 0; i < 3*maxRuns; i++ {
		src += 1 + i%2 // a step that keeps changing: one run a row
		m.add(src, 1)
	}
	if len(m.runs) != maxRuns {
		t.Errorf("%d runs, want at most %d", len(m.runs), maxRuns)
	}
	if _, ok := m.source(1); ok {
		t.Error("the first row is still remembered")
	}
	if got, ok := m.source(3 * maxRuns); !ok || got != src {
		t.Errorf("the newest row: %d, %v; want %d", got, ok, src)
	}
}

func TestBatchRowAtLine(t *testing.T) {
	var b Batch
	b.add(format.CSVRow, []format.Value{{S: "a"}}, 2)
	b.add(format.CSVRow, []format.Value{{S: "x\ny\nz"}}, 3)
	b.add(format.CSVRow, []format.Value{{S: "c"}}, 6)
	for line, want := range map[int]int{1: 0, 2: 1, 4: 1, 5: 2, 6: -1} {
		if got := b.RowAtLine(line); got != want {
			t.Errorf("RowAtLine(%d) = %d, want %d", line, got, want)
		}
	}
	got, _ := io.ReadAll(b.without(map[int]bool{1: true}).Reader())
	if string(got) != "\"a\"\n\"c\"\n" {
		t.Errorf("without row 1: %q", got)
	}
}

// fakeDB is a Sender that refuses rows whose value starts with "bad" (at
// their index, like PostgreSQL, or without saying which, like MariaDB's
// duplicate keys) and remembers what it took.
type fakeDB struct {
	unknown bool
	taken   []string
	sends   int
}

func (f *fakeDB) send(_ context.Context, b *Batch) (int64, []Rejection, error) {
	f.sends++
	data, err := io.ReadAll(b.Reader())
	if err != nil {
		return 0, nil, err
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, `"bad`) {
			row := i
			if f.unknown {
				row = -1
			}
			return 0, []Rejection{{Row: row, Column: "v", Err: errors.New("refused")}}, nil
		}
	}
	f.taken = append(f.taken, lines...)
	return int64(len(lines)), nil, nil
}

func TestSendSkipping(t *testing.T) {
	var in strings.Builder
	in.WriteString("v\n")
	var want []string
	var wantBad []string
	for i := 1; i <= batchRows+500; i++ {
		if i%1000 == 7 {
			fmt.Fprintf(&in, "bad%d\n", i)
			wantBad = append(wantBad, fmt.Sprintf("f line %d (field \"v\"): refused", i+1))
			continue
		}
		fmt.Fprintf(&in, "ok%d\n", i)
		want = append(want, fmt.Sprintf(`"ok%d"`, i))
	}
	for _, unknown := range []bool{false, true} {
		var bad []string
		rows, err := NewRows(strings.NewReader(in.String()), "f", format.Options{Format: "csv", Header: true}, []string{"v"}, true,
			func(file string, err error) { bad = append(bad, file+" "+err.Error()) })
		if err != nil {
			t.Fatal(err)
		}
		db := &fakeDB{unknown: unknown}
		n, err := SendSkipping(t.Context(), rows, format.CSVRow, db.send)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(want)) || !slices.Equal(db.taken, want) {
			t.Errorf("unknown=%v: loaded %d rows, want %d (in order)", unknown, n, len(want))
		}
		if !slices.Equal(bad, wantBad) {
			t.Errorf("unknown=%v: reported %q, want %q", unknown, bad, wantBad)
		}
		t.Logf("unknown=%v: %d sends", unknown, db.sends)
	}
}

// TestSendSkippingGivesUp: a database that rejects a row past the batch
// fails the load instead of looping.
func TestSendSkippingGivesUp(t *testing.T) {
	rows, err := NewRows(strings.NewReader("v\na\nb\n"), "f", format.Options{Format: "csv", Header: true}, []string{"v"}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	send := func(_ context.Context, b *Batch) (int64, []Rejection, error) {
		return 0, []Rejection{{Row: b.Len(), Err: errors.New("refused")}}, nil
	}
	if _, err := SendSkipping(t.Context(), rows, format.CSVRow, send); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("got %v, want an error naming the batch's first line", err)
	}
}

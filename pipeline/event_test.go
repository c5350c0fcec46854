package pipeline

import (
	"context"
	"errors"
	"io"
	"testing"
)

type fakeSource []Event

func (f *fakeSource) Next(context.Context) (Event, error) {
	if len(*f) == 0 {
		return Event{}, io.EOF
	}
	ev := (*f)[0]
	*f = (*f)[1:]
	return ev, nil
}

func TestReadTx(t *testing.T) {
	ts := &TableSchema{Table: "t", Version: 1}
	tx := &Tx{ID: 7, CommitLSN: 10}
	end := &Tx{ID: 7, CommitLSN: 10, EndLSN: 11}
	src := fakeSource{
		{Message: &Message{Prefix: "loose"}},
		{Begin: tx},
		{Change: &Change{Op: OpCreate, Schema: ts}},
		{Message: &Message{Prefix: "in", Transactional: true}},
		{Change: &Change{Op: OpDelete, Schema: ts}},
		{Commit: end},
		{Change: &Change{Op: OpCreate, Schema: ts}},
	}
	got, loose, err := ReadTx(t.Context(), &src)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != 7 || got.EndLSN != 11 || len(got.Changes) != 2 || got.Changes[1].Op != OpDelete ||
		len(got.Messages) != 1 || len(loose) != 1 || loose[0].Prefix != "loose" {
		t.Errorf("ReadTx = %+v, loose %+v", got, loose)
	}
	// A change outside a transaction is an error, as is the end of the stream.
	if _, _, err := ReadTx(t.Context(), &src); err == nil {
		t.Error("change outside a transaction accepted")
	}
	if _, _, err := ReadTx(t.Context(), &src); !errors.Is(err, io.EOF) {
		t.Errorf("end of stream: %v", err)
	}
}

package pipeline

import (
	"context"
	"fmt"
)

// Event is one item of a source's stream, in log order: exactly one field is
// set. A transaction arrives as a Begin, its Changes (and transactional
// Messages), then a Commit; a non-transactional Message may arrive between
// transactions. Streaming events rather than whole transactions keeps a
// source's memory flat whatever the size of a transaction.
type Event struct {
	// Begin opens a transaction: ID, BeginLSN, CommitLSN and CommitTime are
	// set, EndLSN is not yet known and Changes is empty.
	Begin *Tx
	// Change is a change of the open transaction.
	Change *Change
	// Commit closes the open transaction: the same *Tx as its Begin, now
	// with EndLSN set. A source never fills Tx.Changes: changes travel as
	// Change events.
	Commit *Tx
	// Message is a logical message; Message.Transactional says whether it
	// belongs to the open transaction.
	Message *Message
}

// EventSource is a stream of events. Next blocks until an event arrives,
// ctx ends or the stream fails.
type EventSource interface {
	Next(ctx context.Context) (Event, error)
}

// ReadTx reads events up to the next commit and returns the whole
// transaction with its changes and transactional messages. Non-transactional
// messages read on the way are returned too. It holds the transaction in
// memory: for tests, tools and small transactions; a pipeline consumes
// events one by one.
func ReadTx(ctx context.Context, src EventSource) (*Tx, []Message, error) {
	var tx *Tx
	var loose []Message
	for {
		ev, err := src.Next(ctx)
		if err != nil {
			return nil, loose, err
		}
		switch {
		case ev.Begin != nil:
			if tx != nil {
				return nil, loose, fmt.Errorf("transaction %d begins inside transaction %d", ev.Begin.ID, tx.ID)
			}
			tx = ev.Begin
		case ev.Change != nil:
			if tx == nil {
				return nil, loose, fmt.Errorf("change at %s outside a transaction", ev.Change.Source.LSN)
			}
			tx.Changes = append(tx.Changes, *ev.Change)
		case ev.Message != nil && ev.Message.Transactional && tx != nil:
			tx.Messages = append(tx.Messages, *ev.Message)
		case ev.Message != nil:
			loose = append(loose, *ev.Message)
		case ev.Commit != nil:
			if tx == nil || ev.Commit.ID != tx.ID {
				return nil, loose, fmt.Errorf("commit of transaction %d that did not begin", ev.Commit.ID)
			}
			tx.EndLSN = ev.Commit.EndLSN
			return tx, loose, nil
		}
	}
}

package bulk

import (
	"context"
	"errors"
	"io"

	"github.com/s3bridge/s3bridge"
)

// lostError is a driver's error that means the session ended: it reads as
// the driver's error and satisfies s3bridge.ErrConnectionLost.
type lostError struct{ err error }

func (e lostError) Error() string        { return e.err.Error() }
func (e lostError) Unwrap() error        { return e.err }
func (e lostError) Is(target error) bool { return target == s3bridge.ErrConnectionLost }

// MarkLost returns err satisfying s3bridge.ErrConnectionLost when lost,
// the driver's judgement, says it means the session ended; otherwise err.
// Each driver package turns its errors into this domain error at its
// boundary, so callers (a connector's retries) need no driver.
func MarkLost(err error, lost func(error) bool) error {
	if err == nil || errors.Is(err, s3bridge.ErrConnectionLost) || !lost(err) {
		return err
	}
	return lostError{err}
}

// LostConnection wraps a driver's Tx so that its errors that lost says
// mean the session ended satisfy s3bridge.ErrConnectionLost.
func LostConnection(tx Tx, lost func(error) bool) Tx { return lostTx{tx, lost} }

type lostTx struct {
	tx   Tx
	lost func(error) bool
}

func (l lostTx) Load(ctx context.Context, f File, r io.Reader) (int64, error) {
	n, err := l.tx.Load(ctx, f, r)
	return n, MarkLost(err, l.lost)
}

func (l lostTx) Record(ctx context.Context, h History) error {
	return MarkLost(l.tx.Record(ctx, h), l.lost)
}

func (l lostTx) Commit(ctx context.Context, res s3bridge.Result) error {
	return MarkLost(l.tx.Commit(ctx, res), l.lost)
}

func (l lostTx) Rollback(ctx context.Context) error {
	return MarkLost(l.tx.Rollback(ctx), l.lost)
}

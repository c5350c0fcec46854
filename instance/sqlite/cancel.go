package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/s3bridge/s3bridge"
)

// SQLite has one writer at a time, and a running load holds the write
// lock for its whole transaction: a cancel (an UPDATE of the task row)
// would wait for the load it asks to stop. So a cancel that can't write
// promptly leaves a request beside the database file instead, which the
// load's own heartbeat finds without writing; the task row says
// CANCELLED once the load has rolled back and its agent finishes it.

// cancelWait is how long a cancel tries to write before it leaves the
// request beside the file instead.
const cancelWait = time.Second

// cancelFile is where a cancel of task id is requested.
func (in *Instance) cancelFile(id int64) string {
	return in.path + ".s3bridge-cancel-" + strconv.FormatInt(id, 10)
}

// Cancel implements instance.Queue.
func (in *Instance) Cancel(ctx context.Context, id int64) (s3bridge.Lifecycle, error) {
	wctx, stop := context.WithTimeout(ctx, cancelWait)
	lc, err := in.Store.Cancel(wctx, id)
	stop()
	if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) && !busy(err) {
		return lc, err
	}
	// Busy: a writer holds the database. Only a running task can be
	// asked to stop this way (the read needs no lock in WAL mode).
	t, terr := in.Task(ctx, id)
	if terr != nil {
		return "", terr
	}
	if t.Lifecycle != s3bridge.InProgress || !t.Type.Cancellable() {
		return "", fmt.Errorf("cancel task %d: the database is busy: %w", id, err)
	}
	if werr := os.WriteFile(in.cancelFile(id), nil, 0o600); werr != nil {
		return "", fmt.Errorf("cancel task %d: the database is busy, and the request could not be left beside it: %w", id, werr)
	}
	return s3bridge.CancelRequested, nil
}

// Heartbeat implements instance.Queue: a cancel requested beside the file
// is seen first, without writing.
func (in *Instance) Heartbeat(ctx context.Context, c s3bridge.Claim, lease time.Duration, percent int) (s3bridge.Lifecycle, error) {
	if _, err := os.Stat(in.cancelFile(c.TaskID)); err == nil {
		return s3bridge.CancelRequested, nil
	}
	// A load holding the write lock would keep this update waiting for
	// SQLite's busy timeout; give up sooner, so the next heartbeat looks
	// for a cancel request again (the agent keeps working on an error).
	hctx, stop := context.WithTimeout(ctx, cancelWait)
	defer stop()
	return in.Store.Heartbeat(hctx, c, lease, percent)
}

// Finish implements instance.Queue, clearing a cancel request left beside
// the file.
func (in *Instance) Finish(ctx context.Context, c s3bridge.Claim, lc s3bridge.Lifecycle, res s3bridge.Result) error {
	err := in.Store.Finish(ctx, c, lc, res)
	if err == nil {
		os.Remove(in.cancelFile(c.TaskID))
	}
	return err
}

// busy reports SQLite's "database is locked" (SQLITE_BUSY), by its code.
func busy(err error) bool {
	var se interface{ Code() int }
	return errors.As(err, &se) && se.Code()&0xff == 5
}

package console

import (
	"context"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
)

// taskReads are the reads the task list, the log followers and the
// metrics make of an instance: a page, the followed tasks, or the tasks
// that changed, never every task (sqlstore.Store has them; the
// instancetest suite checks them on every database).
type taskReads interface {
	// TaskPage is a page of the task list, newest first, filtered and
	// after a key, by index.
	TaskPage(ctx context.Context, q sqlstore.TaskQuery) ([]s3bridge.Task, error)
	// TasksByID reads the followed tasks at once.
	TasksByID(ctx context.Context, ids []int64) ([]s3bridge.Task, error)
	// TaskLogAfter reads the followed tasks' new log lines at once.
	TaskLogAfter(ctx context.Context, ids []int64, after int64) ([]sqlstore.TaskLogLine, error)
	// TaskFigures and CountTasks keep the metrics' sums (figures).
	TaskFigures(ctx context.Context, after int64, ids []int64) ([]sqlstore.TaskFigure, error)
	CountTasks(ctx context.Context, upTo int64) (int64, error)
}

// Package instance defines what s3bridge needs from an attached database:
// the task queue, the task journal, read access for status and the settings
// written at attach. Each database (PostgreSQL, MariaDB/MySQL, SQLite) has
// its own subpackage implementing Instance; the capabilities and the agent
// depend only on these interfaces.
package instance

import (
	"context"
	"time"

	"github.com/s3bridge/s3bridge"
)

// Queue is the task queue an agent serves.
type Queue interface {
	// Enqueue stores a CREATED task and returns its id.
	Enqueue(ctx context.Context, t s3bridge.Task) (int64, error)
	// Claim takes the oldest runnable task for agent, holding it under a
	// lease until now+lease and the next attempt number (Task.Claim): a CREATED task, or an IN_PROGRESS one whose
	// lease expired (its agent died). Each kind of task has its own limit
	// on running tasks (Settings.Limit): Claim skips the tasks of a kind at
	// its limit and takes the oldest of another kind. It returns nil and
	// no error when no task is runnable within the limits.
	Claim(ctx context.Context, agent string, lease time.Duration) (*s3bridge.Task, error)
	// ClaimTask is Claim for one given task, for a CLI that runs the task
	// it just enqueued. It honours the task's kind's limit the same way.
	ClaimTask(ctx context.Context, id int64, agent string, lease time.Duration) (*s3bridge.Task, error)
	// Release puts a task agent holds back in the queue (CREATED), for an
	// agent that shuts down before the task finished.
	// Release, Heartbeat and Finish act only while the claim holds: same
	// agent, same attempt.
	Release(ctx context.Context, c s3bridge.Claim) error
	// Heartbeat extends the claim's lease and records its progress.
	// It returns the task's lifecycle, so the caller sees CANCEL_REQUESTED,
	// or ErrLeaseLost when the claim no longer holds the task.
	Heartbeat(ctx context.Context, c s3bridge.Claim, lease time.Duration, percent int) (s3bridge.Lifecycle, error)
	// Finish moves the claimed task to a final lifecycle with res: its
	// task_info, figures and error code. It returns ErrLeaseLost when the
	// claim no longer holds the task; a task already completed under the
	// same claim (in the work's own transaction) finishes without error.
	Finish(ctx context.Context, c s3bridge.Claim, lc s3bridge.Lifecycle, res s3bridge.Result) error
	// Cancel asks for a task to stop: a CREATED task is CANCELLED at once,
	// a running one becomes CANCEL_REQUESTED. It returns the new lifecycle,
	// ErrNotFound, or ErrNotCancellable for a final task or a running list or
	// delete task.
	Cancel(ctx context.Context, id int64) (s3bridge.Lifecycle, error)
}

// EnqueueClaimer is a Queue that can enqueue a task already claimed, for a
// CLI that runs the task it enqueues. Every instance package's Instance
// has it; a wrapper that changes Enqueue, which embeds an Instance, has
// not, and the caller then enqueues and claims in two steps.
type EnqueueClaimer interface {
	// EnqueueClaim is Enqueue and ClaimTask of the new task in one
	// transaction: no agent can take the task in between, and one
	// commit does both. It returns the task's id and the claimed task,
	// or a nil task when its kind is at its limit: the task then waits
	// CREATED, for ClaimTask or an agent.
	EnqueueClaim(ctx context.Context, t s3bridge.Task, agent string, lease time.Duration) (int64, *s3bridge.Task, error)
}

// FinishLogger is a Queue that writes a task's last log lines in the
// transaction that finishes it: one commit instead of two. Optional,
// found by type assertion; without it the lines are logged, then Finish.
type FinishLogger interface {
	// FinishLogged is Journal.Log of lines, then Queue.Finish, in one
	// transaction. The lines are written whatever Finish finds, as Log
	// before Finish would have; an error other than ErrLeaseLost means
	// nothing was written.
	FinishLogged(ctx context.Context, c s3bridge.Claim, lc s3bridge.Lifecycle, res s3bridge.Result, lines []s3bridge.LogLine) error
}

// Journal is what a running task writes besides its state.
type Journal interface {
	// Log appends lines to the task's log, in order, in one transaction.
	Log(ctx context.Context, id int64, lines ...s3bridge.LogLine) error
	// SaveFileDetails replaces the file details gathered by task id.
	SaveFileDetails(ctx context.Context, id int64, files []s3bridge.FileDetail) error
}

// Reader reads tasks for status and logs.
type Reader interface {
	// Task returns one task or ErrNotFound.
	Task(ctx context.Context, id int64) (s3bridge.Task, error)
	// Tasks returns every task, oldest first.
	Tasks(ctx context.Context) ([]s3bridge.Task, error)
	// TaskLog returns the task's log lines in order.
	TaskLog(ctx context.Context, id int64) ([]s3bridge.LogLine, error)
	// FileDetails returns what a LIST_FILES_ON_DISK task gathered.
	FileDetails(ctx context.Context, id int64) ([]s3bridge.FileDetail, error)
}

// Admin installs and configures the s3bridge schema.
type Admin interface {
	// Attach installs or upgrades the schema and stores the settings.
	// Calling it again is idempotent.
	Attach(ctx context.Context, s s3bridge.Settings) error
	// Detach removes the SQL interface (functions) and keeps tasks and files.
	Detach(ctx context.Context) error
	// Settings returns the stored settings, or ErrNotAttached.
	Settings(ctx context.Context) (s3bridge.Settings, error)
}

// Presence is how agents make themselves known to an instance, so that a
// synchronous SQL call can fail at once when none serves it, and how they
// tell whether the caller of such a call is still there.
type Presence interface {
	// Beat records the agent as alive now.
	Beat(ctx context.Context, a s3bridge.AgentInfo) error
	// Leave removes the agent's record, at a graceful stop.
	Leave(ctx context.Context, agentID string) error
	// Agents lists the recorded agents, stale ones included.
	Agents(ctx context.Context) ([]s3bridge.AgentInfo, error)
	// SessionAlive reports whether a database session recorded as a
	// task's CallerSession still exists.
	SessionAlive(ctx context.Context, session string) (bool, error)
}

// Instance is an attached database.
type Instance interface {
	Queue
	Journal
	Reader
	Admin
	Presence
	// Name is the database's name, shown as task_status.database_name.
	Name() string
	Close() error
}

// Notifier is implemented by instances that can wake an agent when a task
// is enqueued or cancelled (PostgreSQL LISTEN/NOTIFY). Others are polled.
type Notifier interface {
	// Listen runs in the caller's goroutine until ctx is done, sending on
	// wake once it listens and after each notification. Sends never block:
	// a pending wake-up absorbs the next. It returns an error at once when
	// it can't listen (the caller polls instead); once listening it rides
	// out lost connections, and returns nil when ctx is done, having
	// closed its own.
	Listen(ctx context.Context, wake chan<- struct{}) error
}

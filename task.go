// Package s3bridge holds the domain types shared by every part of s3bridge:
// tasks, their lifecycle, instance settings and the errors callers branch on.
// It imports nothing of ours and no driver.
package s3bridge

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// TaskType names the kind of work a task does, with RDS's names where RDS
// has one.
type TaskType string

// Task types.
const (
	TaskUpload      TaskType = "UPLOAD_TO_S3"         // directory or single file to S3
	TaskDownload    TaskType = "DOWNLOAD_FROM_S3"     // S3 to directory or single file
	TaskListFiles   TaskType = "LIST_FILES_ON_DISK"   // gather_file_details
	TaskDeleteFiles TaskType = "DELETE_FILES_ON_DISK" // delete_from_filesystem
	TaskLoadFromS3  TaskType = "LOAD_FROM_S3"
	TaskExportToS3  TaskType = "EXPORT_TO_S3"
	// TaskImportFromS3 is one run of an S3 import connector (connector/).
	TaskImportFromS3 TaskType = "IMPORT_FROM_S3"
)

// Cancellable reports whether a running task of this type may be cancelled.
// As on RDS SQL Server, list and delete tasks in progress can't be.
func (t TaskType) Cancellable() bool {
	return t != TaskListFiles && t != TaskDeleteFiles
}

// Lifecycle is a task's state: CREATED → IN_PROGRESS → SUCCESS | ERROR, and
// CANCEL_REQUESTED → CANCELLED.
type Lifecycle string

// Lifecycle states.
const (
	Created         Lifecycle = "CREATED"
	InProgress      Lifecycle = "IN_PROGRESS"
	Success         Lifecycle = "SUCCESS"
	Failed          Lifecycle = "ERROR"
	CancelRequested Lifecycle = "CANCEL_REQUESTED"
	Cancelled       Lifecycle = "CANCELLED"
)

// Final reports whether no further transition can happen.
func (l Lifecycle) Final() bool {
	return l == Success || l == Failed || l == Cancelled
}

// Task is one unit of async work, stored in the instance.
type Task struct {
	ID              int64
	Type            TaskType
	DatabaseName    string
	Lifecycle       Lifecycle
	PercentComplete int
	TaskInfo        string
	CreatedAt       time.Time
	LastUpdated     time.Time
	StartedAt       *time.Time
	FinishedAt      *time.Time
	S3ObjectARN     string
	FilePath        string
	Overwrite       bool
	// Metadata holds the call's parameters as a JSON object, with the SQL
	// functions' parameter names as keys.
	Metadata json.RawMessage
	// Agent is the id of the agent that holds the task's lease, if any.
	Agent string
	// CallerSession is the database session of the synchronous SQL call
	// waiting for the task (PostgreSQL "pid@backend start in ms", MariaDB
	// CONNECTION_ID()); empty for tasks nobody waits for. A task whose
	// caller session has ended is cancelled, before or while it runs.
	CallerSession string
	// Attempt counts the claims of the task: each claim takes the next
	// number, so an agent whose lease was taken over holds a stale one.
	Attempt int64
	// Rows, Files and Bytes are the figures of the task's Result, stored
	// when it finished; ErrorCode classifies its failure (see ErrorCode).
	Rows, Files, Bytes int64
	ErrorCode          string
}

// Claim is one agent's hold on a task: the fencing token its effects carry.
// Heartbeats, the final state and any effect committed in the database
// (a load's rows, a ledger, a checkpoint) count only while the task's row
// still has this agent and attempt, so an agent that was frozen past its
// lease and resumed can't commit what its successor committed already.
type Claim struct {
	TaskID  int64
	Agent   string
	Attempt int64
}

// Claim is the claim under which the task was handed out.
func (t *Task) Claim() Claim {
	return Claim{TaskID: t.ID, Agent: t.Agent, Attempt: t.Attempt}
}

// Params decodes the task's metadata into v.
func (t *Task) Params(v any) error {
	if len(t.Metadata) == 0 {
		return nil
	}
	return json.Unmarshal(t.Metadata, v)
}

// Duration is how long the task has run, or ran.
func (t *Task) Duration(now time.Time) time.Duration {
	if t.StartedAt == nil {
		return 0
	}
	end := now
	if t.FinishedAt != nil {
		end = *t.FinishedAt
	}
	return end.Sub(*t.StartedAt)
}

// AgentInfo is one agent serving an instance, as it records itself in
// the instance every few seconds (AgentBeatSeconds).
type AgentInfo struct {
	ID        string
	Host      string
	Version   string
	StartedAt time.Time
	LastSeen  time.Time
}

// LogLevel is the level of a task log line.
type LogLevel string

// Log levels, padded as RDS pads them in its task logs.
const (
	LevelInfo  LogLevel = "INFO"
	LevelWarn  LogLevel = "WARN"
	LevelError LogLevel = "ERROR"
)

// LogLine is one line of a task's log.
type LogLine struct {
	Time    time.Time
	Level   LogLevel
	Message string
}

// String formats the line as 2026-01-02 03:04:05.678 UTC [INFO ] message.
func (l LogLine) String() string {
	return l.Time.UTC().Format("2006-01-02 15:04:05.000") + " UTC [" + padLevel(l.Level) + "] " + l.Message
}

func padLevel(l LogLevel) string {
	s := string(l)
	for len(s) < 5 {
		s += " "
	}
	return s
}

// FileDetail is one entry gathered by a LIST_FILES_ON_DISK task.
type FileDetail struct {
	FilePath        string
	SizeInBytes     int64
	LastModifiedUTC time.Time
	IsDirectory     bool
}

// Errors callers branch on.
var (
	// ErrNotFound means the task, object or file asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means the target exists and overwrite was not asked for.
	ErrExists = errors.New("already exists")
	// ErrOutsideDirectory means a path or key would resolve outside its
	// directory.
	ErrOutsideDirectory = errors.New("resolves outside its directory")
	// ErrNotCancellable means the task can no longer be cancelled.
	ErrNotCancellable = errors.New("task cannot be cancelled")
	// ErrLeaseLost means another agent now holds the task.
	ErrLeaseLost = errors.New("task lease lost")
	// ErrAccessDenied means a policy, s3bridge's own or the S3 server's,
	// does not allow an action.
	ErrAccessDenied = errors.New("access denied")
	// ErrLimit means a configured limit (files in area, size, extension)
	// refuses the operation.
	ErrLimit = errors.New("limit exceeded")
	// ErrConnectionLost means the database session ended under an
	// operation (a server restart, a killed session, a network cut): the
	// transaction is gone, and the operation may succeed on a new one.
	ErrConnectionLost = errors.New("database connection lost")
	// ErrCredentialsExpired means S3 refused temporary credentials that
	// expired: a denial that new credentials (re-read from their source)
	// may lift. Such an error also satisfies ErrAccessDenied.
	ErrCredentialsExpired = errors.New("credentials expired")
	// ErrTransient means the object store failed in a way that passes of
	// itself (an S3 5xx or SlowDown, a timeout, a connection reset or
	// refused): the same request may succeed when made again. The object
	// store marks such errors where its SDK meets them, so callers that
	// retry whole runs branch on this, never on the SDK's types.
	ErrTransient = errors.New("transient failure")
)

// ErrNotAttached means the database has no s3bridge schema: run attach.
var ErrNotAttached = errors.New("s3bridge is not attached to this database (run s3bridge attach)")

// Reporter is how a running task reports back: log lines, progress and, for
// LIST_FILES_ON_DISK, the files it gathered. The agent stores all of it in
// the instance; the CLI also shows it.
type Reporter interface {
	Logf(level LogLevel, format string, args ...any)
	// Progress records done of total units (bytes, usually).
	Progress(done, total int64)
	SaveFileDetails(ctx context.Context, files []FileDetail) error
}

package control

import (
	"encoding/json"
	"time"

	"github.com/s3bridge/s3bridge"
)

// Task is task_status's row, with RDS's column names, and the task's
// result as numbers: rows, files and bytes processed, and the error code
// of a failure (s3bridge.ErrorCode). It is the CLI's status --json row.
type Task struct {
	TaskID          int64           `json:"task_id"`
	TaskType        string          `json:"task_type"`
	DatabaseName    string          `json:"database_name"`
	PercentComplete int             `json:"percent_complete"`
	DurationMins    float64         `json:"duration_mins"`
	Lifecycle       string          `json:"lifecycle"`
	TaskInfo        string          `json:"task_info"`
	LastUpdated     time.Time       `json:"last_updated"`
	CreatedAt       time.Time       `json:"created_at"`
	S3ObjectARN     string          `json:"s3_object_arn"`
	FilePath        string          `json:"filepath"`
	OverwriteFile   bool            `json:"overwrite_file"`
	TaskMetadata    json.RawMessage `json:"task_metadata"`
	RowsProcessed   int64           `json:"rows_processed"`
	FilesProcessed  int64           `json:"files_processed"`
	BytesProcessed  int64           `json:"bytes_processed"`
	ErrorCode       string          `json:"error_code,omitempty"`
}

// ViewTask is t as Task, its duration measured at now.
func ViewTask(t s3bridge.Task, now time.Time) Task {
	meta := t.Metadata
	if !json.Valid(meta) {
		meta = json.RawMessage("{}")
	}
	return Task{TaskID: t.ID, TaskType: string(t.Type), DatabaseName: t.DatabaseName, PercentComplete: t.PercentComplete,
		DurationMins: float64(t.Duration(now).Milliseconds()) / 60000, Lifecycle: string(t.Lifecycle), TaskInfo: t.TaskInfo,
		LastUpdated: t.LastUpdated, CreatedAt: t.CreatedAt, S3ObjectARN: t.S3ObjectARN, FilePath: t.FilePath,
		OverwriteFile: t.Overwrite, TaskMetadata: meta,
		RowsProcessed: t.Rows, FilesProcessed: t.Files, BytesProcessed: t.Bytes, ErrorCode: t.ErrorCode}
}

// LogLine is a task's log line as log --json prints it.
type LogLine struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
}

// ViewLog is lines as LogLines, never nil.
func ViewLog(lines []s3bridge.LogLine) []LogLine {
	out := make([]LogLine, 0, len(lines))
	for _, l := range lines {
		out = append(out, ViewLogLine(l))
	}
	return out
}

// ViewLogLine is one line of ViewLog.
func ViewLogLine(l s3bridge.LogLine) LogLine {
	return LogLine{Time: l.Time.UTC(), Level: string(l.Level), Message: l.Message}
}

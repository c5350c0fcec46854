package control

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/connector"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
)

// Connectors is what the connector views and actions need of an instance
// (sqlstore.Store has it).
type Connectors interface {
	Connector(ctx context.Context, name string) (sqlstore.Connector, error)
	Connectors(ctx context.Context) ([]sqlstore.Connector, error)
	ConnectorRuns(ctx context.Context, name string, limit int) ([]sqlstore.ConnectorRun, error)
	EnqueueConnector(ctx context.Context, name string, t s3bridge.Task) (int64, error)
	connector.Ledger
}

// Connector is a stored connector as connector list, show, create, update
// and delete print it.
type Connector struct {
	Name       string     `json:"name"`
	Cron       string     `json:"cron"`
	Timezone   string     `json:"timezone"`
	Delay      int64      `json:"delay_seconds"`
	Table      string     `json:"table"`
	AutoCreate bool       `json:"auto_create_table"`
	NextRun    *time.Time `json:"next_run"`
	LastStatus string     `json:"last_status"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	// Config (secrets masked) and State are shown by show only.
	Config string          `json:"config,omitempty"`
	State  *ConnectorState `json:"state,omitempty"`
}

// ConnectorState is a connector's incremental state: its ledger.
type ConnectorState struct {
	LastModified *time.Time `json:"last_modified_time"`
	LastPath     string     `json:"last_path,omitempty"`
	Files        int        `json:"files_in_ledger"`
}

// TableName is the connector's table, schema.table when it has a schema.
func TableName(c sqlstore.Connector) string {
	if c.Schema != "" {
		return c.Schema + "." + c.Table
	}
	return c.Table
}

// ViewConnector is c as list shows it: its next run (the next fire plus
// the delay) and its last run's lifecycle ("-" before the first).
func ViewConnector(ctx context.Context, cs Connectors, c sqlstore.Connector) (Connector, error) {
	v := Connector{Name: c.Name, Cron: c.Cron, Timezone: c.Timezone, Delay: int64(c.Delay / time.Second), Table: TableName(c),
		AutoCreate: c.AutoCreate, NextRun: c.NextFire, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, LastStatus: "-"}
	if v.NextRun != nil {
		at := v.NextRun.Add(c.Delay)
		v.NextRun = &at
	}
	runs, err := cs.ConnectorRuns(ctx, c.Name, 1)
	if err != nil {
		return v, err
	}
	if len(runs) > 0 {
		v.LastStatus = string(runs[0].Task.Lifecycle)
	}
	return v, nil
}

// ShowConnector is the connector name as show prints it: with its config,
// secrets masked, and its ledger's state.
func ShowConnector(ctx context.Context, cs Connectors, name string) (Connector, error) {
	st, err := cs.Connector(ctx, name)
	if err != nil {
		return Connector{}, err
	}
	v, err := ViewConnector(ctx, cs, st)
	if err != nil {
		return v, err
	}
	cfg, err := connector.Parse([]byte(st.Config))
	if err != nil {
		return v, fmt.Errorf("connector %s: its stored config: %w", st.Name, err)
	}
	text, err := cfg.Masked().Marshal()
	if err != nil {
		return v, err
	}
	v.Config = string(text)
	// Every row: the ledger is the whole incremental state.
	entries, newest, err := cs.Ledger(ctx, st.Name, time.Duration(math.MaxInt64))
	if err != nil {
		return v, err
	}
	v.State = &ConnectorState{Files: len(entries)}
	if !newest.IsZero() {
		v.State.LastModified = &newest
	}
	for _, en := range entries {
		v.State.LastPath = max(v.State.LastPath, en.Key)
	}
	return v, nil
}

// Run is one run in connector history.
type Run struct {
	JobID     int64      `json:"job_id"`
	Status    string     `json:"status"`
	Records   int64      `json:"records"`
	Files     int64      `json:"files"`
	Table     string     `json:"table"`
	Scheduled *time.Time `json:"scheduled"`
	Started   *time.Time `json:"started"`
	Duration  float64    `json:"duration_seconds"`
	// Note is "late" or "skipped" for a scheduled run, else empty; Info
	// is the task's info line.
	Note string `json:"note,omitempty"`
	Info string `json:"info"`
}

// ViewRun is r as history shows it, its duration measured at now.
func ViewRun(r sqlstore.ConnectorRun, now time.Time) Run {
	var p connector.Params
	_ = r.Task.Params(&p) // a run's metadata: the table and lateness, when readable
	table := p.Table
	if p.Schema != "" {
		table = p.Schema + "." + table
	}
	v := Run{JobID: r.Task.ID, Status: string(r.Task.Lifecycle), Records: r.Task.Rows, Files: r.Task.Files, Table: table,
		Scheduled: r.Scheduled, Started: r.Task.StartedAt, Duration: r.Task.Duration(now).Seconds(), Info: r.Task.TaskInfo}
	switch {
	case r.Task.TaskInfo == sqlstore.SkippedInfo:
		v.Note = "skipped"
	case p.Late:
		v.Note = "late"
	}
	return v
}

// History is the connector's runs, newest first; limit 0 for all. A
// connector that doesn't exist is ErrNotFound.
func History(ctx context.Context, cs Connectors, name string, limit int, now time.Time) ([]Run, error) {
	if _, err := cs.Connector(ctx, name); err != nil {
		return nil, err
	}
	runs, err := cs.ConnectorRuns(ctx, name, limit)
	if err != nil {
		return nil, err
	}
	views := []Run{}
	for _, r := range runs {
		views = append(views, ViewRun(r, now))
	}
	return views, nil
}

// EnqueueRun queues a run of the stored connector now, outside its
// schedule, for an agent: connector run --async.
func EnqueueRun(ctx context.Context, cs Connectors, name string) (int64, error) {
	task, _, err := RunTask(ctx, cs, name)
	if err != nil {
		return 0, err
	}
	return cs.EnqueueConnector(ctx, name, task)
}

// RunTask is the task of a run of the stored connector now, outside its
// schedule (every file its rules take, none skipped as seen), and the
// connector's name as stored.
func RunTask(ctx context.Context, cs Connectors, name string) (s3bridge.Task, string, error) {
	st, err := cs.Connector(ctx, name)
	if err != nil {
		return s3bridge.Task{}, "", err
	}
	p, err := connector.RunTask(st, nil, false)
	if err != nil {
		return s3bridge.Task{}, "", err
	}
	task, err := connector.Task(p)
	return task, st.Name, err
}

// ListConnectors views every stored connector, as the CLI's connector list
// and the API list them.
func ListConnectors(ctx context.Context, cs Connectors) ([]Connector, error) {
	list, err := cs.Connectors(ctx)
	if err != nil {
		return nil, err
	}
	views := []Connector{}
	for _, c := range list {
		v, err := ViewConnector(ctx, cs, c)
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, nil
}

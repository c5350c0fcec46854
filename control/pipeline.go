package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/mysource"
	"github.com/s3bridge/s3bridge/pipeline/pgsource"
	"github.com/s3bridge/s3bridge/pipeline/writer"
)

// Pipelines is what the pipeline views and actions need of an instance
// (sqlstore.Store has it).
type Pipelines interface {
	Pipeline(ctx context.Context, name string) (sqlstore.Pipeline, error)
	Pipelines(ctx context.Context) ([]sqlstore.Pipeline, error)
	PausePipeline(ctx context.Context, name, reason string) error
	UpdatePipelineConfig(ctx context.Context, name, old, config string) error
	ResumePipeline(ctx context.Context, name string) error
}

// Pipeline is a stored pipeline as the pipeline commands print it.
type Pipeline struct {
	Name          string        `json:"name"`
	State         string        `json:"state"`
	Reason        string        `json:"reason,omitempty"`
	Source        string        `json:"source"`
	Spec          pipeline.Spec `json:"config"`
	Agent         string        `json:"agent,omitempty"`
	CheckpointLSN string        `json:"checkpoint_lsn,omitempty"`
	// CheckpointPosition is the checkpoint's resume token (MariaDB: GTIDs
	// and file:offset); empty for PostgreSQL.
	CheckpointPosition string         `json:"checkpoint_position,omitempty"`
	Stats              map[string]any `json:"stats,omitempty"`
	// PendingSnapshots are the snapshot requests not yet durable.
	PendingSnapshots []pipeline.SnapshotRequest `json:"pending_snapshots,omitempty"`
	// RetainedWALBytes and LagBytes are the slot's, when show could read
	// them.
	RetainedWALBytes *int64    `json:"retained_wal_bytes,omitempty"`
	LagBytes         *int64    `json:"lag_bytes,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// ViewPipeline is p as list shows it.
func ViewPipeline(p sqlstore.Pipeline) Pipeline {
	v := Pipeline{Name: p.Name, State: p.State, Reason: p.Reason, Source: p.Source, Agent: p.Agent,
		CheckpointLSN: p.CheckpointLSN, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	json.Unmarshal([]byte(p.Config), &v.Spec)
	if p.Stats != "" {
		json.Unmarshal([]byte(p.Stats), &v.Stats)
	}
	var cp writer.Checkpoint
	if p.Checkpoint != "" {
		json.Unmarshal([]byte(p.Checkpoint), &cp)
	}
	v.CheckpointPosition = cp.Position
	v.PendingSnapshots = v.Spec.Pending(cp.SnapshotsDone)
	return v
}

// Float is a figure of the pipeline's stats (rows_per_second,
// lag_seconds), when the agent running it reported one.
func (v Pipeline) Float(name string) (float64, bool) {
	f, ok := v.Stats[name].(float64)
	return f, ok
}

// String is a text of the pipeline's stats (last_file, last_error).
func (v Pipeline) String(name string) string {
	s, _ := v.Stats[name].(string)
	return s
}

// ReadSlot adds the source's slot figures to v, asking the source within
// timeout: no figures, and no error, when the slot does not exist. For
// MariaDB, which has no slot, the figures are the binary log from the
// checkpoint to the log's end (mysource.Retained): none before the first
// checkpoint, or when the server no longer has the checkpoint's log (the
// agent reports that as the pipeline's failure).
func ReadSlot(ctx context.Context, v *Pipeline, timeout time.Duration) error {
	if pipeline.SourceKind(v.Source) == pipeline.MariaDB {
		return readBinaryLog(ctx, v, timeout)
	}
	src, err := pgsource.New(v.Source, v.Name)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	retained, behind, err := src.Retained(sctx)
	switch {
	case err == nil:
		v.RetainedWALBytes, v.LagBytes = &retained, &behind
	case errors.Is(err, pgsource.ErrSlotMissing):
	default:
		return fmt.Errorf("pipeline %s: read its replication slot: %w", v.Name, err)
	}
	return nil
}

func readBinaryLog(ctx context.Context, v *Pipeline, timeout time.Duration) error {
	lsn, _ := pipeline.ParseLSN(v.CheckpointLSN)
	if lsn == 0 && v.CheckpointPosition == "" {
		return nil
	}
	src, err := mysource.New(v.Source, v.Name, pipeline.Publication{})
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	retained, behind, err := src.Retained(sctx, lsn, v.CheckpointPosition)
	var purged *mysource.PurgedError
	switch {
	case err == nil:
		v.RetainedWALBytes, v.LagBytes = &retained, &behind
	case errors.As(err, &purged):
	default:
		return fmt.Errorf("pipeline %s: read the binary logs: %w", v.Name, err)
	}
	return nil
}

// UpdateSpec applies change to the stored pipeline's config, retrying when
// another command changed it meanwhile.
func UpdateSpec(ctx context.Context, ps Pipelines, name string, change func(p sqlstore.Pipeline, spec *pipeline.Spec) error) error {
	for range 5 {
		p, err := ps.Pipeline(ctx, name)
		if err != nil {
			return err
		}
		var spec pipeline.Spec
		if err := json.Unmarshal([]byte(p.Config), &spec); err != nil {
			return fmt.Errorf("pipeline %s: its stored config: %w", name, err)
		}
		spec = spec.WithDefaults()
		if err := change(p, &spec); err != nil {
			return err
		}
		cfg, err := json.Marshal(spec)
		if err != nil {
			return err
		}
		err = ps.UpdatePipelineConfig(ctx, name, p.Config, string(cfg))
		if !errors.Is(err, s3bridge.ErrNotFound) {
			return err
		}
	}
	return fmt.Errorf("pipeline %s: its config kept changing under this command; try again", name)
}

// ErrInitialOnly is a snapshot asked of a pipeline that copies its tables
// once and stops.
var ErrInitialOnly = errors.New("copies its tables once and stops (--snapshot initial_only): create another pipeline for a new copy")

// RequestSnapshot asks the agent running the pipeline for a new snapshot
// of tables (all captured tables when empty) while it streams.
func RequestSnapshot(ctx context.Context, ps Pipelines, name string, tables []string) (pipeline.SnapshotRequest, error) {
	var req pipeline.SnapshotRequest
	err := UpdateSpec(ctx, ps, name, func(_ sqlstore.Pipeline, spec *pipeline.Spec) error {
		if spec.Snapshot == "initial_only" {
			return fmt.Errorf("pipeline %s %w", name, ErrInitialOnly)
		}
		r, err := spec.RequestSnapshot(tables)
		if err != nil {
			return &Invalid{Err: err}
		}
		req = r
		return nil
	})
	return req, err
}

// Invalid is a request the pipeline's config refuses (a table it does not
// capture, say): the caller's mistake, not the store's.
type Invalid struct{ Err error }

func (e *Invalid) Error() string { return e.Err.Error() }
func (e *Invalid) Unwrap() error { return e.Err }

// ListPipelines views every stored pipeline, as the CLI's pipeline list,
// the API and the console's page list them.
func ListPipelines(ctx context.Context, ps Pipelines) ([]Pipeline, error) {
	list, err := ps.Pipelines(ctx)
	if err != nil {
		return nil, err
	}
	views := []Pipeline{}
	for _, p := range list {
		views = append(views, ViewPipeline(p))
	}
	return views, nil
}

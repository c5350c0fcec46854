package instancetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
)

// pipelineStore is the stored pipelines' part of an instance.
type pipelineStore interface {
	CreatePipeline(ctx context.Context, p sqlstore.Pipeline) error
	Pipeline(ctx context.Context, name string) (sqlstore.Pipeline, error)
	Pipelines(ctx context.Context) ([]sqlstore.Pipeline, error)
	PausePipeline(ctx context.Context, name, reason string) error
	ResumePipeline(ctx context.Context, name string) error
	DeletePipeline(ctx context.Context, name string) error
	ClaimPipeline(ctx context.Context, agent string, lease time.Duration) (*sqlstore.Pipeline, error)
	RenewPipeline(ctx context.Context, h sqlstore.PipelineHold, lease time.Duration, stats string) (sqlstore.Pipeline, error)
	SavePipelineCheckpoint(ctx context.Context, h sqlstore.PipelineHold, checkpoint, lsn, state string) error
	ReleasePipeline(ctx context.Context, h sqlstore.PipelineHold, failed error) error
}

// testPipelines: pipelines are held by one agent at a time through a
// lease; a checkpoint is saved only under the current hold (a superseded
// agent's is refused); pause, resume, errors and delete.
func testPipelines(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	ps, ok := in.(pipelineStore)
	if !ok {
		t.Fatalf("%T does not store pipelines", in)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ps.CreatePipeline(ctx, sqlstore.Pipeline{Name: "p1", Source: "postgres://u@h/db", Config: `{"tables":["public.t"]}`}))
	if err := ps.CreatePipeline(ctx, sqlstore.Pipeline{Name: "p1", Source: "x", Config: "{}"}); !errors.Is(err, s3bridge.ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	p, err := ps.Pipeline(ctx, "p1")
	if err != nil || p.State != sqlstore.PipelineCreated || p.Source != "postgres://u@h/db" || p.Checkpoint != "" {
		t.Fatalf("stored pipeline: %+v, %v", p, err)
	}
	first, err := ps.ClaimPipeline(ctx, "a", 200*time.Millisecond)
	if err != nil || first == nil || first.Name != "p1" || first.Attempt != 1 {
		t.Fatalf("claim: %+v, %v", first, err)
	}
	if other, err := ps.ClaimPipeline(ctx, "b", time.Minute); err != nil || other != nil {
		t.Fatalf("claim of a held pipeline: %+v, %v", other, err)
	}
	ha := sqlstore.PipelineHold{Name: "p1", Agent: "a", Attempt: 1}
	must(ps.SavePipelineCheckpoint(ctx, ha, `{"lsn":"0/10"}`, "0/10", sqlstore.PipelineStreaming))
	// The lease runs out: another agent takes over, and the first one's
	// checkpoint and renewal are refused from then on.
	time.Sleep(300 * time.Millisecond)
	second, err := ps.ClaimPipeline(ctx, "b", time.Minute)
	if err != nil || second == nil || second.Attempt != 2 || second.Checkpoint != `{"lsn":"0/10"}` || second.State != sqlstore.PipelineStreaming {
		t.Fatalf("claim after the lease expired: %+v, %v", second, err)
	}
	if err := ps.SavePipelineCheckpoint(ctx, ha, `{"lsn":"0/20"}`, "0/20", sqlstore.PipelineStreaming); !errors.Is(err, s3bridge.ErrLeaseLost) {
		t.Errorf("a superseded agent's checkpoint: %v, want ErrLeaseLost", err)
	}
	if _, err := ps.RenewPipeline(ctx, ha, time.Minute, ""); !errors.Is(err, s3bridge.ErrLeaseLost) {
		t.Errorf("a superseded agent's renewal: %v, want ErrLeaseLost", err)
	}
	hb := sqlstore.PipelineHold{Name: "p1", Agent: "b", Attempt: 2}
	// Pause: the holder sees it at its renewal; a checkpoint keeps it.
	must(ps.PausePipeline(ctx, "p1", "paused by ann"))
	got, err := ps.RenewPipeline(ctx, hb, time.Minute, `{"rows_per_second":5}`)
	if err != nil || got.State != sqlstore.PipelinePaused || got.Stats != `{"rows_per_second":5}` {
		t.Fatalf("renewal of a paused pipeline: %+v, %v", got, err)
	}
	must(ps.SavePipelineCheckpoint(ctx, hb, `{"lsn":"0/30"}`, "0/30", sqlstore.PipelineStreaming))
	must(ps.ReleasePipeline(ctx, hb, nil))
	if p, _ := ps.Pipeline(ctx, "p1"); p.State != sqlstore.PipelinePaused || p.CheckpointLSN != "0/30" || p.Agent != "" {
		t.Errorf("after a checkpoint and release while paused: %+v", p)
	}
	if c, err := ps.ClaimPipeline(ctx, "c", time.Minute); err != nil || c != nil {
		t.Errorf("claim of a paused pipeline: %+v, %v", c, err)
	}
	must(ps.ResumePipeline(ctx, "p1"))
	third, err := ps.ClaimPipeline(ctx, "c", time.Minute)
	if err != nil || third == nil || third.State != sqlstore.PipelineStreaming || third.Attempt != 3 {
		t.Fatalf("claim after resume: %+v, %v", third, err)
	}
	// A failure stops it, with its reason, until resumed.
	must(ps.ReleasePipeline(ctx, sqlstore.PipelineHold{Name: "p1", Agent: "c", Attempt: 3}, errors.New("slot s3bridge_p1 is gone")))
	if p, _ := ps.Pipeline(ctx, "p1"); p.State != sqlstore.PipelineError || p.Reason != "slot s3bridge_p1 is gone" {
		t.Errorf("after a failure: %+v", p)
	}
	if c, err := ps.ClaimPipeline(ctx, "d", time.Minute); err != nil || c != nil {
		t.Errorf("claim of a failed pipeline: %+v, %v", c, err)
	}
	if all, err := ps.Pipelines(ctx); err != nil || len(all) != 1 {
		t.Errorf("list: %+v, %v", all, err)
	}
	must(ps.DeletePipeline(ctx, "p1"))
	if _, err := ps.Pipeline(ctx, "p1"); !errors.Is(err, s3bridge.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := ps.PausePipeline(ctx, "p1", ""); !errors.Is(err, s3bridge.ErrNotFound) {
		t.Errorf("pause of a missing pipeline: %v", err)
	}
}

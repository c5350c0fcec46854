package serve

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/binlog"
	"github.com/s3bridge/s3bridge/pipeline/mysource"
	"github.com/s3bridge/s3bridge/pipeline/pgsource"
	"github.com/s3bridge/s3bridge/pipeline/run"
	"github.com/s3bridge/s3bridge/pipeline/writer"
	"github.com/s3bridge/s3bridge/s3store"
)

// TestPermanent: the errors that stop a pipeline in ERROR are those no
// new run gets past; the rest are run again.
func TestPermanent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("stream: %w", pgsource.ErrSlotMissing), true},
		{fmt.Errorf("stream: %w", &pgsource.BehindSlotError{Slot: "s3bridge_x", Start: 1, Confirmed: 2}), true},
		{fmt.Errorf("start: %w", run.ErrPrefixInUse), true},
		{fmt.Errorf("stream: %w", &mysource.PurgedError{Pipeline: "x", Token: "0-1-5 b.000001:4", Err: binlog.ErrLogUnavailable}), true},
		{fmt.Errorf("stream: %w", binlog.ErrUnsupported), true},
		{fmt.Errorf("the initial snapshot: table a.b column c: %w", &binlog.UnsupportedTypeError{Err: errors.New("type uuid is not supported")}), true},
		{fmt.Errorf("stream: %w", binlog.ErrLogUnavailable), false},
		{fmt.Errorf("upload: %w", errors.New("503 SlowDown")), false},
		{fmt.Errorf("receive: %w", context.DeadlineExceeded), false},
	} {
		if got := permanent(tc.err); got != tc.want {
			t.Errorf("permanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestNewSource: the stored URL's scheme picks the source, and only a
// PostgreSQL source gets a Heartbeater.
func TestNewSource(t *testing.T) {
	for _, tc := range []struct {
		url, database string
		heartbeat     bool
	}{
		{"postgres://u@h:5432/shop", "shop", true},
		{"postgresql://u@h/shop", "shop", true},
		{"mysql://u@h:3306/shop?server_id=7", "shop", false},
		{"mariadb://u@h/store", "store", false},
	} {
		src, hb, err := newSource(sqlstore.Pipeline{Name: "p", Source: tc.url}, pipeline.Publication{AllTables: true})
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if got := src.Database(); got != tc.database || (hb != nil) != tc.heartbeat {
			t.Errorf("%s: database %q, heartbeat %v; want %q, %v", tc.url, got, hb != nil, tc.database, tc.heartbeat)
		}
	}
}

// TestCheckpointer: a held pipeline's checkpoint goes to its instance row
// and comes back whole; once another agent holds it, the first one's
// checkpoint is refused (ErrLeaseLost) and the stored one is unchanged.
func TestCheckpointer(t *testing.T) {
	ctx := t.Context()
	in, err := sqlite.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "i.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.Attach(ctx, s3bridge.Settings{}); err != nil {
		t.Fatal(err)
	}
	var st Store = in
	if err := in.CreatePipeline(ctx, sqlstore.Pipeline{Name: "p", Source: "postgres://u@h/db", Config: "{}"}); err != nil {
		t.Fatal(err)
	}
	p, err := st.ClaimPipeline(ctx, "a", 100*time.Millisecond)
	if err != nil || p == nil {
		t.Fatalf("claim: %v, %v", p, err)
	}
	a := &checkpointer{st: st, h: sqlstore.PipelineHold{Name: "p", Agent: "a", Attempt: p.Attempt}}
	if cp, err := a.Load(ctx); err != nil || cp.LSN != 0 {
		t.Fatalf("first load: %+v, %v; want the zero checkpoint", cp, err)
	}
	want := writer.Checkpoint{LSN: pipeline.LSN(0x16B374D848), Tables: map[string]writer.TableMark{"public.t": {File: "cdc/db/public/t/changes/00000016B374D848.avro", FileLSN: 0x16B374D848, Parts: 2}}}
	if err := a.Save(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := a.Load(ctx)
	if err != nil || got.LSN != want.LSN || got.Tables["public.t"].File != want.Tables["public.t"].File {
		t.Fatalf("load after save: %+v, %v", got, err)
	}
	if row, _ := st.Pipeline(ctx, "p"); row.CheckpointLSN != "16/B374D848" || row.State != sqlstore.PipelineStreaming {
		t.Errorf("row after save: lsn %q, state %s", row.CheckpointLSN, row.State)
	}
	time.Sleep(200 * time.Millisecond)
	if b, err := st.ClaimPipeline(ctx, "b", time.Minute); err != nil || b == nil {
		t.Fatalf("claim after the lease ran out: %v, %v", b, err)
	}
	if err := a.Save(ctx, writer.Checkpoint{LSN: want.LSN + 100}); !errors.Is(err, s3bridge.ErrLeaseLost) {
		t.Errorf("a superseded agent's save: %v, want ErrLeaseLost", err)
	}
	if got, _ := a.Load(ctx); got.LSN != want.LSN {
		t.Errorf("checkpoint after a refused save: %v, want %v", got.LSN, want.LSN)
	}
}

// only allows requests to one bucket, as an instance policy would.
type only string

func (o only) Allow(action, resource string, _ map[string][]string) error {
	if !strings.HasPrefix(resource, "arn:aws:s3:::"+string(o)) {
		return fmt.Errorf("%s on %s: %w", action, resource, s3bridge.ErrAccessDenied)
	}
	return nil
}

// TestGuarded: a pipeline's store asks the instance's policy before each
// request; a refused write reaches no object, and stops the pipeline.
func TestGuarded(t *testing.T) {
	m := testenv.S3(t)
	allowed, other := m.Bucket(t), m.Bucket(t)
	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region, AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := Guarded(store, only(allowed))
	if _, err := g.Upload(t.Context(), allowed, "p/a.avro", strings.NewReader("x"), s3bridge.PutOptions{}); err != nil {
		t.Fatalf("upload to the allowed bucket: %v", err)
	}
	_, err = g.Upload(t.Context(), other, "p/a.avro", strings.NewReader("x"), s3bridge.PutOptions{})
	if !errors.Is(err, s3bridge.ErrAccessDenied) || !permanent(err) {
		t.Errorf("upload to another bucket: %v, want access denied, which stops the pipeline", err)
	}
	if objs, _, err := store.List(t.Context(), other, "", ""); err != nil || len(objs) != 0 {
		t.Errorf("objects in the refused bucket: %v, %v", objs, err)
	}
	for name, call := range map[string]func() error{
		"list":   func() error { _, _, err := g.List(t.Context(), other, "p/", ""); return err },
		"delete": func() error { return g.Delete(t.Context(), other, "p/a.avro") },
		"open":   func() error { _, _, err := g.Open(t.Context(), other, "p/a.avro"); return err },
	} {
		if err := call(); !errors.Is(err, s3bridge.ErrAccessDenied) {
			t.Errorf("%s in another bucket: %v, want access denied", name, err)
		}
	}
	if Guarded(store, nil) != writer.Store(store) {
		t.Error("without a policy the store is not the S3 client itself")
	}
}

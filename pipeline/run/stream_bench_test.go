package run

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/pgsource"
	"github.com/s3bridge/s3bridge/pipeline/writer"
	"github.com/s3bridge/s3bridge/s3store"
)

// BenchmarkStream drains b.N changed rows of bench/pipeline.sh's 8-column
// table, committed in transactions of 1000 rows while no pipeline ran,
// through a whole pipeline (slot → Avro files in MinIO → checkpoint), as
// the benchmark's streaming case does, in-process so that a CPU profile
// sees the agent's side alone:
//
//	go test ./pipeline/run/ -run '^$' -bench BenchmarkStream -benchtime 500000x -cpuprofile /tmp/cpu.out
//
// The time runs from the pipeline's start to the checkpoint passing a
// logical message written after the last commit.
func BenchmarkStream(b *testing.B) {
	url := testenv.Postgres(b)
	m := testenv.S3(b)
	bucket := m.Bucket(b)
	// Not b.Context(): under -benchtime Nx the benchmark function runs
	// twice (once with N=1) and the first run's context is canceled.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, err := s3store.New(ctx, s3store.Config{Endpoint: m.Endpoint, Region: m.Region,
		AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil)
	if err != nil {
		b.Fatal(err)
	}
	src, err := pgsource.New(url, testenv.Name("b"))
	if err != nil {
		b.Fatal(err)
	}
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := src.Drop(cctx); err != nil {
			b.Errorf("drop slot %s: %v", src.SlotName(), err)
		}
		db.Close(cctx)
	})
	exec := func(sql string) {
		b.Helper()
		if _, err := db.Exec(ctx, sql); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE TABLE big (id bigint PRIMARY KEY, name text, amount numeric(12,2), qty int, ts timestamp,
		flag boolean, score float8, note text)`)
	ckpt := &writer.Memory{}
	cfg := Config{Name: "bench", Source: Postgres(src), Store: store, Bucket: bucket, Prefix: "cdc",
		Publication: pgsource.Publication{AllTables: true}, Checkpointer: ckpt, Snapshot: SnapshotNever,
		Codec: pipeline.CodecSnappy, FlushInterval: time.Second, Log: slog.New(slog.DiscardHandler)}
	// A first run creates the slot; the changes are then made while no
	// pipeline reads it, as in bench/pipeline.sh.
	runUntil(ctx, b, cfg, ckpt, 1, nil)
	const txRows = 1000
	exec(fmt.Sprintf(`DO $$ BEGIN FOR b IN 0..%d LOOP
		INSERT INTO big SELECT i, 'name ' || i || CASE WHEN i %% 10 = 0 THEN ', with "quotes"' ELSE '' END,
			(i %% 100000) / 100.0, i %% 1000, timestamp '2026-01-01' + i * interval '1 second', i %% 2 = 0,
			i * 0.5, md5(i::text)
		FROM generate_series(b * %d + 1, least((b + 1) * %d, %d)) i;
		COMMIT; END LOOP; END $$`, (b.N+txRows-1)/txRows-1, txRows, txRows, b.N))
	var s string
	if err := db.QueryRow(ctx, `SELECT pg_logical_emit_message(false, 'bench', 'fence')::text`).Scan(&s); err != nil {
		b.Fatal(err)
	}
	fence, err := pipeline.ParseLSN(s)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start, cpu0, reads0 := time.Now(), cpuTime(b), readCalls(b)
	var wal time.Duration
	runUntil(ctx, b, cfg, ckpt, fence, func() {
		// The walsender's CPU time, before the stop ends it.
		var pid int
		if err := db.QueryRow(ctx, `SELECT pid FROM pg_stat_replication WHERE application_name = $1`,
			src.SlotName()).Scan(&pid); err != nil {
			b.Fatalf("walsender of %s: %v", src.SlotName(), err)
		}
		wal = procCPU(b, pid)
	})
	secs := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/secs, "rows/s")
	b.ReportMetric((cpuTime(b) - cpu0).Seconds(), "agent-cpu-s")
	b.ReportMetric(wal.Seconds(), "walsender-cpu-s")
	b.ReportMetric(float64(readCalls(b)-reads0)/float64(b.N), "reads/row")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readCalls is the process's count of read system calls so far (syscr of
// /proc/self/io).
func readCalls(b *testing.B) int64 {
	b.Helper()
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no syscr in /proc/self/io")
	return 0
}

// procCPU is a process's user and system CPU time so far (/proc/PID/stat),
// in clock ticks of 10 ms.
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command, which may hold spaces, in parentheses.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// runUntil runs a pipeline until its checkpoint reaches lsn, then calls
// atEnd, if set, and stops it.
func runUntil(ctx context.Context, b *testing.B, cfg Config, ckpt *writer.Memory, lsn pipeline.LSN, atEnd func()) {
	b.Helper()
	p, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		cp, _ := ckpt.Load(ctx)
		if cp.LSN >= lsn {
			break
		}
		select {
		case err := <-done:
			cancel()
			b.Fatalf("Run returned before checkpoint %s: %v", lsn, err)
		case <-tick.C:
		}
	}
	if atEnd != nil {
		atEnd()
	}
	cancel()
	// A stop while the stream opens returns ctx's error: no matter here.
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		b.Fatalf("Run after a clean stop: %v", err)
	}
}

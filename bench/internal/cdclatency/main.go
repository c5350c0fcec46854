// Command cdclatency measures a pipeline's commit-to-object-visible latency
// for bench/pipeline.sh. It commits small insert transactions into a table
// at a steady rate and, at the same time, lists the table's changes/
// prefix every 50 ms; each new object is read, and every transaction whose
// rows it holds counts as visible at the moment the listing that first
// showed the object returned. A transaction's latency is that moment minus
// the moment its COMMIT returned to the generator: one clock, this
// process's, on both ends, and what a consumer polling the bucket would
// see (give or take the 50 ms poll). It prints the percentiles as
//
//	transactions N rows_per_s R p50_ms A p99_ms B max_ms C
//
//	cdclatency -db URL -table lat -rate 5000 -tx-rows 50 -duration 30s -bucket B -prefix P/db/public/lat/changes/
//
// With a mysql:// URL (the password from MYSQL_PWD) the table is in the
// URL's MariaDB database (see mariadb.go). The table needs columns (id bigint, name text, amount numeric(12,2),
// qty int, ts timestamp, flag boolean, score float8, note text) and no
// row with an id the generator writes (it counts from -first). The
// endpoint and credentials come from the AWS_* variables.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hamba/avro/v2/ocf"
	"github.com/jackc/pgx/v5"
)

type options struct {
	db, table, bucket, prefix string
	rate, txRows              int
	first                     int64
	duration, wait            time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.db, "db", "", "the source database URL")
	flag.StringVar(&o.table, "table", "lat", "the captured table (schema public)")
	flag.StringVar(&o.bucket, "bucket", "", "the pipeline's bucket")
	flag.StringVar(&o.prefix, "prefix", "", "the table's changes/ prefix")
	flag.IntVar(&o.rate, "rate", 5000, "rows per second")
	flag.IntVar(&o.txRows, "tx-rows", 50, "rows per transaction")
	flag.Int64Var(&o.first, "first", 1, "the first id")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "how long to generate")
	flag.DurationVar(&o.wait, "wait", 30*time.Second, "how long to wait for the last objects after that")
	flag.Parse()
	if o.db == "" || o.bucket == "" || o.prefix == "" || o.rate <= 0 || o.txRows <= 0 {
		fmt.Fprintln(os.Stderr, "usage: cdclatency -db URL -bucket B -prefix P [-table T] [-rate R] [-tx-rows N] [-duration D]")
		os.Exit(2)
	}
	if err := measure(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "cdclatency:", err)
		os.Exit(1)
	}
}

// seen is what the poller learnt: for each transaction (by index), when
// an object holding it was first listed.
type seen struct {
	mu sync.Mutex
	at map[int64]time.Time
}

func measure(ctx context.Context, o options) error {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	api := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	insert, closeDB, err := connect(ctx, o)
	if err != nil {
		return err
	}
	defer closeDB()

	s := &seen{at: map[int64]time.Time{}}
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	perr := make(chan error, 1)
	go func() { perr <- poll(pctx, api, o, s) }()

	committed, elapsed, err := generate(ctx, insert, o)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(o.wait)
	for {
		s.mu.Lock()
		n := len(s.at)
		s.mu.Unlock()
		if n >= len(committed) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d transactions visible %s after the last commit", n, len(committed), o.wait)
		}
		select {
		case err := <-perr:
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	if err := <-perr; err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		return err
	}
	lat := make([]time.Duration, len(committed))
	s.mu.Lock()
	for i, c := range committed {
		lat[i] = s.at[int64(i)].Sub(c)
	}
	s.mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	fmt.Printf("transactions %d rows_per_s %.0f p50_ms %.0f p99_ms %.0f max_ms %.0f\n", len(committed),
		float64(len(committed)*o.txRows)/elapsed.Seconds(), pct(0.50), pct(0.99), float64(lat[len(lat)-1].Microseconds())/1000)
	return nil
}

// insertFunc commits one transaction inserting the rows with ids lo..hi.
type insertFunc func(ctx context.Context, lo, hi int64) error

// connect opens the source: PostgreSQL (the table in schema public), or
// MariaDB for a mysql:// URL (mariadb.go).
func connect(ctx context.Context, o options) (insertFunc, func(), error) {
	if strings.HasPrefix(o.db, "mysql://") {
		return connectMariaDB(ctx, o)
	}
	conn, err := pgx.Connect(ctx, o.db)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	sql := `INSERT INTO ` + pgx.Identifier{"public", o.table}.Sanitize() + `
		SELECT i, 'name ' || i, (i % 100000) / 100.0, i % 1000, timestamp '2026-01-01' + i * interval '1 second',
			i % 2 = 0, i * 0.5, md5(i::text) FROM generate_series($1::bigint, $2::bigint) i`
	insert := func(ctx context.Context, lo, hi int64) error {
		_, err := conn.Exec(ctx, sql, lo, hi)
		return err
	}
	return insert, func() { conn.Close(context.WithoutCancel(ctx)) }, nil
}

// generate commits a transaction of txRows rows every txRows/rate seconds
// for the duration (a transaction late because the database was slow is
// followed by the next at once, so the rate holds on average) and returns
// when each COMMIT returned.
func generate(ctx context.Context, insert insertFunc, o options) ([]time.Time, time.Duration, error) {
	every := time.Duration(float64(time.Second) * float64(o.txRows) / float64(o.rate))
	var committed []time.Time
	start := time.Now()
	for time.Since(start) < o.duration {
		if wait := time.Until(start.Add(time.Duration(len(committed)) * every)); wait > 0 {
			time.Sleep(wait)
		}
		lo := o.first + int64(len(committed)*o.txRows)
		if err := insert(ctx, lo, lo+int64(o.txRows)-1); err != nil {
			return nil, 0, fmt.Errorf("insert: %w", err)
		}
		committed = append(committed, time.Now())
	}
	return committed, time.Since(start), nil
}

// poll lists the prefix every 50 ms until ctx ends, reading each new
// object once.
func poll(ctx context.Context, api *s3.Client, o options, s *seen) error {
	read := map[string]bool{}
	for {
		var keys []string
		pages := s3.NewListObjectsV2Paginator(api, &s3.ListObjectsV2Input{Bucket: &o.bucket, Prefix: &o.prefix})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("list s3://%s/%s: %w", o.bucket, o.prefix, err)
			}
			for _, obj := range page.Contents {
				if k := aws.ToString(obj.Key); !read[k] {
					keys = append(keys, k)
				}
			}
		}
		at := time.Now()
		for _, k := range keys {
			ids, err := idsOf(ctx, api, o.bucket, k)
			if err != nil {
				return err
			}
			s.mu.Lock()
			for _, id := range ids {
				tx := (id - o.first) / int64(o.txRows)
				if _, ok := s.at[tx]; !ok && id >= o.first {
					s.at[tx] = at
				}
			}
			s.mu.Unlock()
			read[k] = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// idsOf reads an Avro change file and returns the id of each record's
// after image.
func idsOf(ctx context.Context, api *s3.Client, bucket, key string) ([]int64, error) {
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	body, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	dec, err := ocf.NewDecoder(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("decode s3://%s/%s: %w", bucket, key, err)
	}
	var ids []int64
	for dec.HasNext() {
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("decode s3://%s/%s: %w", bucket, key, err)
		}
		after, _ := branch(rec["after"]).(map[string]any)
		switch id := branch(after["id"]).(type) {
		case int64:
			ids = append(ids, id)
		case int32:
			ids = append(ids, int64(id))
		case int:
			ids = append(ids, int64(id))
		}
	}
	if err := dec.Error(); err != nil {
		return nil, fmt.Errorf("decode s3://%s/%s: %w", bucket, key, err)
	}
	return ids, nil
}

// branch returns the value of a decoded nullable union, which the decoder
// hands out as {"branch type name": value}; other values as they are.
func branch(v any) any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for k, x := range m {
			if strings.Contains(k, ".") || k == "long" || k == "int" {
				return x
			}
		}
	}
	return v
}

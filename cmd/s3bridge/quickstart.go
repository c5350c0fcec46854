package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/transfer"
)

// embeddedS3 is an S3-compatible endpoint in this process, on loopback,
// keeping its buckets as directories under dir. gofakes3 is a maintained
// S3 fake with multipart uploads, conditional writes and a filesystem
// backend, small enough to link into the binary.
type embeddedS3 struct {
	URL string
	srv *http.Server
}

func startEmbeddedS3(dir string, buckets ...string) (*embeddedS3, error) {
	base, err := s3afero.NewBasePathFs(afero.NewOsFs(), dir, 0)
	if err != nil {
		return nil, fmt.Errorf("embedded S3 in %s: %w", dir, err)
	}
	backend, err := s3afero.MultiBucket(base)
	if err != nil {
		return nil, fmt.Errorf("embedded S3 in %s: %w", dir, err)
	}
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil && !gofakes3.IsAlreadyExists(err) {
			return nil, fmt.Errorf("embedded S3 bucket %s: %w", b, err)
		}
	}
	faker := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("embedded S3 listen: %w", err)
	}
	srv := &http.Server{Handler: faker.Server(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return &embeddedS3{URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

func (s *embeddedS3) Close() error { return s.srv.Close() }

func runQuickstart(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("quickstart", e)
	dir := fs.String("dir", "", "where to keep the tour's files (default: a new temporary directory)")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "s3bridge-quickstart-")
		if err != nil {
			return err
		}
		*dir = d
	}
	area, s3dir := filepath.Join(*dir, "area"), filepath.Join(*dir, "s3")
	for _, d := range []string{area, s3dir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return err
		}
	}
	s3, err := startEmbeddedS3(s3dir, "quickstart")
	if err != nil {
		return err
	}
	defer s3.Close()
	say := func(format string, args ...any) { fmt.Fprintf(e.stdout, format+"\n", args...) }
	say("s3bridge quickstart: S3 endpoint %s (embedded, files in %s)", s3.URL, s3dir)
	dbURL := "sqlite://" + filepath.Join(*dir, "quickstart.db")
	in, err := sqlite.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer in.Close()
	// The embedded endpoint checks no credentials, so every bucket looks
	// public; it listens on loopback only, for this process's lifetime.
	set := s3bridge.Settings{Area: area, Endpoint: s3.URL, Region: "us-east-1", PathStyle: true, Auth: "basic", AllowPublicBuckets: true}
	if err := in.Attach(ctx, set); err != nil {
		return err
	}
	say("attached SQLite instance %s with file area %s", dbURL, area)
	if err := writeSamples(area); err != nil {
		return err
	}
	// The embedded endpoint takes any key; these never leave the process.
	qe := &env{stdout: e.stdout, stderr: e.stderr, getenv: func(k string) string {
		switch k {
		case "AWS_ACCESS_KEY_ID":
			return "quickstart"
		case "AWS_SECRET_ACCESS_KEY":
			return "quickstart-secret"
		}
		return ""
	}}
	c := &common{logLevel: logLevel(slog.LevelWarn)}
	steps := []struct {
		say  string
		task s3bridge.Task
	}{
		{"upload one file (SQL Server's rds_upload_to_s3)", transfer.UploadFileTask("data/sample.csv", "arn:aws:s3:::quickstart/incoming/sample.csv", false)},
		{"upload a directory (Oracle's upload_to_s3 with p_s3_prefix 'backup/')", transfer.UploadDirectoryTask(transfer.DirectoryUpload{Bucket: "quickstart", S3Prefix: "backup/", Directory: s3bridge.DefaultDirectory})},
		{"download one object to a new folder (rds_download_from_s3)", transfer.DownloadFileTask("s3://quickstart/incoming/sample.csv", "restored/sample.csv", false)},
		{"download a prefix into a directory object (download_from_s3)", transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: "quickstart", S3Prefix: "backup/", Directory: "RESTORED"})},
		{"gather the file area's details (rds_gather_file_details)", transfer.GatherTask()},
	}
	if err := in.Attach(ctx, withDir(set, "RESTORED", filepath.Join(*dir, "restored-dir"))); err != nil {
		return err
	}
	var lastID int64
	for i, st := range steps {
		say("\n%d. %s", i+1, st.say)
		if lastID, err = submitID(ctx, qe, c, in, st.task); err != nil {
			return err
		}
	}
	say("\nfiles in the area (list_file_details(%d)):", lastID)
	if err := printFileDetails(ctx, e, c, in, lastID); err != nil {
		return err
	}
	if err := quickstartLoad(ctx, qe, c, in, say); err != nil {
		return err
	}
	if err := quickstartExport(ctx, qe, c, in, 7, say); err != nil {
		return err
	}
	return quickstartSummary(ctx, e, in, *dir, dbURL, area, s3dir)
}

// quickstartLoad loads the uploaded CSV into a table (LOAD DATA FROM S3)
// and prints its row count.
func quickstartLoad(ctx context.Context, e *env, c *common, in *sqlite.Instance, say func(string, ...any)) error {
	if _, err := in.DB().ExecContext(ctx, `CREATE TABLE IF NOT EXISTS sales (id INTEGER, name TEXT, amount REAL)`); err != nil {
		return err
	}
	say("\n%d. load the CSV into table sales (LOAD DATA FROM S3 … IGNORE 1 LINES)", 6)
	p := load.Params{Source: load.SourceFile, URI: "s3://quickstart/incoming/sample.csv", Table: "sales",
		Options: format.Options{Format: "csv", Header: true}}
	t, err := load.Task(p)
	if err != nil {
		return err
	}
	if _, err := submitID(ctx, e, c, in, t); err != nil {
		return err
	}
	var n int
	if err := in.DB().QueryRowContext(ctx, `SELECT count(*) FROM sales`).Scan(&n); err != nil {
		return err
	}
	say("table sales now has %d rows", n)
	return nil
}

func withDir(set s3bridge.Settings, name, path string) s3bridge.Settings {
	set.Directories = map[string]string{name: path}
	return set
}

func writeSamples(area string) error {
	files := map[string]string{
		"data/sample.csv": "id,name,amount\n1,alpha,10.5\n2,beta,20.25\n3,gamma,30\n",
		"export.dmp":      "pretend this is a Data Pump file\n",
		"notes.txt":       "files in the area's top level go up with upload_to_s3\n",
	}
	for name, body := range files {
		p := filepath.Join(area, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o640); err != nil {
			return err
		}
	}
	return nil
}

func quickstartSummary(ctx context.Context, e *env, in instance.Instance, dir, dbURL, area, s3dir string) error {
	tasks, err := in.Tasks(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\ntasks (task_status(NULL, 0)):")
	if err := printTasks(e, &common{}, tasks); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\neverything is in %s:\n  instance   %s\n  file area  %s\n  buckets    %s\n", dir, dbURL, area, s3dir)
	fmt.Fprintf(e.stdout, "try: s3bridge status --db %s\n", dbURL)
	return nil
}

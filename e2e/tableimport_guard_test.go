package e2e

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// put stores body in the test's bucket with MinIO's admin client.
func (w *world) put(key string, body []byte) {
	w.t.Helper()
	_, err := w.minio.Admin(w.t).PutObject(w.t.Context(), &s3.PutObjectInput{Bucket: aws.String(w.bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		w.t.Fatal(err)
	}
}

// pgErr returns err's PostgreSQL error, failing the test when it has none.
func pgErr(t *testing.T, what string, err error) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("%s: %v, want a PostgreSQL error", what, err)
	}
	return pe
}

// importPolicy attaches url for table_import_from_s3 with the instance
// policy doc and the given credentials file.
func importAttach(t *testing.T, w *world, url, creds, doc string) {
	t.Helper()
	args := []string{"attach", "--db", url, "--endpoint", w.minio.Endpoint, "--binary", binary, "--credentials-file", creds, "--no-check"}
	if doc != "" {
		p := filepath.Join(t.TempDir(), "policy.json")
		writeFile(t, p, doc)
		args = append(args, "--policy", p)
	}
	w.mustCLI(args...)
}

func allowOnly(bucket string) string {
	return fmt.Sprintf(`{"Version": "2012-10-17", "Statement": [{"Sid": "only", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
		"Resource": ["arn:aws:s3:::%[1]s", "arn:aws:s3:::%[1]s/*"]}]}`, bucket)
}

const animals = "id,name\n1,cat\n2,dog\n3,owl\n"

// TestPostgresTableImportPolicy (issue 18, item 2): table_import_from_s3
// is fenced by the instance policy exactly as the agent's load: with a
// policy allowing only another bucket both refuse, in the same words, and
// no row lands; with a policy allowing the bucket the import works.
func TestPostgresTableImportPolicy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	creds := credentialsFile(t, w)
	db := openDB(t, "pgx", url)
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE animals (id int, name text)`); err != nil {
		t.Fatal(err)
	}
	w.put("animals.csv", []byte(animals))
	importAttach(t, w, url, creds, allowOnly("allowed-b"))

	want := "s3:GetObject on arn:aws:s3:::" + w.bucket + "/animals.csv: implicitDeny"
	_, err := w.cli("load", "--db", url, "--table", "animals", "--header", "s3://"+w.bucket+"/animals.csv")
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("CLI load under the fence: %v, want %q", err, want)
	}
	_, err = db.ExecContext(t.Context(), `select s3bridge.table_import_from_s3('animals', '', '(format csv, header true)', $1, 'animals.csv', 'us-east-1')`, w.bucket)
	pe := pgErr(t, "table_import_from_s3 under the fence", err)
	if !strings.Contains(pe.Message, want) || pe.Code != "42501" {
		t.Errorf("table_import_from_s3 under the fence: %s %q, want 42501 saying %q as the CLI does", pe.Code, pe.Message, want)
	}
	if n := scalar[int](t, db, `select count(*) from animals`); n != 0 {
		t.Errorf("%d rows landed through the fence", n)
	}

	importAttach(t, w, url, creds, allowOnly(w.bucket))
	got := scalar[string](t, db, `select s3bridge.table_import_from_s3('animals', '', '(format csv, header true)', $1, 'animals.csv', 'us-east-1')`, w.bucket)
	if !strings.HasPrefix(got, "3 rows imported") {
		t.Errorf("table_import_from_s3 with the bucket allowed: %q", got)
	}
}

// TestPostgresTableImportErrors (issue 16, item 1): every failure of
// table_import_from_s3 reaches the caller as the SQL error's message,
// detail and SQLSTATE, in the CLI's words, and leaves no row: a missing
// object, wrong credentials, bad CSV, a file that fails mid-stream, a zip.
func TestPostgresTableImportErrors(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	db := openDB(t, "pgx", url)
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE animals (id int, name text)`); err != nil {
		t.Fatal(err)
	}
	importAttach(t, w, url, credentialsFile(t, w), "")

	var big strings.Builder
	big.WriteString("id,name\n")
	for i := range 200000 {
		fmt.Fprintf(&big, "%d,animal number %d\n", i, i)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(big.String()))
	zw.Close()
	w.put("truncated.csv.gz", gz.Bytes()[:gz.Len()/2])
	w.put("bad.csv", []byte("id,name\n1,cat\nx,dog\n"))
	w.put("a.zip", []byte("PK\x03\x04 not really a zip"))

	uri := func(key string) string { return "s3://" + w.bucket + "/" + key }
	arn := func(key string) string { return "arn:aws:s3:::" + w.bucket + "/" + key }
	tests := []struct {
		name, key, state string
		want             []string
	}{
		{"missing object", "missing.csv", "58P01", []string{uri("missing.csv"), "not found"}},
		{"bad csv", "bad.csv", "22P02", []string{`invalid input syntax for type integer: "x"`}},
		{"mid-stream", "truncated.csv.gz", "58030", []string{"s3-cat " + uri("truncated.csv.gz"), "unexpected EOF"}},
		{"zip", "a.zip", "0A000", []string{"zip archives are loaded with s3bridge load"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.ExecContext(t.Context(), `select s3bridge.table_import_from_s3('animals', '', '(format csv, header true)', $1, $2)`, w.bucket, tt.key)
			checkImportErr(t, db, err, tt.state, tt.want...)
		})
	}

	// Wrong credentials: the S3 server's denial, in the CLI's words.
	bad := credentialsFile(t, w)
	writeFile(t, bad, "[default]\naws_access_key_id = "+w.minio.AccessKey+"\naws_secret_access_key = wrong-secret\n")
	importAttach(t, w, url, bad, "")
	w.put("animals.csv", []byte(animals))
	want := "s3:GetObject on " + arn("animals.csv") + ": denied by the S3 server"
	w.env = append(w.env, "AWS_SECRET_ACCESS_KEY=wrong-secret")
	if _, err := w.cli("load", "--db", url, "--table", "animals", "--header", uri("animals.csv")); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("CLI load with a wrong secret: %v, want %q", err, want)
	}
	_, err := db.ExecContext(t.Context(), `select s3bridge.table_import_from_s3('animals', '', '(format csv, header true)', $1, 'animals.csv')`, w.bucket)
	checkImportErr(t, db, err, "42501", want)
}

func checkImportErr(t *testing.T, db *sql.DB, err error, state string, want ...string) {
	t.Helper()
	pe := pgErr(t, "table_import_from_s3", err)
	if pe.Code != state {
		t.Errorf("SQLSTATE %s (%s), want %s", pe.Code, pe.Message, state)
	}
	for _, w := range want {
		if !strings.Contains(pe.Message, w) {
			t.Errorf("message %q does not say %q", pe.Message, w)
		}
	}
	if strings.Contains(pe.Message, "child process exited") || strings.Contains(pe.Message, "S3BRIDGE_SETTINGS") {
		t.Errorf("message %q is COPY's, not the reason", pe.Message)
	}
	// Nothing the caller sees holds the command line the server ran: the
	// instance's settings and the credentials file's path.
	for what, text := range map[string]string{"detail": pe.Detail, "hint": pe.Hint, "context": pe.Where, "message": pe.Message} {
		if strings.Contains(text, "S3BRIDGE_SETTINGS='") || strings.Contains(text, "AWS_SHARED_CREDENTIALS_FILE") || strings.Contains(text, "FROM PROGRAM") {
			t.Errorf("the error's %s shows the command line: %q", what, text)
		}
	}
	if state == "22P02" && !strings.Contains(pe.Detail, "COPY animals, line 3") {
		t.Errorf("detail %q does not name the line of the bad value", pe.Detail)
	}
	if state != "22P02" && !strings.Contains(pe.Detail, "database host") {
		t.Errorf("detail %q does not say where it was read", pe.Detail)
	}
	if n := scalar[int](t, db, `select count(*) from animals`); n != 0 {
		t.Errorf("%d rows landed from a failed import", n)
	}
}

// TestS3CatNeedsSettings: s3-cat reads nothing without the instance
// settings table_import_from_s3 passes, and answers --size in JSON.
func TestS3CatNeedsSettings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	out, err := w.cli("s3-cat", "--size", "s3://"+w.bucket+"/x.csv")
	if err != nil || !strings.Contains(out, `"error":"s3-cat: no instance settings in S3BRIDGE_SETTINGS`) || !strings.Contains(out, `"sqlstate":"22023"`) {
		t.Errorf("s3-cat --size without settings: %v %q", err, out)
	}
	if _, err := w.cli("s3-cat", "s3://"+w.bucket+"/x.csv"); err == nil || !strings.Contains(err.Error(), "no instance settings") {
		t.Errorf("s3-cat without settings: %v", err)
	}
}

// TestPostgresTableImportEndpointFromEnv (issue 16, item 2): attached
// without --endpoint by a process whose environment names one, the
// instance records it, so the database host's s3-cat, which has no such
// environment, reaches the same S3 as the CLI rather than AWS.
func TestPostgresTableImportEndpointFromEnv(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	db := openDB(t, "pgx", url)
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE animals (id int, name text)`); err != nil {
		t.Fatal(err)
	}
	w.put("animals.csv", []byte(animals))
	out := w.mustCLI("attach", "--db", url, "--binary", binary, "--credentials-file", credentialsFile(t, w), "--no-check")
	var got string
	err := db.QueryRowContext(t.Context(), `select s3bridge.table_import_from_s3('animals', '', '(format csv, header true)', $1, 'animals.csv')`, w.bucket).Scan(&got)
	if err != nil || !strings.HasPrefix(got, "3 rows imported") {
		t.Errorf("table_import_from_s3: %q, %v", got, err)
	}
	contains(t, "attach output", out, "recorded endpoint "+w.minio.Endpoint+" (from AWS_ENDPOINT_URL)")
	if got := scalar[sql.NullString](t, db, `select value::jsonb->>'endpoint' from s3bridge.settings where name = 'settings'`); got.String != w.minio.Endpoint {
		t.Errorf("stored endpoint %q, want %q", got.String, w.minio.Endpoint)
	}
}

package e2e

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestErrorTexts (issue 16 item 4): the common failures say first, in
// words, what is wrong and where; the detail follows. Each row pins the
// first sentence of what the binary prints on stderr.
func TestErrorTexts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	dir := t.TempDir()
	lite := "sqlite://" + filepath.Join(dir, "app.db")
	area := filepath.Join(dir, "area")
	w.mustCLI("attach", "--db", lite, "--area", area, "--create-area")
	writeFile(t, filepath.Join(area, "a.csv"), "id,name\n1,apple\n")
	writeFile(t, filepath.Join(area, "wide.csv"), "1,apple,extra,more\n")
	w.mustCLI("upload-file", "--db", lite, "a.csv", "s3://"+w.bucket+"/a.csv")
	w.mustCLI("upload-file", "--db", lite, "wide.csv", "s3://"+w.bucket+"/wide.csv")
	db := openDB(t, "sqlite", filepath.Join(dir, "app.db"))
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE fruit (id INTEGER, name TEXT)"); err != nil {
		t.Fatal(err)
	}
	pg := testenv.Postgres(t)
	maria := mariaDBWithPassword(t, "right-pass-Xy81")
	ep := w.minio.Endpoint
	// An instance metadata service with no role, answering 404 as some
	// hosts' do: the SDK's default chain ends there, and its logger used to
	// print "WARN falling back to IMDSv1" ahead of our error.
	imds := httptest.NewServer(http.NotFoundHandler())
	defer imds.Close()
	noCreds := []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_DEFAULT_PROFILE=",
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-credentials"), "AWS_CONFIG_FILE=" + filepath.Join(dir, "no-config"),
		"AWS_WEB_IDENTITY_TOKEN_FILE=", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=", "AWS_CONTAINER_CREDENTIALS_FULL_URI=",
		"AWS_EC2_METADATA_DISABLED=", "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL, "AWS_MAX_ATTEMPTS=1"}
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no bucket", nil, []string{"upload-file", "--db", lite, "a.csv", "s3://s3b-no-such-bucket-x/a.csv"},
			"ERROR: bucket s3b-no-such-bucket-x does not exist at " + ep + ": "},
		{"no object", nil, []string{"download-file", "--db", lite, "s3://" + w.bucket + "/missing.csv"},
			"ERROR: object s3://" + w.bucket + "/missing.csv not found at " + ep + ": "},
		{"wrong key", []string{"AWS_ACCESS_KEY_ID=s3b-unknown-key"}, []string{"upload-file", "--db", lite, "--overwrite", "a.csv", "s3://" + w.bucket + "/a.csv"},
			"ERROR: s3:PutObject on arn:aws:s3:::" + w.bucket + "/a.csv: denied by the S3 server: the access key ID is not known at " + ep + " (check AWS_ACCESS_KEY_ID or the profile): "},
		{"wrong secret", []string{"AWS_SECRET_ACCESS_KEY=s3b-wrong-secret"}, []string{"upload-file", "--db", lite, "--overwrite", "a.csv", "s3://" + w.bucket + "/a.csv"},
			"ERROR: s3:PutObject on arn:aws:s3:::" + w.bucket + "/a.csv: denied by the S3 server: the secret access key is wrong for this access key ID at " + ep + " (check AWS_SECRET_ACCESS_KEY or the profile): "},
		{"expired token", []string{"AWS_SESSION_TOKEN=s3b-expired-token"}, []string{"upload-file", "--db", lite, "--overwrite", "a.csv", "s3://" + w.bucket + "/a.csv"},
			"ERROR: s3:PutObject on arn:aws:s3:::" + w.bucket + "/a.csv: denied by the S3 server: the session token has expired or is invalid at " + ep + " (get new credentials): "},
		{"endpoint down", []string{"AWS_ENDPOINT_URL=http://127.0.0.1:1", "AWS_MAX_ATTEMPTS=1"}, []string{"upload-file", "--db", lite, "--overwrite", "a.csv", "s3://" + w.bucket + "/a.csv"},
			"ERROR: cannot reach the S3 endpoint http://127.0.0.1:1 (connection refused: is the server running, and is the port right?): "},
		{"no credentials", noCreds, []string{"download-file", "--db", lite, "--overwrite", "s3://" + w.bucket + "/a.csv"},
			"ERROR: no S3 credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "},
		{"DB down", nil, []string{"status", "--db", "postgres://postgres@127.0.0.1:1/postgres"},
			"s3bridge: cannot reach the database at 127.0.0.1:1 (connection refused: is the server running, and is the port right?): "},
		{"DB auth", nil, []string{"status", "--db", strings.Replace(maria, "right-pass-Xy81", "wrong-pass", 1)},
			"s3bridge: the database at " + testenv.MariaDBHost() + " refused user "},
		{"not attached", nil, []string{"status", "--db", pg},
			"s3bridge: s3bridge is not attached to this database (run: s3bridge attach --db …)\n"},
		{"table missing", nil, []string{"load", "--db", lite, "--table", "nosuch", "s3://" + w.bucket + "/a.csv"},
			"ERROR: load: no table \"nosuch\" in this database"},
		{"column mismatch", nil, []string{"load", "--db", lite, "--table", "fruit", "s3://" + w.bucket + "/wide.csv"},
			"ERROR: load s3://" + w.bucket + "/wide.csv: line 1: 4 fields, but 2 columns (id, name) are loaded"},
	}
	good := w.env
	sdkLog := regexp.MustCompile(`(?m)^SDK \d{4}/`) // the SDK's own logger's lines
	for _, tt := range tests {
		w.env = append(append([]string(nil), good...), tt.env...)
		_, err := w.cli(tt.args...)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v\nwant %q", tt.name, err, tt.want)
		}
		if err != nil && sdkLog.MatchString(err.Error()) {
			t.Errorf("%s: the AWS SDK logged on stderr:\n%v", tt.name, err)
		}
	}
	w.env = good
}

// TestNotAttachedServers (issue 19 item 6): on PostgreSQL and MariaDB too,
// a database s3bridge is not attached to gets the same words from every
// command, not a SQL error about a missing table; s3bridge tables older
// than the binary are told apart and sent to attach.
func TestNotAttachedServers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const msg = "s3bridge: s3bridge is not attached to this database (run: s3bridge attach --db …)\n"
	maria := testenv.MariaDB(t)
	for name, url := range map[string]string{"postgres": testenv.Postgres(t), "mariadb": maria} {
		for _, args := range [][]string{
			{"status"}, {"log", "1"}, {"cancel", "1"}, {"check"}, {"detach"}, {"list-files"},
			{"upload-file", "a.csv", "s3://" + w.bucket + "/a.csv"}, {"export", "--query", "SELECT 1", "s3://" + w.bucket + "/x"},
		} {
			_, err := w.cli(append([]string{args[0], "--db", url}, args[1:]...)...)
			if err == nil || !strings.HasSuffix(err.Error(), msg) {
				t.Errorf("%s %v: %v, want %q", name, args, err, msg)
			}
		}
	}
	w.mustCLI("attach", "--db", maria)
	_, schema := mariaNames(t, maria)
	db := openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+schema)
	if _, err := db.ExecContext(t.Context(), "ALTER TABLE tasks DROP COLUMN rows_processed"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cli("status", "--db", maria); err == nil || !strings.Contains(err.Error(),
		"s3bridge: the s3bridge tables in this database are older than this s3bridge (run: s3bridge attach --db … to upgrade them): ") {
		t.Errorf("status on older tables: %v", err)
	}
	w.mustCLI("attach", "--db", maria)
	w.mustCLI("status", "--db", maria)
}

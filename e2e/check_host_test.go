package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestCheckRunsTheDatabaseHostPath (issue 16, item 2): s3bridge check also
// tries the path table_import_from_s3 takes, by having PostgreSQL run its
// s3bridge binary as the server does (its OS user, its environment), so a
// setup that works for the agent but not for the server is caught before
// a user's import fails.
func TestCheckRunsTheDatabaseHostPath(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	creds := credentialsFile(t, w)
	w.mustCLI("attach", "--db", url, "--endpoint", w.minio.Endpoint, "--binary", binary, "--credentials-file", creds,
		"--feature", "LOAD", "--bucket", w.bucket)
	out := w.mustCLI("check", "--db", url)
	contains(t, "check of a working setup", out, "table_import_from_s3 from the database host, bucket "+w.bucket+": reachable")

	// The server's binary gets a wrong secret; the agent's own still works.
	bad := filepath.Join(filepath.Dir(creds), "bad-credentials")
	writeFile(t, bad, "[default]\naws_access_key_id = "+w.minio.AccessKey+"\naws_secret_access_key = wrong-secret\n")
	os.Chmod(bad, 0o644)
	w.mustCLI("attach", "--db", url, "--credentials-file", bad)
	out, err := w.cli("check", "--db", url)
	if err == nil {
		t.Fatalf("check with a wrong secret on the database host passed:\n%s", out)
	}
	if !strings.Contains(out, "table_import_from_s3 from the database host, bucket "+w.bucket+":") || strings.Contains(out, "reachable") {
		t.Errorf("check did not report the database host's failure:\n%s", out)
	}
}

// TestCheckBucketProbesAnUngrantedBucketOnTheDatabaseHost: check --bucket B
// asks the database host about B even when no grant names B, since the
// user asked about exactly that bucket. It used to skip the host, print
// "every probed permission is in place" and exit 0 with a wrong secret on
// the server's side.
func TestCheckBucketProbesAnUngrantedBucketOnTheDatabaseHost(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	bad := filepath.Join(filepath.Dir(credentialsFile(t, w)), "bad-credentials")
	writeFile(t, bad, "[default]\naws_access_key_id = "+w.minio.AccessKey+"\naws_secret_access_key = wrong-secret\n")
	os.Chmod(bad, 0o644)
	w.mustCLI("attach", "--db", url, "--endpoint", w.minio.Endpoint, "--binary", binary, "--credentials-file", bad, "--no-check")
	out, err := w.cli("check", "--db", url, "--bucket", w.bucket)
	if err == nil {
		t.Fatalf("check --bucket of an ungranted bucket with a wrong secret on the database host passed:\n%s", out)
	}
	contains(t, "check --bucket of an ungranted bucket", out, "table_import_from_s3 from the database host, bucket "+w.bucket+":")
	if strings.Contains(out, "reachable") || strings.Contains(out, "every probed permission is in place") {
		t.Errorf("check did not report the database host's failure:\n%s", out)
	}
}

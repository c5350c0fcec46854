package e2e

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestPolicyCommands: generation, simulation, attach-time validation of
// policies and roles, and check against the real bucket.
func TestPolicyCommands(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.bucket
	out := w.mustCLI("policy", "--feature", "LOAD", "--bucket", b, "--prefix", "data/", "--source-arn", "arn:s3bridge:db:us-east-1:123456789012:db:app",
		"--trust-principal", "arn:aws:iam::123456789012:role/agent")
	var docs map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &docs); err != nil {
		t.Fatalf("policy output is not one JSON document: %v\n%s", err, out)
	}
	contains(t, "permission policy", string(docs["PolicyDocument"]), `"s3:GetObject"`, `"arn:aws:s3:::`+b+`/data/*"`, `"s3:ListBucket"`, `"data/*"`)
	contains(t, "trust policy", string(docs["AssumeRolePolicyDocument"]), `"sts:AssumeRole"`, `"arn:s3bridge:db:us-east-1:123456789012:db:app"`)
	if strings.Contains(string(docs["PolicyDocument"]), "s3:PutObject") {
		t.Error("LOAD's policy grants s3:PutObject")
	}

	dir := t.TempDir()
	pol := filepath.Join(dir, "p.json")
	writeFile(t, pol, `{"Version": "2012-10-17", "Statement": [
  {"Sid": "ReadData", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::`+b+`/*"},
  {"Sid": "NoPut", "Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::`+b+`/*"}]}`)
	// The decision is the first word; the exit status is 1 for a denial.
	sim := func(action, resource string) string {
		out, _ := w.cli("policy", "simulate", "--policy", pol, "--action", action, "--resource", resource)
		return strings.Fields(out + " none")[0]
	}
	for _, tc := range []struct{ action, resource, want string }{
		{"s3:GetObject", "arn:aws:s3:::" + b + "/x", "allowed"},
		{"s3:putobject", "arn:aws:s3:::" + b + "/x", "explicitDeny"},
		{"s3:GetObject", "arn:aws:s3:::other/x", "implicitDeny"},
	} {
		if got := sim(tc.action, tc.resource); got != tc.want {
			t.Errorf("simulate %s %s: %s, want %s", tc.action, tc.resource, got, tc.want)
		}
	}

	url := "sqlite://" + filepath.Join(dir, "i.db")
	area := t.TempDir()
	badJSON := filepath.Join(dir, "bad.json")
	writeFile(t, badJSON, "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"allow\", \"Action\": \"s3:*\", \"Resource\": \"*\"}]\n}")
	if _, err := w.cli("attach", "--db", url, "--area", area, "--policy", badJSON); err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "Effect") {
		t.Errorf("malformed policy at attach: %v", err)
	}
	badOp := filepath.Join(dir, "badop.json")
	writeFile(t, badOp, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"aws:SourceArn":"x"}}}]}`)
	if _, err := w.cli("attach", "--db", url, "--area", area, "--policy", badOp); err == nil || !strings.Contains(err.Error(), "StringEqualz") {
		t.Errorf("unknown condition operator at attach: %v", err)
	}
	good := w.env
	w.env = append(w.env, "AWS_SECRET_ACCESS_KEY=wrong-secret")
	if _, err := w.cli("attach", "--db", url, "--area", area, "--role-arn", "arn:aws:iam::123456789012:role/x"); err == nil || !strings.Contains(err.Error(), "AssumeRole") {
		t.Errorf("role STS refuses, at attach: %v", err)
	}
	w.env = good
	// A role STS accepts: tasks run with the assumed role's credentials.
	w.mustCLI("attach", "--db", url, "--area", area, "--role-arn", "arn:aws:iam::123456789012:role/s3bridge")
	writeFile(t, filepath.Join(area, "r.csv"), "r\n")
	contains(t, "upload with an assumed role", w.mustCLI("upload-file", "--db", url, "r.csv", "s3://"+b+"/role/r.csv"), "SUCCESS")

	// Granted a prefix, the instance passes check; a denying policy fails
	// it, naming the action.
	w.mustCLI("attach", "--db", url, "--area", area, "--feature", "S3_INTEGRATION_UPLOAD", "--bucket", b, "--prefix", "up/")
	contains(t, "check", w.mustCLI("check", "--db", url), "every probed permission is in place", "s3:PutObject")
	w.mustCLI("attach", "--db", url, "--policy", pol, "--no-check")
	_, err := w.cli("check", "--db", url)
	if err == nil || !strings.Contains(w.printed(), "DENIED: s3:PutObject on arn:aws:s3:::"+b+"/up/") {
		t.Errorf("check under a denying policy: %v", err)
	}
	writeFile(t, filepath.Join(area, "a.csv"), "x\n")
	if _, err := w.cli("upload-file", "--db", url, "a.csv", "s3://"+b+"/up/a.csv"); err == nil || !strings.Contains(err.Error(), `explicitDeny by statement "NoPut"`) {
		t.Errorf("upload under a denying policy: %v", err)
	}
}

// TestSecretsNeverPrinted runs every task type with session credentials and
// debug logging on MariaDB with a DB password, then searches everything
// s3bridge printed and stored for the secrets: zero hits.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const dbPassword = "db-pass-Rt5Wq9Lx"
	url := mariaDBWithPassword(t, dbPassword)
	stsClient := sts.New(sts.Options{Region: w.minio.Region, BaseEndpoint: aws.String(w.minio.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(w.minio.AccessKey, w.minio.SecretKey, "")})
	out, err := stsClient.AssumeRole(t.Context(), &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/x"), RoleSessionName: aws.String("s3bridge-test")})
	if err != nil {
		t.Fatalf("STS AssumeRole on MinIO: %v", err)
	}
	c := out.Credentials
	w.env = append(w.env, "AWS_ACCESS_KEY_ID="+aws.ToString(c.AccessKeyId), "AWS_SECRET_ACCESS_KEY="+aws.ToString(c.SecretAccessKey), "AWS_SESSION_TOKEN="+aws.ToString(c.SessionToken))
	area, pump := t.TempDir(), t.TempDir()
	w.mustCLI("attach", "--db", url, "--area", area, "--dir", "DATA_PUMP_DIR="+pump, "--auth", "session", "--log-level", "debug")
	writeFile(t, filepath.Join(pump, "d.dmp"), "dump")
	writeFile(t, filepath.Join(area, "a.csv"), "x\n")
	b := w.bucket
	dbName, _ := mariaNames(t, url)
	if _, err := openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+dbName).ExecContext(t.Context(), "CREATE TABLE loaded (x TEXT)"); err != nil {
		t.Fatal(err)
	}
	steps := [][]string{
		{"upload", "--bucket", b, "--s3-prefix", "dir/"},
		{"download", "--bucket", b, "--s3-prefix", "dir/", "--directory", "DATA_PUMP_DIR"},
		{"upload-file", "a.csv", "s3://" + b + "/a.csv"},
		{"download-file", "--overwrite", "s3://" + b + "/a.csv", "b.csv"},
		{"list-files"},
		{"delete-file", "b.csv"},
		{"load", "--table", "loaded", "--format", "csv", "s3://" + b + "/a.csv"},
		{"upload-file", "a.csv", "s3://" + b + "/a.csv"}, // fails: exists
	}
	for i, s := range steps {
		_, err := w.cli(append(s, "--db", url, "--log-level", "debug")...)
		if (err != nil) != (i == len(steps)-1) {
			t.Errorf("%v: %v", s, err)
		}
	}
	id := strings.TrimSpace(w.mustCLI("upload-file", "--db", url, "--async", "a.csv", "s3://"+b+"/c.csv"))
	w.agent("--db", url, "--tick", "100ms")
	waitFor(t, "the agent's task", 30*time.Second, func() bool { return strings.Contains(w.mustCLI("status", "--db", url, id), "SUCCESS") })
	w.mustCLI("status", "--db", url, "--json")
	for i := 1; i <= len(steps)+1; i++ {
		w.mustCLI("log", "--db", url, strconv.Itoa(i))
	}
	stored := dumpTables(t, url)
	secrets := map[string]string{"secret key": aws.ToString(c.SecretAccessKey), "session token": aws.ToString(c.SessionToken),
		"DB password": dbPassword, "root secret key": w.minio.SecretKey}
	for name, s := range secrets {
		if strings.Contains(w.printed(), s) {
			t.Errorf("the %s appears in what s3bridge printed", name)
		}
		if strings.Contains(stored, s) {
			t.Errorf("the %s appears in the instance's tables", name)
		}
	}
	if !strings.Contains(stored, "started by agent") || len(w.printed()) < 1000 {
		t.Errorf("the search had too little to search (%d bytes printed)", len(w.printed()))
	}
}

// dumpTables reads every row of the instance's s3bridge tables as text.
func dumpTables(t *testing.T, instanceURL string) string {
	t.Helper()
	_, schema := mariaNames(t, instanceURL)
	db := openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+schema)
	var all strings.Builder
	for _, table := range []string{"tasks", "task_log", "settings", "file_details"} {
		rows, err := db.QueryContext(t.Context(), "select * from `"+table+"`")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					all.Write(b)
				}
				all.WriteString("\t")
			}
		}
		rows.Close()
	}
	return all.String()
}

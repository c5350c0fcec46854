package s3store

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

func TestPublicGrant(t *testing.T) {
	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	tests := []struct {
		name, doc, want string // want "" = not public
	}{
		{"anonymous download", stmt(`{"Sid":"D","Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}`),
			`anyone may read objects (bucket policy statement "D")`},
		{"principal star string, one statement object", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}}`,
			"anyone may list the bucket (bucket policy Statement[0])"},
		{"AWS star string", stmt(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/up/*"}`), "anyone may write objects"},
		{"action wildcard", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*"}`), "anyone may read objects"},
		{"action case and ?", stmt(`{"Effect":"Allow","Principal":"*","Action":"S3:PUTOBJEC?","Resource":"*"}`), "anyone may write objects"},
		{"all actions", stmt(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`), "anyone may read objects"},
		{"NotAction leaves GetObject", stmt(`{"Effect":"Allow","Principal":"*","NotAction":"s3:Delete*","Resource":"*"}`), "anyone may read objects"},
		{"NotAction excludes the three", stmt(`{"Effect":"Allow","Principal":"*","NotAction":["s3:GetObject","s3:ListBucket","s3:PutObject"],"Resource":"*"}`), ""},
		{"NotPrincipal", stmt(`{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"*"}`), "anyone may read objects"},
		{"second statement", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:*","Resource":"*"},
			{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"*"}`), "Statement[1]"},
		{"deny does not make private", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"},
			{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/secret/*"}`), "anyone may read objects"},
		{"condition anyone meets", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true}}}`), "anyone may read objects"},
		{"source range /0", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}}`), "anyone may read objects"},
		{"IfExists passes a missing key", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:SourceVpce":"vpce-1"}}}`), "anyone may read objects"},
		{"negated operator", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}`), "anyone may read objects"},
		{"wildcard account", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringLike":{"aws:SourceAccount":"*"}}}`), "anyone may read objects"},

		{"no statement for anyone", stmt(`{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:root"]},"Action":"s3:*","Resource":"*"}`), ""},
		{"deny only", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}`), ""},
		{"other actions only", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetBucketLocation","Resource":"*"}`), ""},
		{"pinned source range", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/16","192.0.2.7"]}}}`), ""},
		{"pinned VPC endpoint", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1a2b"}}}`), ""},
		{"pinned org, any value", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:PrincipalOrgID":["o-1","o-2"]}}}`), ""},
		{"pinned role sessions", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"aws:userid":"AROAEXAMPLE:*"}}}`), ""},
		{"pinned among others", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"},"ArnEquals":{"aws:SourceArn":"arn:aws:rds:us-east-1:1:db:x"}}}`), ""},
	}
	for _, tc := range tests {
		got, err := publicGrant([]byte(tc.doc))
		if err != nil || !strings.Contains(got, tc.want) || (got == "") != (tc.want == "") {
			t.Errorf("%s: publicGrant = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := publicGrant([]byte(`{"Statement":`)); err == nil {
		t.Error("publicGrant of broken JSON: want an error")
	}
}

func FuzzPublicGrant(f *testing.F) {
	f.Add(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*"}]}`)
	f.Add(`{"Statement":{"Effect":"Allow","NotPrincipal":{"AWS":1},"NotAction":[],"Condition":{"IpAddress":{"aws:SourceIp":["x"]}}}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		publicGrant([]byte(doc)) // must not panic
	})
}

// fakePolicyServer answers the public-access calls of one bucket "bkt".
// Signed requests get the configured answers; anonymous ones are denied
// listing and get anonGet for objects.
type fakePolicyServer struct {
	block    string // GetPublicAccessBlock body; "" = NotImplemented
	status   string // IsPublic of GetBucketPolicyStatus; "" = NotImplemented
	policy   string // GetBucketPolicy body; "" = AccessDenied
	anonGet  int    // status of an anonymous GetObject
	anonCode string
}

func (f fakePolicyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	signed := r.Header.Get("Authorization") != ""
	const ns = `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`
	switch {
	case r.Method == http.MethodHead && r.URL.Path == "/bkt":
		w.Header().Set("X-Amz-Bucket-Region", "us-east-1")
	case !signed && r.URL.Path == "/bkt":
		writeS3Error(w, http.StatusForbidden, "AccessDenied")
	case !signed:
		writeS3Error(w, f.anonGet, f.anonCode)
	case q.Has("publicAccessBlock") && f.block != "":
		fmt.Fprintf(w, `<PublicAccessBlockConfiguration %s>%s</PublicAccessBlockConfiguration>`, ns, f.block)
	case q.Has("policyStatus") && f.status != "":
		fmt.Fprintf(w, `<PolicyStatus %s><IsPublic>%s</IsPublic></PolicyStatus>`, ns, f.status)
	case q.Has("policy") && f.policy != "":
		io.WriteString(w, f.policy)
	case q.Has("policy"):
		writeS3Error(w, http.StatusForbidden, "AccessDenied")
	default:
		writeS3Error(w, http.StatusNotImplemented, "NotImplemented")
	}
}

// TestPublicReasonSources: the public access block, S3's own policy status
// and the anonymous probes each decide where they should.
func TestPublicReasonSources(t *testing.T) {
	openPolicy := `{"Statement":[{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*"}]}`
	pinnedPolicy := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]}`
	tests := []struct {
		name  string
		srv   fakePolicyServer
		onAWS bool
		want  string // "" = not public
	}{
		{"restricted by the public access block", fakePolicyServer{block: "<RestrictPublicBuckets>true</RestrictPublicBuckets>", policy: openPolicy, anonGet: 403, anonCode: "AccessDenied"}, false, ""},
		{"block without restriction", fakePolicyServer{block: "<BlockPublicAcls>true</BlockPublicAcls>", policy: openPolicy, anonGet: 403, anonCode: "AccessDenied"}, false, `statement "Open"`},
		{"S3 says public, statement named", fakePolicyServer{status: "true", policy: openPolicy, anonGet: 403, anonCode: "AccessDenied"}, false, `anyone may read objects (bucket policy statement "Open")`},
		{"S3 says public, statement unknown", fakePolicyServer{status: "true", policy: pinnedPolicy, anonGet: 403, anonCode: "AccessDenied"}, false, "GetBucketPolicyStatus"},
		{"AWS says private", fakePolicyServer{status: "false", policy: openPolicy, anonGet: 403, anonCode: "AccessDenied"}, true, ""},
		{"elsewhere a false status is not trusted", fakePolicyServer{status: "false", policy: openPolicy, anonGet: 403, anonCode: "AccessDenied"}, false, `statement "Open"`},
		{"policy unreadable, anonymous read", fakePolicyServer{anonGet: 404, anonCode: "NoSuchKey"}, false, "anonymous GetObject of a missing key got NoSuchKey"},
		{"policy unreadable, anonymous denied", fakePolicyServer{anonGet: 403, anonCode: "AccessDenied"}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.srv)
			defer srv.Close()
			c := newClient(t, fakeConfig(srv.URL))
			c.onAWS = tc.onAWS
			got, err := c.PublicReason(t.Context(), "bkt")
			if err != nil || !strings.Contains(got, tc.want) || (got == "") != (tc.want == "") {
				t.Errorf("PublicReason = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestAnonymousProbe: against MinIO, the anonymous GetObject of a missing
// key alone tells a bucket anyone may read from a private one, for servers
// whose policy can't be read.
func TestAnonymousProbe(t *testing.T) {
	m := testenv.S3(t)
	c := newClient(t, minioConfig(m))
	private, open := m.Bucket(t), m.Bucket(t)
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}`, open)
	if _, err := m.Admin(t).PutBucketPolicy(t.Context(), &s3.PutBucketPolicyInput{Bucket: aws.String(open), Policy: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	for bucket, want := range map[string]string{private: "", open: "anyone may read objects (an anonymous GetObject"} {
		inRegion, err := c.inRegion(t.Context(), bucket)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.anonymousExposure(bucket, c.publicAsk(t.Context(), bucket, inRegion))
		if err != nil || !strings.HasPrefix(got, want) || (got == "") != (want == "") {
			t.Errorf("anonymousExposure(%s) = %q, %v; want %q", bucket, got, err, want)
		}
	}
}

// probeRecorder serves a fakePolicyServer and records which of the
// public-access calls came (block, status, policy, anonymous list and
// get), holding each one until want of them are in flight at once, or
// until a timeout.
type probeRecorder struct {
	srv      fakePolicyServer
	want     int
	mu       sync.Mutex
	calls    []string
	inFlight int
	all      chan struct{} // closed once want calls were in flight together
	once     sync.Once
}

func (p *probeRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		p.srv.ServeHTTP(w, r) // the region, asked before the probes
		return
	}
	q := r.URL.Query()
	call := "anonymous get"
	switch {
	case q.Has("publicAccessBlock"):
		call = "block"
	case q.Has("policyStatus"):
		call = "status"
	case q.Has("policy"):
		call = "policy"
	case r.URL.Path == "/bkt":
		call = "anonymous list"
	}
	p.mu.Lock()
	p.calls = append(p.calls, call)
	p.inFlight++
	if p.inFlight == p.want {
		p.once.Do(func() { close(p.all) })
	}
	p.mu.Unlock()
	select {
	case <-p.all:
	case <-time.After(2 * time.Second):
	}
	p.mu.Lock()
	p.inFlight--
	p.mu.Unlock()
	p.srv.ServeHTTP(w, r)
}

// TestPublicReasonRequests: off AWS a cold check asks its five questions
// at once, a round trip instead of five; on AWS it asks one at a time
// what the verdict needs, so a role without s3:GetBucketPolicy is not
// asked for a policy that S3 already says is private.
func TestPublicReasonRequests(t *testing.T) {
	private := fakePolicyServer{status: "false", policy: "{}", anonGet: 403, anonCode: "AccessDenied"}
	for _, tc := range []struct {
		name      string
		onAWS     bool
		want      []string
		atOnce    bool
		wantPause time.Duration // at most
	}{
		{"elsewhere, all at once", false, []string{"anonymous get", "anonymous list", "block", "policy", "status"}, true, time.Second},
		{"AWS, as needed", true, []string{"anonymous get", "anonymous list", "block", "status"}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &probeRecorder{srv: private, want: 5, all: make(chan struct{})}
			if !tc.atOnce {
				rec.want = 1 // nothing waits
			}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			c := newClient(t, fakeConfig(srv.URL))
			c.onAWS = tc.onAWS
			start := time.Now()
			why, err := c.PublicReason(t.Context(), "bkt")
			if err != nil || why != "" {
				t.Fatalf("PublicReason = %q, %v; want a private bucket", why, err)
			}
			rec.mu.Lock()
			calls := slices.Sorted(slices.Values(rec.calls))
			rec.mu.Unlock()
			if fmt.Sprint(calls) != fmt.Sprint(tc.want) {
				t.Errorf("calls %v, want %v", calls, tc.want)
			}
			if tc.atOnce && time.Since(start) > tc.wantPause {
				t.Errorf("the five calls took %v: they did not go out at once", time.Since(start))
			}
		})
	}
}

package policy

import (
	"errors"
	"strings"
	"testing"
)

func mustParse(t testing.TB, name, doc string) NamedDocument {
	t.Helper()
	d, err := Parse(name, []byte(doc))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return NamedDocument{Name: name, Document: d}
}

func TestEvaluate(t *testing.T) {
	instance := parseFile(t, "testdata/instance.json")
	docs := []NamedDocument{{Name: "instance.json", Document: instance}}
	tests := []struct {
		name     string
		action   string
		resource string
		want     Decision
		sid      string
	}{
		{"allowed object", "s3:GetObject", "arn:aws:s3:::data-bucket/a/b.csv", Allowed, "ReadWriteData"},
		{"allowed bucket", "s3:ListBucket", "arn:aws:s3:::data-bucket", Allowed, "ReadWriteData"},
		{"deny overrides allow", "s3:PutObject", "arn:aws:s3:::data-bucket/prod/x", ExplicitDeny, "DenyProd"},
		{"deny is per action", "s3:GetObject", "arn:aws:s3:::data-bucket/prod/x", Allowed, "ReadWriteData"},
		{"action case-insensitive", "S3:getobject", "arn:aws:s3:::data-bucket/k", Allowed, "ReadWriteData"},
		{"deny case-insensitive", "s3:PUTOBJECT", "arn:aws:s3:::data-bucket/prod/k", ExplicitDeny, "DenyProd"},
		{"ARN case-sensitive", "s3:GetObject", "arn:aws:s3:::Data-Bucket/k", ImplicitDeny, ""},
		{"ARN case-sensitive key", "s3:PutObject", "arn:aws:s3:::data-bucket/PROD/x", Allowed, "ReadWriteData"},
		{"other action", "s3:DeleteObject", "arn:aws:s3:::data-bucket/k", ImplicitDeny, ""},
		{"other bucket", "s3:GetObject", "arn:aws:s3:::data-bucket2/k", ImplicitDeny, ""},
		{"bucket ARN is not an object", "s3:GetObject", "arn:aws:s3:::data-bucket-x", ImplicitDeny, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Evaluate(docs, Request{Action: tt.action, Resource: tt.resource})
			if err != nil {
				t.Fatal(err)
			}
			if got.Decision != tt.want || got.Sid != tt.sid {
				t.Errorf("got %v by %q, want %v by %q", got.Decision, got.Sid, tt.want, tt.sid)
			}
			if got.Allowed() != (tt.want == Allowed) || (got.Err() == nil) != (tt.want == Allowed) {
				t.Errorf("Allowed/Err disagree with %v", got.Decision)
			}
		})
	}
}

// evalCase is one statement set and request with the decision IAM makes.
type evalCase struct {
	name     string
	doc      string
	action   string
	resource string
	ctx      map[string][]string
	want     Decision
	wantErr  string
}

func runEvalCases(t *testing.T, tests []evalCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, "p.json", tt.doc)
			action := cmpOrString(tt.action, "s3:GetObject")
			resource := cmpOrString(tt.resource, "arn:aws:s3:::b/k")
			got, err := Evaluate([]NamedDocument{d}, Request{Action: action, Resource: resource, Context: tt.ctx})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if got.Allowed() {
					t.Error("an evaluation error came with an allowed result")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Decision != tt.want {
				t.Errorf("got %v (%s), want %v", got.Decision, got, tt.want)
			}
		})
	}
}

func cmpOrString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// stmt builds a one-statement document from the parts after Effect.
func stmt(effect, rest string) string {
	return `{"Version": "2012-10-17", "Statement": {"Effect": "` + effect + `", ` + rest + `}}`
}

func TestEvaluateWildcardsAndNegations(t *testing.T) {
	runEvalCases(t, []evalCase{
		{name: "star action", doc: stmt("Allow", `"Action": "*", "Resource": "*"`), want: Allowed},
		{name: "service star", doc: stmt("Allow", `"Action": "s3:*", "Resource": "*"`), want: Allowed},
		{name: "other service", doc: stmt("Allow", `"Action": "kms:*", "Resource": "*"`), want: ImplicitDeny},
		{name: "prefix star", doc: stmt("Allow", `"Action": "s3:Get*", "Resource": "*"`), want: Allowed},
		{name: "inner star", doc: stmt("Allow", `"Action": "s3:*Object", "Resource": "*"`), want: Allowed},
		{name: "question mark", doc: stmt("Allow", `"Action": "s3:Get?bject", "Resource": "*"`), want: Allowed},
		{name: "question needs one char", doc: stmt("Allow", `"Action": "s3:GetObject?", "Resource": "*"`), want: ImplicitDeny},
		{name: "wildcard case-insensitive", doc: stmt("Allow", `"Action": "S3:GET*", "Resource": "*"`), want: Allowed},
		{name: "resource star", doc: stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"`), want: Allowed},
		{name: "resource question", doc: stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:s3:::?/?"`), want: Allowed},
		{name: "resource question too short", doc: stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:s3:::?/??"`), want: ImplicitDeny},
		{name: "object pattern misses bucket", doc: stmt("Allow", `"Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b/*"`), action: "s3:ListBucket", resource: "arn:aws:s3:::b", want: ImplicitDeny},
		{name: "bucket star covers bucket", doc: stmt("Allow", `"Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b*"`), action: "s3:ListBucket", resource: "arn:aws:s3:::b", want: Allowed},
		{name: "star spans slashes", doc: stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*/test/*"`), resource: "arn:aws:s3:::b/1/2/test/3/x.jpg", want: Allowed},
		{name: "key with colon", doc: stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"`), resource: "arn:aws:s3:::b/a:b:c", want: Allowed},
		{name: "segment star stays in segment", doc: stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:s*3:::b/k"`), resource: "arn:aws:s:x:3:::b/k", want: ImplicitDeny},
		{name: "segment-ending star expands", doc: stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:*"`), want: Allowed},
		{name: "short ARN with star", doc: stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"`), want: Allowed},
		{name: "NotAction excludes", doc: stmt("Allow", `"NotAction": "s3:Delete*", "Resource": "*"`), action: "s3:DeleteObject", want: ImplicitDeny},
		{name: "NotAction includes others", doc: stmt("Allow", `"NotAction": "s3:Delete*", "Resource": "*"`), want: Allowed},
		{name: "NotAction deny", doc: `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"}]}`, action: "s3:PutObject", want: ExplicitDeny},
		{name: "NotResource excludes", doc: stmt("Allow", `"Action": "s3:*", "NotResource": "arn:aws:s3:::b/secret/*"`), resource: "arn:aws:s3:::b/secret/x", want: ImplicitDeny},
		{name: "NotResource includes others", doc: stmt("Allow", `"Action": "s3:*", "NotResource": "arn:aws:s3:::b/secret/*"`), want: Allowed},
		{name: "deny NotResource fences", doc: `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Sid": "Fence", "Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]}]}`, resource: "arn:aws:s3:::c/k", want: ExplicitDeny},
		{name: "deny later doc wins", doc: `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]}`, want: ExplicitDeny},
		{name: "principal star", doc: `{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}}`, want: Allowed},
		{name: "principal service missing", doc: `{"Statement": {"Effect": "Allow", "Principal": {"Service": "x.amazonaws.com"}, "Action": "s3:GetObject"}}`, want: ImplicitDeny},
		{name: "principal service", doc: `{"Statement": {"Effect": "Allow", "Principal": {"Service": "x.amazonaws.com"}, "Action": "s3:GetObject"}}`, ctx: map[string][]string{"aws:PrincipalServiceName": {"x.amazonaws.com"}}, want: Allowed},
		{name: "principal account", doc: `{"Statement": {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "s3:GetObject"}}`, ctx: map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::123456789012:role/r"}}, want: Allowed},
		{name: "principal account root", doc: `{"Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:GetObject"}}`, ctx: map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::999999999999:role/r"}}, want: ImplicitDeny},
		{name: "not principal", doc: `{"Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::1:role/admin"}, "Action": "s3:GetObject"}}`, ctx: map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::1:role/other"}}, want: ExplicitDeny},
	})
}

func TestEvaluateVariables(t *testing.T) {
	user := map[string][]string{"aws:username": {"alice"}}
	home := stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/home/${aws:username}/*"`)
	runEvalCases(t, []evalCase{
		{name: "substituted", doc: home, resource: "arn:aws:s3:::b/home/alice/x", ctx: user, want: Allowed},
		{name: "other user", doc: home, resource: "arn:aws:s3:::b/home/bob/x", ctx: user, want: ImplicitDeny},
		{name: "key name case-insensitive", doc: home, resource: "arn:aws:s3:::b/home/alice/x", ctx: map[string][]string{"AWS:UserName": {"alice"}}, want: Allowed},
		{name: "missing key is an error", doc: home, resource: "arn:aws:s3:::b/home/alice/x", wantErr: "policy variable ${aws:username}: key not in the request context"},
		{name: "multivalued key is an error", doc: home, resource: "arn:aws:s3:::b/home/alice/x", ctx: map[string][]string{"aws:username": {"a", "b"}}, wantErr: "has 2 values"},
		{name: "statement for other actions needs no variable", doc: home, action: "s3:PutObject", want: ImplicitDeny},
		{name: "default value", doc: stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/home/${aws:username, 'shared'}/*"`), resource: "arn:aws:s3:::b/home/shared/x", want: Allowed},
		{name: "value is literal", doc: home, resource: "arn:aws:s3:::b/home/al/x", ctx: map[string][]string{"aws:username": {"al*"}}, want: ImplicitDeny},
		{name: "escape star", doc: stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${*}"`), resource: "arn:aws:s3:::b/*", want: Allowed},
		{name: "escape star is literal", doc: stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${*}"`), resource: "arn:aws:s3:::b/k", want: ImplicitDeny},
		{name: "escape question", doc: stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${?}"`), resource: "arn:aws:s3:::b/?", want: Allowed},
		{name: "escape dollar", doc: stmt("Allow", `"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${$}{aws:username}"`), resource: "arn:aws:s3:::b/${aws:username}", want: Allowed},
		{name: "legacy version keeps text", doc: `{"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}"}}`, resource: "arn:aws:s3:::b/${aws:username}", ctx: user, want: Allowed},
		{name: "no version keeps text", doc: `{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}"}}`, resource: "arn:aws:s3:::b/alice", ctx: user, want: ImplicitDeny},
		{name: "in condition", doc: stmt("Allow", `"Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b", "Condition": {"StringLike": {"s3:prefix": "${aws:username}/*"}}`), action: "s3:ListBucket", resource: "arn:aws:s3:::b", ctx: map[string][]string{"aws:username": {"alice"}, "s3:prefix": {"alice/docs/"}}, want: Allowed},
		{name: "in condition missing", doc: stmt("Allow", `"Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b", "Condition": {"StringLike": {"s3:prefix": "${aws:username}/*"}}`), action: "s3:ListBucket", resource: "arn:aws:s3:::b", ctx: map[string][]string{"s3:prefix": {"alice/"}}, wantErr: "${aws:username}"},
		{name: "deny with missing variable errs", doc: stmt("Deny", `"Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:userid}/*"`), wantErr: "${aws:userid}"},
	})
}

func TestResultString(t *testing.T) {
	instance := parseFile(t, "testdata/instance.json")
	docs := []NamedDocument{{Name: "instance.json", Document: instance}}
	tests := []struct {
		req     Request
		str     string
		errText string
	}{
		{Request{Action: "s3:PutObject", Resource: "arn:aws:s3:::data-bucket/prod/k"},
			`explicitDeny by statement "DenyProd" (policy instance.json)`,
			`s3:PutObject on arn:aws:s3:::data-bucket/prod/k: explicitDeny by statement "DenyProd" (policy instance.json)`},
		{Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::data-bucket/k"},
			`allowed by statement "ReadWriteData" (policy instance.json)`, ""},
		{Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::elsewhere/k"},
			`implicitDeny: no statement allows it (policy instance.json)`,
			`s3:GetObject on arn:aws:s3:::elsewhere/k: implicitDeny: no statement allows it (policy instance.json)`},
	}
	for _, tt := range tests {
		got, err := Evaluate(docs, tt.req)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
		err = got.Err()
		if tt.errText == "" {
			if err != nil {
				t.Errorf("Err() = %v, want nil", err)
			}
			continue
		}
		if err == nil || err.Error() != tt.errText || !errors.Is(err, ErrDenied) {
			t.Errorf("Err() = %v, want %q matching ErrDenied", err, tt.errText)
		}
	}

	noSid := mustParse(t, "a.json", stmt("Deny", `"Action": "*", "Resource": "*"`))
	got, _ := Evaluate([]NamedDocument{noSid}, Request{Action: "s3:GetObject", Resource: "*"})
	if want := `explicitDeny by Statement[0] (policy a.json)`; got.String() != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	other := mustParse(t, "b.json", stmt("Allow", `"Action": "kms:*", "Resource": "*"`))
	got, _ = Evaluate([]NamedDocument{other, other}, Request{Action: "s3:GetObject", Resource: "*"})
	if want := `implicitDeny: no statement allows it (policies b.json, b.json)`; got.String() != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	got, _ = Evaluate(nil, Request{Action: "s3:GetObject", Resource: "*"})
	if want := `implicitDeny: no policy`; got.String() != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestDecisionText(t *testing.T) {
	for _, d := range []Decision{Allowed, ExplicitDeny, ImplicitDeny} {
		b, _ := d.MarshalText()
		var back Decision
		if err := back.UnmarshalText(b); err != nil || back != d {
			t.Errorf("%v: round trip gave %v, %v", d, back, err)
		}
	}
	var d Decision
	if err := d.UnmarshalText([]byte("deny")); err == nil {
		t.Error("unknown decision accepted")
	}
	if d.String() != "implicitDeny" {
		t.Errorf("zero Decision = %v, want implicitDeny", d)
	}
}

func TestSimulate(t *testing.T) {
	d := mustParse(t, "fence.json", stmt("Allow", `"Action": "s3:GetObject", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}`))
	got, err := Simulate([]NamedDocument{d}, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"})
	if err != nil {
		t.Fatal(err)
	}
	if first := strings.Fields(got.String())[0]; first != "allowed" {
		t.Errorf("first word %q, want allowed (aws:CurrentTime filled in): %s", first, got)
	}
	got, err = Simulate([]NamedDocument{d}, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k",
		Context: map[string][]string{"aws:CurrentTime": {"2019-06-01T00:00:00Z"}}})
	if err != nil || got.Decision != ImplicitDeny {
		t.Errorf("explicit time: %v, %v; want implicitDeny", got, err)
	}
	bad := []Request{
		{Action: "s3:Get*", Resource: "*"},
		{Action: "GetObject", Resource: "*"},
		{Action: "s3:GetObject", Resource: "b/k"},
		{Action: "s3:GetObject", Resource: "*", Context: map[string][]string{"aws:Bogus": {"x"}}},
	}
	for _, r := range bad {
		if _, err := Simulate([]NamedDocument{d}, r); err == nil {
			t.Errorf("Simulate(%+v) accepted a bad request", r)
		}
	}
	invalid := NamedDocument{Name: "built.json", Document: Document{Statement: []Statement{{Effect: "allow", Action: []string{"s3:*"}, Resource: []string{"*"}}}}}
	_, err = Simulate([]NamedDocument{invalid}, Request{Action: "s3:GetObject", Resource: "*"})
	if want := `simulate: built.json: Statement[0].Effect: want "Allow" or "Deny", got "allow"`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

package policy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parseFile(t *testing.T, path string) Document {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse(path, data)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return doc
}

func TestParseFiles(t *testing.T) {
	doc := parseFile(t, "testdata/conditions.json")
	got := doc.Statement[0].Condition
	want := Condition{
		"StringLike":            {"s3:prefix": {"${aws:username}/*", ""}},
		"NumericLessThanEquals": {"s3:max-keys": {"1000"}},
		"Bool":                  {"aws:SecureTransport": {"true"}},
		"IpAddress":             {"aws:SourceIp": {"10.0.0.0/8", "192.168.1.7"}},
		"DateLessThan":          {"aws:CurrentTime": {"2030-01-01T00:00:00Z"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("condition:\n got %v\nwant %v", got, want)
	}
	if doc.ID != "conditions" || len(doc.Statement) != 1 || doc.Statement[0].Action[0] != "s3:ListBucket" {
		t.Errorf("document = %+v", doc)
	}
	parseFile(t, "testdata/instance.json")
}

func TestParseErrors(t *testing.T) {
	data, err := os.ReadFile("testdata/bad_effect.json")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("testdata/bad_effect.json", data)
	want := `testdata/bad_effect.json line 7 column 17: Statement[1].Effect: want "Allow" or "Deny", got "allow"`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Line != 7 || pe.Column != 17 || pe.Field != "Statement[1].Effect" {
		t.Errorf("error fields = %+v", pe)
	}

	tests := []struct {
		name, doc, want string
	}{
		{"syntax", "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [}\n", `p.json line 3 column 17: invalid character '}' looking for beginning of value`},
		{"truncated", `{"Version": "2012-10-17"`, `p.json line 1 column 24: unexpected end of JSON input`},
		{"not object", `["x"]`, `p.json line 1 column 1: a policy document is a JSON object, got a list`},
		{"no statement", `{"Version": "2012-10-17"}`, `p.json line 1 column 1: Statement: missing`},
		{"empty statements", `{"Version": "2012-10-17", "Statement": []}`, `p.json line 1 column 40: Statement: a policy needs at least one statement`},
		{"bad version", `{"Version": "2012-10-18", "Statement": []}`, `p.json line 1 column 13: Version: want "2012-10-17" or "2008-10-17", got "2012-10-18"`},
		{"unknown top field", `{"Versoin": "x"}`, `p.json line 1 column 2: Versoin: unknown field "Versoin"; want one of Version, Id, Statement`},
		{"field case", "{\"Statement\": {\"effect\": \"Allow\"}}", `p.json line 1 column 16: Statement[0].effect: unknown field "effect" (field names are case-sensitive: did you mean "Effect"?); want one of Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition`},
		{"duplicate", `{"Statement": {"Effect": "Allow", "Effect": "Deny"}}`, `p.json line 1 column 35: Statement[0].Effect: duplicate field "Effect"`},
		{"action type", `{"Statement": {"Effect": "Allow", "Action": 7, "Resource": "*"}}`, `p.json line 1 column 45: Statement[0].Action: want a string or a list of strings, got a number`},
		{"action element", `{"Statement": {"Effect": "Allow", "Action": ["s3:GetObject", null], "Resource": "*"}}`, `p.json line 1 column 62: Statement[0].Action[1]: want a string or a list of strings, got null`},
		{"no action", `{"Statement": {"Effect": "Allow", "Resource": "*"}}`, `p.json line 1 column 15: Statement[0]: needs Action or NotAction`},
		{"both actions", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:*", "Resource": "*"}}`, `p.json line 1 column 15: Statement[0]: has both Action and NotAction`},
		{"empty actions", `{"Statement": {"Effect": "Allow", "Action": [], "Resource": "*"}}`, `p.json line 1 column 45: Statement[0].Action: is empty`},
		{"bad action", `{"Statement": {"Effect": "Allow", "Action": ["s3:GetObject", "GetObject"], "Resource": "*"}}`, `p.json line 1 column 62: Statement[0].Action[1]: want "service:action" or "*", got "GetObject"`},
		{"no resource", `{"Statement": {"Effect": "Allow", "Action": "s3:*"}}`, `p.json line 1 column 15: Statement[0]: needs Resource or NotResource`},
		{"bad resource", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "bucket/key"}}`, `p.json line 1 column 65: Statement[0].Resource[0]: want an ARN (arn:partition:service:region:account:resource) or "*", got "bucket/key"`},
		{"short arn", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3"}}`, `p.json line 1 column 65: Statement[0].Resource[0]: ARN "arn:aws:s3" has 3 parts, want 6`},
		{"unknown operator", "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\",\n \"Condition\": {\"StringEqual\": {\"s3:prefix\": \"a\"}}}}", `p.json line 2 column 16: Statement[0].Condition.StringEqual: unknown condition operator "StringEqual"`},
		{"operator case", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"stringequals": {"s3:prefix": "a"}}}}`, `p.json line 1 column 84: Statement[0].Condition.stringequals: unknown condition operator "stringequals" (operator names are case-sensitive: did you mean "StringEquals"?)`},
		{"null ifexists", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"NullIfExists": {"s3:prefix": "true"}}}}`, `p.json line 1 column 84: Statement[0].Condition.NullIfExists: condition operator "NullIfExists": Null takes no IfExists`},
		{"unknown key", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceArnn": "a"}}}}`, `p.json line 1 column 101: Statement[0].Condition.StringEquals.aws:SourceArnn: unknown condition key "aws:SourceArnn" (known: `},
		{"bad number", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"NumericLessThan": {"s3:max-keys": ["10", "ten"]}}}}`, `p.json line 1 column 126: Statement[0].Condition.NumericLessThan.s3:max-keys[1]: NumericLessThan: "ten" is not a number`},
		{"bad date", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "tomorrow"}}}}`, `p.json line 1 column 120: Statement[0].Condition.DateLessThan.aws:CurrentTime[0]: DateLessThan: "tomorrow" is not an ISO 8601 date or epoch seconds`},
		{"bad bool", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "yes"}}}}`, `p.json line 1 column 116: Statement[0].Condition.Bool.aws:SecureTransport[0]: Bool: want "true" or "false", got "yes"`},
		{"bad ip", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}}}`, `p.json line 1 column 114: Statement[0].Condition.IpAddress.aws:SourceIp[0]: IpAddress: "10.0.0.0/33" is not an IP address or CIDR block`},
		{"condition value type", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"s3:prefix": {"a": 1}}}}}`, `p.json line 1 column 114: Statement[0].Condition.StringEquals.s3:prefix: want a string, number or boolean, or a list of them, got an object`},
		{"empty values", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"s3:prefix": []}}}}`, `p.json line 1 column 101: Statement[0].Condition.StringEquals.s3:prefix: no values`},
		{"unknown variable", `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:usrname}/*"}}`, `p.json line 1 column 90: Statement[0].Resource[0]: ARN "arn:aws:s3:::b/${aws:usrname}/*": policy variable ${aws:usrname}: unknown condition key "aws:usrname"`},
		{"unclosed variable", `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringLike": {"s3:prefix": "${aws:username"}}}}`, `p.json line 1 column 137: Statement[0].Condition.StringLike.s3:prefix[0]: StringLike: policy variable at offset 0: missing closing brace`},
		{"duplicate sid", `{"Statement": [{"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Sid": "A", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}`, `p.json line 1 column 92: Statement[1].Sid: "A" is already the Sid of Statement[0]`},
		{"both principals", `{"Statement": {"Effect": "Allow", "Principal": "*", "NotPrincipal": "*", "Action": "s3:*"}}`, `p.json line 1 column 15: Statement[0]: has both Principal and NotPrincipal`},
		{"bad principal", `{"Statement": {"Effect": "Allow", "Principal": "rds.amazonaws.com", "Action": "s3:*"}}`, `p.json line 1 column 48: Statement[0].Principal: want "*" or an object such as {"Service": "…"}, got "rds.amazonaws.com"`},
		{"multibyte column", "{\"Statement\": {\"Sid\": \"é\", \"Effect\": \"Allw\", \"Action\": \"s3:*\", \"Resource\": \"*\"}}", `p.json line 1 column 38: Statement[0].Effect: want "Allow" or "Deny", got "Allw"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.json", []byte(tt.doc))
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not an *Error", err)
			}
		})
	}
}

func TestParseForms(t *testing.T) {
	// One statement object and plain strings read the same as lists.
	lone := `{"Version": "2012-10-17", "Statement": {"Sid": "S", "Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*",
		"Condition": {"NumericLessThan": {"s3:max-keys": 10}, "Bool": {"aws:SecureTransport": false}}}}`
	list := `{"Version": "2012-10-17", "Statement": [{"Sid": "S", "Effect": "Deny", "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::b/*"],
		"Condition": {"NumericLessThan": {"s3:max-keys": ["10"]}, "Bool": {"aws:SecureTransport": ["false"]}}}]}`
	a, err := Parse("lone", []byte(lone))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("list", []byte(list))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("lone statement:\n got %+v\nwant %+v", a, b)
	}
	star, err := Parse("p", []byte(`{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := star.Statement[0].Principal; !reflect.DeepEqual(got, Principal{"AWS": {"*"}}) {
		t.Errorf("Principal \"*\" = %v", got)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := Parse(p, data)
		if err != nil {
			continue // the deliberately bad documents
		}
		out, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("marshal %s: %v", p, err)
		}
		var back Document
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%s: reparse %s: %v", p, out, err)
		}
		if !reflect.DeepEqual(doc, back) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", p, back, doc)
		}
	}
}

func TestMarshalShape(t *testing.T) {
	doc := Document{Version: VersionCurrent, Statement: []Statement{{
		Sid: "S", Effect: Allow, Action: []string{"s3:GetObject"}, Resource: []string{"arn:aws:s3:::b/a*", "arn:aws:s3:::b"},
		Condition: Condition{"StringLike": {"s3:prefix": {"a/*"}}},
	}}}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::b/a*","arn:aws:s3:::b"],"Condition":{"StringLike":{"s3:prefix":"a/*"}}}]}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.json")
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil && len(data) < 4096 {
			f.Add(data)
		}
	}
	for _, s := range []string{
		`{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}`,
		`{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": ["s3:Get*"], "NotResource": "arn:aws:s3:::b/${aws:username}/${*}"}]}`,
		`{"Statement": {"Effect": "Allow", "Principal": {"Service": "x"}, "Action": "sts:AssumeRole", "Condition": {"ForAllValues:StringLikeIfExists": {"s3:ExistingObjectTag/env": ["p*", 1, true]}}}}`,
		`{"Statement": [1, "x", null]}`, `{}`, `[]`, `"\u00e9"`, `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "::1/128"}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse("fuzz.json", data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not an *Error: %v", err, err)
			}
			if pe.Line < 0 || pe.Column < 0 {
				t.Fatalf("bad position in %v", err)
			}
			return
		}
		// Whatever parses must survive a round trip unchanged and evaluate
		// without panicking.
		out, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		back, err := Parse("again.json", out)
		if err != nil {
			t.Fatalf("reparse %s: %v", out, err)
		}
		if !reflect.DeepEqual(doc, back) {
			t.Fatalf("round trip changed the document:\n got %+v\nwant %+v", back, doc)
		}
		_, _ = Evaluate([]NamedDocument{{Name: "fuzz", Document: doc}}, Request{
			Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k",
			Context: map[string][]string{"aws:username": {"u"}, "s3:prefix": {"p"}},
		})
	})
}

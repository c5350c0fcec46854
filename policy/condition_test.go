package policy

import (
	"encoding/json"
	"slices"
	"testing"
)

// condCase is one condition operator applied to one key. values is the
// policy side as JSON; ctx nil means the key is missing from the request.
type condCase struct {
	op     string
	key    string
	values string
	ctx    []string
	want   bool
}

// keyFromCase puts a case's request values, if any, under its key.
func keyFromCase(c condCase) map[string][]string {
	if c.ctx == nil {
		return nil
	}
	return map[string][]string{c.key: c.ctx}
}

func TestConditionStringOperators(t *testing.T) {
	const arn = "arn:aws:rds:us-east-1:123456789012:db:prod"
	runConditionCases(t, []condCase{
		{"StringEquals", "s3:prefix", `"a/"`, []string{"a/"}, true},
		{"StringEquals", "s3:prefix", `"a/"`, []string{"A/"}, false},
		{"StringEquals", "s3:prefix", `["x", "a/"]`, []string{"a/"}, true},
		{"StringEquals", "s3:prefix", `"a*"`, []string{"abc"}, false},
		{"StringEquals", "s3:prefix", `"a/"`, nil, false},
		{"StringNotEquals", "s3:prefix", `"a/"`, []string{"b/"}, true},
		{"StringNotEquals", "s3:prefix", `["a/", "b/"]`, []string{"b/"}, false},
		{"StringNotEquals", "s3:prefix", `"a/"`, nil, true},
		{"StringEqualsIgnoreCase", "s3:x-amz-acl", `"Private"`, []string{"PRIVATE"}, true},
		{"StringEqualsIgnoreCase", "s3:x-amz-acl", `"private"`, []string{"public-read"}, false},
		{"StringNotEqualsIgnoreCase", "s3:x-amz-acl", `"Private"`, []string{"PRIVATE"}, false},
		{"StringNotEqualsIgnoreCase", "s3:x-amz-acl", `"private"`, nil, true},
		{"StringLike", "s3:prefix", `"home/*"`, []string{"home/a/b"}, true},
		{"StringLike", "s3:prefix", `"home/?"`, []string{"home/ab"}, false},
		{"StringLike", "s3:prefix", `"home/*"`, []string{"HOME/a"}, false},
		{"StringLike", "s3:prefix", `""`, []string{""}, true},
		{"StringLike", "s3:prefix", `"*"`, nil, false},
		{"StringNotLike", "s3:prefix", `"tmp/*"`, []string{"home/"}, true},
		{"StringNotLike", "s3:prefix", `"tmp/*"`, []string{"tmp/x"}, false},
		{"StringNotLike", "s3:prefix", `"tmp/*"`, nil, true},
		// ARN operators: per segment, with wildcards, case-sensitive.
		{"ArnEquals", "aws:SourceArn", `"` + arn + `"`, []string{arn}, true},
		{"ArnEquals", "aws:SourceArn", `"arn:aws:rds:*:123456789012:db:*"`, []string{arn}, true},
		{"ArnLike", "aws:SourceArn", `"arn:aws:rds:us-*:*:db:prod"`, []string{arn}, true},
		{"ArnLike", "aws:SourceArn", `"arn:aws:rds:us-east-1:123456789012:db:PROD"`, []string{arn}, false},
		{"ArnLike", "aws:SourceArn", `"arn:aws:rds:us-east-?:123456789012:*"`, []string{arn}, true},
		{"ArnLike", "aws:SourceArn", `"arn:aws:rds:us?east-1:123456789012:db:prod"`, []string{"arn:aws:rds:us:east-1:123456789012:db:prod"}, false},
		{"ArnLike", "aws:SourceArn", `"arn:aws:rds:*"`, []string{arn}, true},
		{"ArnLike", "aws:SourceArn", `"arn:*"`, nil, false},
		{"ArnNotEquals", "aws:SourceArn", `"arn:aws:rds:*:*:db:test"`, []string{arn}, true},
		{"ArnNotEquals", "aws:SourceArn", `"` + arn + `"`, []string{arn}, false},
		{"ArnNotLike", "aws:PrincipalArn", `"arn:aws:iam::*:role/admin*"`, []string{"arn:aws:iam::1:role/admin-x"}, false},
		{"ArnNotLike", "aws:PrincipalArn", `"arn:aws:iam::*:role/admin*"`, nil, true},
		// Tag keys keep the tag key's case.
		{"StringEquals", "s3:ExistingObjectTag/env", `"prod"`, []string{"prod"}, true},
		{"StringEquals", "s3:RequestObjectTag/Env", `"prod"`, []string{"prod"}, true},
	}, keyFromCase)
}

func TestConditionTypedOperators(t *testing.T) {
	const (
		now   = "2026-03-04T05:06:07Z"
		epoch = "1772600767" // now, in seconds
	)
	runConditionCases(t, []condCase{
		// Numeric operators, with JSON numbers and decimals.
		{"NumericEquals", "s3:max-keys", `10`, []string{"10"}, true},
		{"NumericEquals", "s3:max-keys", `"10"`, []string{"10.0"}, true},
		{"NumericEquals", "s3:max-keys", `10`, []string{"ten"}, false},
		{"NumericNotEquals", "s3:max-keys", `10`, []string{"11"}, true},
		{"NumericNotEquals", "s3:max-keys", `10`, nil, true},
		{"NumericLessThan", "s3:max-keys", `10`, []string{"9"}, true},
		{"NumericLessThan", "s3:max-keys", `10`, []string{"10"}, false},
		{"NumericLessThanEquals", "s3:max-keys", `10`, []string{"10"}, true},
		{"NumericLessThanEquals", "s3:max-keys", `10`, nil, false},
		{"NumericGreaterThan", "s3:max-keys", `1.5`, []string{"2"}, true},
		{"NumericGreaterThan", "s3:max-keys", `10`, []string{"10"}, false},
		{"NumericGreaterThanEquals", "s3:max-keys", `10`, []string{"10"}, true},
		{"NumericGreaterThanEquals", "s3:max-keys", `10`, []string{"-1"}, false},
		// Date operators, with ISO 8601 and epoch forms on either side.
		{"DateEquals", "aws:CurrentTime", `"` + now + `"`, []string{now}, true},
		{"DateEquals", "aws:CurrentTime", epoch, []string{now}, true},
		{"DateEquals", "aws:EpochTime", `"` + now + `"`, []string{epoch}, true},
		{"DateNotEquals", "aws:CurrentTime", `"2026-03-04"`, []string{now}, true},
		{"DateNotEquals", "aws:CurrentTime", `"2026-03-04"`, nil, true},
		{"DateLessThan", "aws:CurrentTime", `"2027-01-01T00:00:00Z"`, []string{now}, true},
		{"DateLessThan", "aws:CurrentTime", `"2026-03-04T05:06:07+01:00"`, []string{now}, false},
		{"DateLessThanEquals", "aws:CurrentTime", `"` + now + `"`, []string{now}, true},
		{"DateGreaterThan", "aws:CurrentTime", `"2026-03-04"`, []string{now}, true},
		{"DateGreaterThan", "aws:CurrentTime", `"2026-03-04"`, nil, false},
		{"DateGreaterThanEquals", "aws:EpochTime", epoch, []string{epoch}, true},
		{"DateGreaterThanEquals", "aws:CurrentTime", `"2026-03-05"`, []string{now}, false},
		// Bool, IP address and Null.
		{"Bool", "aws:SecureTransport", `true`, []string{"true"}, true},
		{"Bool", "aws:SecureTransport", `"true"`, []string{"false"}, false},
		{"Bool", "aws:SecureTransport", `"TRUE"`, []string{"true"}, true},
		{"Bool", "aws:SecureTransport", `false`, nil, false},
		{"IpAddress", "aws:SourceIp", `"10.0.0.0/8"`, []string{"10.1.2.3"}, true},
		{"IpAddress", "aws:SourceIp", `["192.168.0.0/16", "203.0.113.7"]`, []string{"203.0.113.7"}, true},
		{"IpAddress", "aws:SourceIp", `"10.0.0.0/8"`, []string{"11.0.0.1"}, false},
		{"IpAddress", "aws:SourceIp", `"2001:db8::/32"`, []string{"2001:db8::1"}, true},
		{"IpAddress", "aws:SourceIp", `"10.0.0.0/8"`, []string{"not-an-ip"}, false},
		{"IpAddress", "aws:SourceIp", `"10.0.0.0/8"`, nil, false},
		{"NotIpAddress", "aws:SourceIp", `"10.0.0.0/8"`, []string{"11.0.0.1"}, true},
		{"NotIpAddress", "aws:SourceIp", `"10.0.0.0/8"`, []string{"10.0.0.1"}, false},
		{"NotIpAddress", "aws:SourceIp", `"10.0.0.0/8"`, nil, true},
		{"Null", "s3:prefix", `"true"`, nil, true},
		{"Null", "s3:prefix", `true`, []string{"a"}, false},
		{"Null", "s3:prefix", `"false"`, []string{"a"}, true},
		{"Null", "s3:prefix", `"false"`, nil, false},
		{"Null", "s3:prefix", `"true"`, []string{}, true},
	}, keyFromCase)
}

func TestConditionIfExists(t *testing.T) {
	var tests []condCase
	// Every operator but Null has an IfExists form that holds when the key
	// is missing and otherwise behaves as the plain operator.
	for _, base := range Operators() {
		if base == "Null" {
			continue
		}
		key, value, match := sampleFor(base)
		tests = append(tests,
			condCase{base + "IfExists", key, value, nil, true},
			condCase{base + "IfExists", key, value, []string{match}, evalPlain(t, base, key, value, match)},
		)
	}
	if len(tests) < 2*25 {
		t.Fatalf("only %d IfExists cases", len(tests))
	}
	runConditionCases(t, tests, keyFromCase)
}

// sampleFor returns a key, a policy value and a request value that
// matches it for the plain operator, per operator family.
func sampleFor(op string) (key, value, match string) {
	switch baseOperators[op].fam {
	case famARN:
		return "aws:SourceArn", `"arn:aws:rds:*:1:db:x"`, "arn:aws:rds:eu-west-1:1:db:x"
	case famNumeric:
		return "s3:max-keys", `10`, "10"
	case famDate:
		return "aws:CurrentTime", `"2026-01-01T00:00:00Z"`, "2026-01-01T00:00:00Z"
	case famBool:
		return "aws:SecureTransport", `true`, "true"
	case famIP:
		return "aws:SourceIp", `"10.0.0.0/8"`, "10.0.0.1"
	}
	return "s3:prefix", `"a*"`, "a*"
}

// evalPlain evaluates the operator without IfExists, for comparison.
func evalPlain(t *testing.T, op, key, value, req string) bool {
	t.Helper()
	got, err := conditionHolds(t, op, key, value, map[string][]string{key: {req}})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestConditionQualifiers(t *testing.T) {
	type qcase struct {
		op     string
		values string
		ctx    []string // nil: key missing
		want   bool
	}
	tests := []qcase{
		{"ForAnyValue:StringEquals", `["a", "b"]`, []string{"x", "b"}, true},
		{"ForAnyValue:StringEquals", `["a", "b"]`, []string{"x", "y"}, false},
		{"ForAnyValue:StringEquals", `"a"`, nil, false},
		{"ForAnyValue:StringEquals", `"a"`, []string{}, false},
		{"ForAnyValue:StringNotEquals", `["a", "b"]`, []string{"a", "c"}, true},
		{"ForAnyValue:StringNotEquals", `["a", "b"]`, []string{"a", "b"}, false},
		{"ForAnyValue:StringNotEquals", `"a"`, nil, false},
		{"ForAnyValue:StringLike", `"p*"`, []string{"x", "prod"}, true},
		{"ForAnyValue:StringEqualsIfExists", `"a"`, nil, true},
		{"ForAllValues:StringEquals", `["a", "b"]`, []string{"a", "b"}, true},
		{"ForAllValues:StringEquals", `["a", "b"]`, []string{"a", "c"}, false},
		{"ForAllValues:StringEquals", `"a"`, nil, true},
		{"ForAllValues:StringEquals", `"a"`, []string{}, true},
		{"ForAllValues:StringNotEquals", `["a", "b"]`, []string{"c", "d"}, true},
		{"ForAllValues:StringNotEquals", `["a", "b"]`, []string{"c", "a"}, false},
		{"ForAllValues:StringNotEquals", `"a"`, nil, true},
		{"ForAllValues:StringLike", `["p*", "q*"]`, []string{"prod", "qa"}, true},
		{"ForAllValues:StringLike", `["p*"]`, []string{"prod", "dev"}, false},
		{"ForAllValues:StringNotLike", `"t*"`, []string{"prod", "dev"}, true},
		{"ForAllValues:StringNotLike", `"t*"`, []string{"prod", "test"}, false},
		{"ForAllValues:NumericLessThan", `100`, []string{"1", "99"}, true},
		{"ForAnyValue:IpAddress", `"10.0.0.0/8"`, []string{"1.1.1.1", "10.0.0.1"}, true},
		{"ForAllValues:ArnLike", `"arn:aws:s3:::b/*"`, []string{"arn:aws:s3:::b/1", "arn:aws:s3:::c/1"}, false},
		// Without a qualifier, a multivalued key matches if any value does.
		{"StringEquals", `"a"`, []string{"x", "a"}, true},
		{"StringNotEquals", `"a"`, []string{"x", "a"}, false},
	}
	var cases []condCase
	for _, q := range tests {
		cases = append(cases, condCase{q.op, "s3:ExistingObjectTag/team", q.values, q.ctx, q.want})
	}
	runConditionCases(t, cases, keyFromCase)
}

func TestConditionCombination(t *testing.T) {
	// Operators and keys are ANDed.
	doc := stmt("Allow", `"Action": "s3:ListBucket", "Resource": "*", "Condition": {
		"StringLike": {"s3:prefix": "home/*", "s3:delimiter": "/"},
		"NumericLessThanEquals": {"s3:max-keys": 100}}`)
	d := mustParse(t, "p", doc)
	for _, tt := range []struct {
		ctx  map[string][]string
		want bool
	}{
		{map[string][]string{"s3:prefix": {"home/a"}, "s3:delimiter": {"/"}, "s3:max-keys": {"50"}}, true},
		{map[string][]string{"s3:prefix": {"home/a"}, "s3:delimiter": {"/"}, "s3:max-keys": {"500"}}, false},
		{map[string][]string{"s3:prefix": {"home/a"}, "s3:max-keys": {"50"}}, false},
		{map[string][]string{"s3:prefix": {"tmp/"}, "s3:delimiter": {"/"}, "s3:max-keys": {"50"}}, false},
	} {
		got, err := Evaluate([]NamedDocument{d}, Request{Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Context: tt.ctx})
		if err != nil {
			t.Fatal(err)
		}
		if got.Allowed() != tt.want {
			t.Errorf("%v: allowed = %v, want %v", tt.ctx, got.Allowed(), tt.want)
		}
	}
}

func runConditionCases(t *testing.T, tests []condCase, ctx func(condCase) map[string][]string) {
	t.Helper()
	for _, tt := range tests {
		name := tt.op + "/" + tt.key + "=" + tt.values
		t.Run(name, func(t *testing.T) {
			got, err := conditionHolds(t, tt.op, tt.key, tt.values, ctx(tt))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("request %q: got %v, want %v", tt.ctx, got, tt.want)
			}
		})
	}
}

// conditionHolds evaluates an Allow statement guarded by one condition,
// through Parse and Evaluate as a user's policy would go.
func conditionHolds(t *testing.T, op, key, values string, ctx map[string][]string) (bool, error) {
	t.Helper()
	keyJSON, _ := json.Marshal(key)
	opJSON, _ := json.Marshal(op)
	doc := stmt("Allow", `"Action": "s3:GetObject", "Resource": "*", "Condition": {`+string(opJSON)+`: {`+string(keyJSON)+`: `+values+`}}`)
	d := mustParse(t, "cond.json", doc)
	res, err := Evaluate([]NamedDocument{d}, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: ctx})
	return res.Allowed(), err
}

func TestOperatorNames(t *testing.T) {
	ops := Operators()
	for _, want := range []string{"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
		"StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
		"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals",
		"DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
		"Bool", "IpAddress", "NotIpAddress", "Null"} {
		if !slices.Contains(ops, want) {
			t.Errorf("operator %s missing", want)
		}
		for _, q := range []string{"", "ForAnyValue:", "ForAllValues:"} {
			for _, suffix := range []string{"", "IfExists"} {
				_, err := parseOperator(q + want + suffix)
				wantErr := want == "Null" && (q != "" || suffix != "")
				if (err != nil) != wantErr {
					t.Errorf("parseOperator(%s%s%s) = %v", q, want, suffix, err)
				}
			}
		}
	}
	for _, bad := range []string{"", "StringEqual", "ForSomeValues:StringEquals", "IfExists", "BinaryEquals", "StringEqualsIfexists"} {
		if _, err := parseOperator(bad); err == nil {
			t.Errorf("parseOperator(%q) accepted", bad)
		}
	}
}

package policy

import (
	"errors"
	"strings"
	"testing"
)

// TestParsePermissions: a policy document, or what s3bridge policy prints,
// whose PolicyDocument is taken; errors count lines in the file as given.
func TestParsePermissions(t *testing.T) {
	plain := `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}`
	combined := "{\n  \"PolicyDocument\": " + plain + ",\n  \"AssumeRolePolicyDocument\": {\"Version\": \"2012-10-17\", \"Statement\": []}\n}"
	for name, data := range map[string]string{"plain": plain, "combined": combined} {
		doc, perms, err := ParsePermissions(name, []byte(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(perms) != plain || len(doc.Statement) != 1 || doc.Statement[0].Action[0] != "s3:GetObject" {
			t.Errorf("%s: %q, %+v", name, perms, doc)
		}
	}
	bad := []struct {
		name, data string
		line       int
		want       string
	}{
		{"bad effect", "{\n  \"AssumeRolePolicyDocument\": {},\n  \"PolicyDocument\": {\"Statement\": [\n    {\"Effect\": \"allow\", \"Action\": \"s3:*\", \"Resource\": \"*\"}]}\n}", 4, "Effect"},
		{"other member", `{"PolicyDocument": {"Statement": []}, "Tags": []}`, 0, `unknown field "Tags"`},
		{"not a policy", `{"Statements": []}`, 1, `unknown field "Statements"`},
	}
	for _, tt := range bad {
		_, _, err := ParsePermissions(tt.name, []byte(tt.data))
		var perr *Error
		if !errors.As(err, &perr) || !strings.Contains(err.Error(), tt.want) || perr.Line != tt.line {
			t.Errorf("%s: %v (line %d), want %q at line %d", tt.name, err, perr.lineOf(), tt.want, tt.line)
		}
	}
}

func (e *Error) lineOf() int {
	if e == nil {
		return -1
	}
	return e.Line
}

// TestRoleOfSession: an assumed-role session's ARN becomes its role's, as a
// trust policy names it; other principals stay as they are.
func TestRoleOfSession(t *testing.T) {
	tests := map[string]string{
		"arn:aws:sts::123456789012:assumed-role/agent/i-0abc": "arn:aws:iam::123456789012:role/agent",
		"arn:aws-cn:sts::123456789012:assumed-role/agent/s":   "arn:aws-cn:iam::123456789012:role/agent",
		"arn:aws:iam::123456789012:user/ops":                  "arn:aws:iam::123456789012:user/ops",
		"arn:aws:iam::123456789012:root":                      "arn:aws:iam::123456789012:root",
		"arn:aws:sts::123456789012:federated-user/bob":        "arn:aws:sts::123456789012:federated-user/bob",
		"not-an-arn": "not-an-arn",
	}
	for in, want := range tests {
		if got := RoleOfSession(in); got != want {
			t.Errorf("RoleOfSession(%q) = %q, want %q", in, got, want)
		}
	}
}

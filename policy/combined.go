package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Member names of the document `s3bridge policy` prints: the permission
// policy and the trust policy of one role, as CloudFormation's
// AWS::IAM::Role names them.
const (
	memberPermissions = "PolicyDocument"
	memberTrust       = "AssumeRolePolicyDocument"
)

// ParsePermissions reads a permission policy: a policy document, or the
// document `s3bridge policy` prints ({"PolicyDocument": …,
// "AssumeRolePolicyDocument": …}), whose PolicyDocument it takes. It
// returns the document and its JSON text, the part of data to store and
// evaluate. Errors are Parse's, with lines and columns counted in data.
func ParsePermissions(name string, data []byte) (Document, []byte, error) {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil || top[memberPermissions] == nil || top["Statement"] != nil {
		doc, err := Parse(name, data)
		return doc, data, err
	}
	for k := range top {
		if k != memberPermissions && k != memberTrust {
			return Document{}, nil, &Error{Doc: name, Field: k, Err: fmt.Errorf("unknown field %q beside %s; want a policy document or the output of s3bridge policy (%s)",
				k, memberPermissions, strings.Join([]string{memberPermissions, memberTrust}, ", "))}
		}
	}
	perms := []byte(top[memberPermissions])
	off := bytes.Index(data, perms)
	if off < 0 {
		// encoding/json keeps a member's raw text as it is in data; this
		// can't happen, but parse it alone rather than fail.
		doc, err := Parse(name, perms)
		return doc, perms, err
	}
	// Blank what surrounds the member, keeping the newlines, so errors
	// give the line and column in the file the user has open.
	blank := slices.Clone(data)
	for i := range blank {
		if (i < off || i >= off+len(perms)) && blank[i] != '\n' {
			blank[i] = ' '
		}
	}
	doc, err := Parse(name, blank)
	if err != nil {
		return Document{}, nil, err
	}
	return doc, perms, nil
}

// RoleOfSession turns the ARN STS GetCallerIdentity gives an assumed-role
// session (arn:aws:sts::123456789012:assumed-role/NAME/SESSION) into its
// role's ARN (arn:aws:iam::123456789012:role/NAME), which a trust policy
// names; any other ARN is returned as it is. A role's path is not in the
// session ARN: a role with one must be named with --trust-principal.
func RoleOfSession(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "sts" || !strings.HasPrefix(parts[5], "assumed-role/") {
		return arn
	}
	role, _, ok := strings.Cut(strings.TrimPrefix(parts[5], "assumed-role/"), "/")
	if !ok || role == "" {
		return arn
	}
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + role
}

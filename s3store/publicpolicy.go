package s3store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// publicActions are the actions whose grant to anyone makes a bucket public
// for s3bridge, with what the grant lets anyone do.
var publicActions = []struct{ action, does string }{
	{"s3:GetObject", "read objects"},
	{"s3:ListBucket", "list the bucket"},
	{"s3:PutObject", "write objects"},
}

// publicGrant returns why a bucket policy lets anyone without credentials
// read, list or write the bucket, naming the statement, or "" when it
// doesn't.
//
// A statement grants to anyone when it is an Allow for Principal "*" or
// {"AWS": "*"}, or uses NotPrincipal (everyone but the few it names), and
// none of its conditions pins the caller the way S3's "meaning of public"
// counts: a fixed source IP range, VPC, endpoint, account, organization,
// ARN or user ID. Other conditions (aws:SecureTransport, aws:Referer...)
// anyone can meet. A Deny elsewhere doesn't make the bucket private: it
// rarely covers every anonymous request, and a verdict of "public" only
// asks the operator to look. Resources are not examined: a bucket policy
// only speaks of its own bucket, and a grant on part of it is public too.
// The policy package's evaluator is not used because it answers for one
// request, while this must hold for every anonymous caller, and it rejects
// condition keys it doesn't know, which bucket policies may use freely.
func publicGrant(doc []byte) (string, error) {
	var p struct {
		Statement jsonList[bucketStatement]
	}
	if err := json.Unmarshal(doc, &p); err != nil {
		return "", fmt.Errorf("policy JSON: %w", err)
	}
	for i, st := range p.Statement {
		if !strings.EqualFold(st.Effect, "Allow") || !st.anonymous() || st.pinned() {
			continue
		}
		for _, a := range publicActions {
			if st.covers(a.action) {
				return fmt.Sprintf("anyone may %s (bucket policy %s)", a.does, st.name(i)), nil
			}
		}
	}
	return "", nil
}

// bucketStatement is a policy statement read leniently: the fields that
// decide publicity, in any of the spellings S3 accepts.
type bucketStatement struct {
	Sid          string
	Effect       string
	Principal    json.RawMessage
	NotPrincipal json.RawMessage
	Action       jsonStrings
	NotAction    jsonStrings
	Condition    map[string]map[string]jsonStrings
}

func (s bucketStatement) name(i int) string {
	if s.Sid != "" {
		return "statement " + strconv.Quote(s.Sid)
	}
	return fmt.Sprintf("Statement[%d]", i)
}

// anonymous reports whether the statement applies to callers without
// credentials.
func (s bucketStatement) anonymous() bool {
	if len(s.NotPrincipal) > 0 && string(s.NotPrincipal) != "null" {
		return true
	}
	var star string
	if json.Unmarshal(s.Principal, &star) == nil {
		return star == "*"
	}
	var byType map[string]jsonStrings
	if json.Unmarshal(s.Principal, &byType) != nil {
		return false
	}
	for typ, ids := range byType {
		if !strings.EqualFold(typ, "AWS") {
			continue
		}
		for _, id := range ids {
			if id == "*" {
				return true
			}
		}
	}
	return false
}

// covers reports whether the statement's actions include action.
func (s bucketStatement) covers(action string) bool {
	if s.NotAction != nil {
		return !anyGlob(s.NotAction, action)
	}
	return anyGlob(s.Action, action)
}

// pinned reports whether a condition limits the statement to callers S3
// would not call public. Conditions are ANDed: one is enough.
func (s bucketStatement) pinned() bool {
	for op, keys := range s.Condition {
		for key, values := range keys {
			if pins(op, key, values) {
				return true
			}
		}
	}
	return false
}

// pinningKeys are the condition keys that, with fixed values, confine a
// grant to known callers (S3's "meaning of public", plus the principal and
// organization keys that name callers the same way).
var pinningKeys = map[string]bool{
	"aws:sourceip": true, "aws:sourcevpc": true, "aws:sourcevpce": true,
	"aws:sourcearn": true, "aws:sourceowner": true, "aws:sourceaccount": true,
	"aws:sourceorgid": true, "aws:sourceorgpaths": true,
	"aws:principalarn": true, "aws:principalaccount": true,
	"aws:principalorgid": true, "aws:principalorgpaths": true,
	"aws:userid": true,
	"s3:x-amz-server-side-encryption-aws-kms-key-id": true,
	"s3:dataaccesspointarn":                          true, "s3:dataaccesspointaccount": true,
}

// pins reports whether one condition confines the caller: a positive
// operator (no IfExists, which a missing key passes; no ForAllValues, which
// an empty set passes) on a pinning key, with fixed values only.
func pins(op, key string, values []string) bool {
	op, key = strings.ToLower(op), strings.ToLower(key)
	if strings.HasPrefix(op, "forallvalues:") || strings.HasSuffix(op, "ifexists") || !pinningKeys[key] || len(values) == 0 {
		return false
	}
	op = strings.TrimPrefix(op, "foranyvalue:")
	if key == "aws:sourceip" {
		return op == "ipaddress" && narrowRanges(values)
	}
	switch op {
	case "stringequals", "stringequalsignorecase":
		return true
	case "stringlike", "arnequals", "arnlike": // ArnEquals matches wildcards too
		for _, v := range values {
			if !fixed(key, v) {
				return false
			}
		}
		return true
	}
	return false
}

// fixed reports whether a pattern names fixed callers: no wildcard, except
// aws:userid's "ROLEID:*", which names the sessions of one role.
func fixed(key, v string) bool {
	if key == "aws:userid" {
		if id, ok := strings.CutSuffix(v, ":*"); ok && id != "" {
			v = id
		}
	}
	return !strings.ContainsAny(v, "*?")
}

// narrowRanges reports whether every address range is narrower than a /8
// (IPv4) or /32 (IPv6): 0.0.0.0/0, or a pair of /1s, is anyone.
func narrowRanges(values []string) bool {
	for _, v := range values {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return false
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		widest := 32
		if p.Addr().Is4() {
			widest = 8
		}
		if p.Bits() < widest {
			return false
		}
	}
	return true
}

// anyGlob reports whether one of IAM's action patterns (* and ?, case
// insensitive) matches s.
func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(strings.ToLower(p), strings.ToLower(s)) {
			return true
		}
	}
	return false
}

// glob matches * (any run) and ? (one character), backtracking only to the
// last star, so it runs in linear time for IAM's short patterns.
func glob(p, s string) bool {
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi, si = pi+1, si+1
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// jsonList reads one value or a list of them, as policy documents allow.
type jsonList[T any] []T

func (l *jsonList[T]) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, (*[]T)(l))
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*l = jsonList[T]{one}
	return nil
}

// jsonStrings reads a string, a number or boolean (kept as its text), or a
// list of them.
type jsonStrings []string

func (s *jsonStrings) UnmarshalJSON(b []byte) error {
	var raw jsonList[json.RawMessage]
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(jsonStrings, 0, len(raw))
	for _, r := range raw {
		var v string
		if err := json.Unmarshal(r, &v); err != nil {
			v = string(bytes.TrimSpace(r)) // a number or a boolean
		}
		out = append(out, v)
	}
	*s = out
	return nil
}

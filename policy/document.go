// Package policy reads, evaluates and writes AWS IAM policy documents for
// s3bridge: the policy an instance is fenced by (evaluated before every
// task, with AWS's rules, so it works on S3 servers without IAM), the
// least-privilege policy each feature needs, and the trust policy of the
// role the agent assumes.
//
// Parse reads a document and reports bad input by line, column and field.
// Evaluate decides a Request against documents the way IAM does: an
// explicit Deny beats any Allow, and without a matching Allow the request
// is implicitly denied; the Result names the statement that decided.
// Required and Generate produce least-privilege documents per feature.
package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Policy language versions. Only VersionCurrent expands policy variables;
// in older documents "${...}" is plain text, as in IAM.
const (
	VersionCurrent = "2012-10-17"
	VersionLegacy  = "2008-10-17"
)

// Effect is a statement's effect: Allow or Deny.
type Effect string

// Effects.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Document is an IAM policy document. The zero value is not valid: it has
// no statement. Documents from Parse are valid; Validate checks documents
// built in code.
type Document struct {
	Version   string
	ID        string // the optional "Id"
	Statement []Statement
}

// Statement is one statement of a Document. Exactly one of Action and
// NotAction is set. Exactly one of Resource and NotResource is set, except
// in statements with a Principal (trust and resource policies), where both
// may be absent and the statement covers every resource.
type Statement struct {
	Sid          string
	Effect       Effect
	Principal    Principal // nil when absent
	NotPrincipal Principal
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Condition    Condition
}

// Principal maps a principal type ("AWS", "Service", "Federated",
// "CanonicalUser") to identifiers. The JSON "Principal": "*" reads as
// {"AWS": ["*"]}, which IAM documents as the same thing.
type Principal map[string][]string

// Condition maps an operator (such as "StringLike" or
// "ForAllValues:StringEqualsIfExists") to condition keys and the values
// each key may take. JSON numbers and booleans are kept as their text.
type Condition map[string]map[string][]string

// NamedDocument is a document with the name used for it in decisions and
// errors, usually its file name.
type NamedDocument struct {
	Name     string
	Document Document
}

// Error is a problem with a policy document: which document, where in its
// text (Line and Column are 1-based, 0 when the document was not parsed
// from text) and which field, as a path like "Statement[1].Effect".
type Error struct {
	Doc    string
	Line   int
	Column int
	Field  string
	Err    error
}

// Error reads like `policy.json line 7 column 12: Statement[1].Effect: …`,
// leaving out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Doc)
	if e.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "line %d column %d", e.Line, e.Column)
	}
	if e.Field != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Field)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

func fieldErr(field string, format string, args ...any) *Error {
	return &Error{Field: field, Err: fmt.Errorf(format, args...)}
}

// Validate reports the first problem that makes the document unusable, as
// an *Error naming the field: a bad Version or Effect, a statement without
// actions or resources, a malformed action or resource, an unknown
// condition operator or key, a value of the wrong type, or a policy
// variable naming an unknown key.
func (d Document) Validate() error {
	switch d.Version {
	case VersionCurrent, VersionLegacy, "":
	default:
		return fieldErr("Version", "want %q or %q, got %q", VersionCurrent, VersionLegacy, d.Version)
	}
	if len(d.Statement) == 0 {
		return fieldErr("Statement", "a policy needs at least one statement")
	}
	sids := map[string]int{}
	for i, s := range d.Statement {
		path := fmt.Sprintf("Statement[%d]", i)
		if err := s.validate(path, d.Version == VersionCurrent); err != nil {
			return err
		}
		if s.Sid == "" {
			continue
		}
		if j, dup := sids[s.Sid]; dup {
			return fieldErr(path+".Sid", "%q is already the Sid of Statement[%d]", s.Sid, j)
		}
		sids[s.Sid] = i
	}
	return nil
}

func (s Statement) validate(path string, vars bool) error {
	if s.Effect != Allow && s.Effect != Deny {
		return fieldErr(path+".Effect", "want %q or %q, got %q", Allow, Deny, s.Effect)
	}
	if err := s.validatePrincipals(path); err != nil {
		return err
	}
	if err := exactlyOne(path, "Action", s.Action, "NotAction", s.NotAction, true); err != nil {
		return err
	}
	for i, a := range slices.Concat(s.Action, s.NotAction) {
		field := listField(path, s.Action != nil, "Action", "NotAction", i)
		if err := validateAction(a); err != nil {
			return fieldErr(field, "%v", err)
		}
	}
	// Resource-based statements (with a principal) name their resource by
	// where they are attached, so they may leave it out.
	required := s.Principal == nil && s.NotPrincipal == nil
	if err := exactlyOne(path, "Resource", s.Resource, "NotResource", s.NotResource, required); err != nil {
		return err
	}
	for i, r := range slices.Concat(s.Resource, s.NotResource) {
		field := listField(path, s.Resource != nil, "Resource", "NotResource", i)
		if err := validateResource(r, vars); err != nil {
			return fieldErr(field, "%v", err)
		}
	}
	return s.Condition.validate(path+".Condition", vars)
}

func (s Statement) validatePrincipals(path string) error {
	if s.Principal != nil && s.NotPrincipal != nil {
		return fieldErr(path, "has both Principal and NotPrincipal")
	}
	for name, p := range map[string]Principal{"Principal": s.Principal, "NotPrincipal": s.NotPrincipal} {
		if p == nil {
			continue
		}
		if len(p) == 0 {
			return fieldErr(path+"."+name, "names no principal")
		}
		for typ, ids := range p {
			switch typ {
			case "AWS", "Service", "Federated", "CanonicalUser":
			default:
				return fieldErr(path+"."+name, "unknown principal type %q", typ)
			}
			if len(ids) == 0 || slices.Contains(ids, "") {
				return fieldErr(path+"."+name+"."+typ, "empty principal")
			}
		}
	}
	return nil
}

// exactlyOne checks that one of a pair of fields is set (or, when not
// required, at most one).
func exactlyOne(path, a string, av []string, b string, bv []string, required bool) error {
	switch {
	case av != nil && bv != nil:
		return fieldErr(path, "has both %s and %s", a, b)
	case av == nil && bv == nil && required:
		return fieldErr(path, "needs %s or %s", a, b)
	case av != nil && len(av) == 0:
		return fieldErr(path+"."+a, "is empty")
	case bv != nil && len(bv) == 0:
		return fieldErr(path+"."+b, "is empty")
	}
	return nil
}

func listField(path string, first bool, a, b string, i int) string {
	if first {
		return fmt.Sprintf("%s.%s[%d]", path, a, i)
	}
	return fmt.Sprintf("%s.%s[%d]", path, b, i)
}

// validateAction accepts "*" and "service:name", where name may hold
// wildcards. Unknown action names are allowed, as in IAM.
func validateAction(a string) error {
	if a == "*" {
		return nil
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" {
		return fmt.Errorf("want \"service:action\" or \"*\", got %q", a)
	}
	for _, r := range svc {
		if !isAlnum(r) && r != '-' {
			return fmt.Errorf("service %q in %q: want letters, digits and dashes", svc, a)
		}
	}
	for _, r := range name {
		if !isAlnum(r) && !strings.ContainsRune("*?-_.", r) {
			return fmt.Errorf("action %q: unexpected character %q", a, r)
		}
	}
	return nil
}

func isAlnum(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
}

// validateResource accepts "*" and ARNs: six colon-separated parts, or
// fewer when the last part ends in a * that stands for the rest.
func validateResource(r string, vars bool) error {
	if r == "*" {
		return nil
	}
	if !strings.HasPrefix(r, "arn:") {
		return fmt.Errorf("want an ARN (arn:partition:service:region:account:resource) or \"*\", got %q", r)
	}
	if parts := strings.SplitN(r, ":", 6); len(parts) < 6 && !strings.HasSuffix(r, "*") {
		return fmt.Errorf("ARN %q has %d parts, want 6", r, len(parts))
	}
	if !vars {
		return nil
	}
	if err := validateVariables(r); err != nil {
		return fmt.Errorf("ARN %q: %w", r, err)
	}
	return nil
}

func (c Condition) validate(path string, vars bool) error {
	for _, name := range slices.Sorted(maps.Keys(c)) {
		op, err := parseOperator(name)
		if err != nil {
			return fieldErr(path+"."+name, "%v", err)
		}
		block := c[name]
		for _, key := range slices.Sorted(maps.Keys(block)) {
			field := path + "." + name + "." + key
			if _, ok := normKey(key); !ok {
				return fieldErr(field, "unknown condition key %q (known: %s)", key, strings.Join(Keys(), ", "))
			}
			values := block[key]
			if len(values) == 0 {
				return fieldErr(field, "no values")
			}
			for i, v := range values {
				if err := op.validateValue(v, vars); err != nil {
					return fieldErr(fmt.Sprintf("%s[%d]", field, i), "%s: %v", name, err)
				}
			}
		}
	}
	return nil
}

// MarshalJSON writes the document in IAM's usual shape: Version first, a
// Statement list, fields in the order Sid, Effect, Principal, Action,
// Resource, Condition, and one-element lists as plain strings.
func (d Document) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	sep := ""
	if d.Version != "" {
		writeMember(&b, &sep, "Version", d.Version)
	}
	if d.ID != "" {
		writeMember(&b, &sep, "Id", d.ID)
	}
	b.WriteString(sep + `"Statement":[`)
	for i, s := range d.Statement {
		if i > 0 {
			b.WriteByte(',')
		}
		s.marshal(&b)
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

// UnmarshalJSON reads a document with Parse, so a document inside other
// JSON gets the same checks and error positions (relative to the document).
func (d *Document) UnmarshalJSON(data []byte) error {
	doc, err := Parse("", data)
	if err != nil {
		return err
	}
	*d = doc
	return nil
}

func (s Statement) marshal(b *bytes.Buffer) {
	b.WriteByte('{')
	sep := ""
	if s.Sid != "" {
		writeMember(b, &sep, "Sid", s.Sid)
	}
	writeMember(b, &sep, "Effect", string(s.Effect))
	for _, p := range []struct {
		name string
		p    Principal
	}{{"Principal", s.Principal}, {"NotPrincipal", s.NotPrincipal}} {
		if p.p != nil {
			writeMember(b, &sep, p.name, stringMap(p.p))
		}
	}
	for _, f := range []struct {
		name string
		v    []string
	}{{"Action", s.Action}, {"NotAction", s.NotAction}, {"Resource", s.Resource}, {"NotResource", s.NotResource}} {
		if f.v != nil {
			writeMember(b, &sep, f.name, oneOrMany(f.v))
		}
	}
	if len(s.Condition) > 0 {
		c := make(map[string]map[string]any, len(s.Condition))
		for op, block := range s.Condition {
			c[op] = stringMap(block)
		}
		writeMember(b, &sep, "Condition", c)
	}
	b.WriteByte('}')
}

// writeMember writes one object member; values are plain strings, string
// lists and maps, which encoding/json can't fail on (and writes with
// sorted keys, so output is stable).
func writeMember(b *bytes.Buffer, sep *string, name string, v any) {
	val, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("policy: marshal %s: %v", name, err)) // unreachable for these types
	}
	fmt.Fprintf(b, "%s%q:%s", *sep, name, val)
	*sep = ","
}

func oneOrMany(v []string) any {
	if len(v) == 1 {
		return v[0]
	}
	return v
}

func stringMap(m map[string][]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = oneOrMany(v)
	}
	return out
}

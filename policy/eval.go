package policy

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"
)

// Request is one call to authorize.
type Request struct {
	// Action is the action the call needs, such as "s3:GetObject".
	Action string
	// Resource is the ARN the call acts on, such as "arn:aws:s3:::b/k",
	// or "*" for actions that take no resource (s3:ListAllMyBuckets).
	Resource string
	// Context holds the condition keys of the call and their values, such
	// as "s3:prefix": {"data/"}. Key names are case-insensitive. A key
	// that is absent (or has no value) is missing for the condition
	// operators and an error for a policy variable that needs it.
	Context map[string][]string
}

// Decision is the outcome of an evaluation, named as in IAM's EvalDecision.
// The zero value is ImplicitDeny, so an unset decision never allows.
type Decision uint8

// Decisions.
const (
	ImplicitDeny Decision = iota // no statement allows the request
	Allowed                      // a statement allows it and none denies it
	ExplicitDeny                 // a statement denies it
)

var decisionNames = [...]string{ImplicitDeny: "implicitDeny", Allowed: "allowed", ExplicitDeny: "explicitDeny"}

// String returns IAM's name: "allowed", "explicitDeny" or "implicitDeny".
func (d Decision) String() string {
	if int(d) < len(decisionNames) {
		return decisionNames[d]
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// MarshalText writes the decision's IAM name.
func (d Decision) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads an IAM decision name.
func (d *Decision) UnmarshalText(b []byte) error {
	for i, n := range decisionNames {
		if n == string(b) {
			*d = Decision(i)
			return nil
		}
	}
	return fmt.Errorf("unknown decision %q: want allowed, explicitDeny or implicitDeny", b)
}

// Result is a decision and the statement that made it.
type Result struct {
	Action   string
	Resource string
	Decision Decision
	// Doc, Sid and Index name the deciding statement: its document, its
	// Sid (may be empty) and its position in the document's Statement
	// list. Index is -1 for an implicit deny, which no statement decides.
	Doc   string
	Sid   string
	Index int
	// Docs names every document the request was evaluated against.
	Docs []string
}

// Allowed reports whether the request may proceed.
func (r Result) Allowed() bool { return r.Decision == Allowed }

// Statement names the deciding statement: its Sid in quotes, else its
// position as in parse errors ("Statement[2]"); empty for implicitDeny.
func (r Result) Statement() string {
	switch {
	case r.Index < 0:
		return ""
	case r.Sid != "":
		return strconv.Quote(r.Sid)
	}
	return fmt.Sprintf("Statement[%d]", r.Index)
}

// String describes the decision the way aws iam simulate-custom-policy
// does: the decision first, then the deciding statement, e.g.
//
//	explicitDeny by statement "DenyProd" (policy instance.json)
//	implicitDeny: no statement allows it (policy instance.json)
func (r Result) String() string {
	if r.Index < 0 {
		switch len(r.Docs) {
		case 0:
			return r.Decision.String() + ": no policy"
		case 1:
			return fmt.Sprintf("%s: no statement allows it (policy %s)", r.Decision, r.Docs[0])
		}
		return fmt.Sprintf("%s: no statement allows it (policies %s)", r.Decision, strings.Join(r.Docs, ", "))
	}
	by := "by statement " + r.Statement()
	if r.Sid == "" {
		by = "by " + r.Statement()
	}
	return fmt.Sprintf("%s %s (policy %s)", r.Decision, by, r.Doc)
}

// ErrDenied matches every *DeniedError with errors.Is.
var ErrDenied = errors.New("denied by policy")

// DeniedError is a request the policy denies, for task errors that must
// name the action, the resource and the deciding statement.
type DeniedError struct {
	Result Result
}

// Error reads like
// `s3:PutObject on arn:aws:s3:::b/k: explicitDeny by statement "DenyProd" (policy instance.json)`.
func (e *DeniedError) Error() string {
	return fmt.Sprintf("%s on %s: %s", e.Result.Action, e.Result.Resource, e.Result)
}

// Is reports whether target is ErrDenied.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

// Err returns nil when the request is allowed and a *DeniedError otherwise.
func (r Result) Err() error {
	if r.Allowed() {
		return nil
	}
	return &DeniedError{Result: r}
}

// Evaluate decides a request against documents with IAM's rules for
// policies of one account: a matching Deny statement in any document
// decides explicitDeny; otherwise a matching Allow decides allowed;
// otherwise the request is implicitly denied. Of several matching
// statements, the first (in document, then statement order) is reported.
//
// Documents should come from Parse or have passed Validate. An error (a
// policy variable whose key is missing from the request, an invalid
// document) comes with a Result that is not Allowed: callers that ignore
// the error still deny.
func Evaluate(docs []NamedDocument, req Request) (Result, error) {
	res := Result{Action: req.Action, Resource: req.Resource, Index: -1}
	for _, d := range docs {
		res.Docs = append(res.Docs, d.Name)
	}
	if req.Action == "" || req.Resource == "" {
		return res, errors.New("evaluate request: needs an action and a resource")
	}
	rc := newRequestContext(req.Context)
	var allow *Result
	for _, d := range docs {
		vars := d.Document.Version == VersionCurrent
		for i, s := range d.Document.Statement {
			ok, err := s.applies(req, rc, vars)
			if err != nil {
				return res, fmt.Errorf("evaluate %s on %s: policy %s Statement[%d]: %w", req.Action, req.Resource, d.Name, i, err)
			}
			if !ok {
				continue
			}
			hit := res
			hit.Doc, hit.Sid, hit.Index = d.Name, s.Sid, i
			if s.Effect == Deny {
				hit.Decision = ExplicitDeny
				return hit, nil
			}
			if allow == nil {
				hit.Decision = Allowed
				allow = &hit
			}
		}
	}
	if allow != nil {
		return *allow, nil
	}
	return res, nil
}

// applies reports whether a statement covers the request. The action is
// checked first so that a statement about other actions never fails on a
// policy variable it would need.
func (s Statement) applies(req Request, rc requestContext, vars bool) (bool, error) {
	if s.Effect != Allow && s.Effect != Deny {
		return false, fmt.Errorf("effect %q: want %q or %q", s.Effect, Allow, Deny)
	}
	if s.NotAction != nil {
		if anyAction(s.NotAction, req.Action) {
			return false, nil
		}
	} else if !anyAction(s.Action, req.Action) {
		return false, nil
	}
	if s.Principal != nil && !principalMatches(s.Principal, rc) ||
		s.NotPrincipal != nil && principalMatches(s.NotPrincipal, rc) {
		return false, nil
	}
	switch {
	case s.NotResource != nil:
		hit, err := anyResource(s.NotResource, req.Resource, vars, rc)
		if err != nil || hit {
			return false, err
		}
	case s.Resource != nil:
		hit, err := anyResource(s.Resource, req.Resource, vars, rc)
		if err != nil || !hit {
			return false, err
		}
	}
	return evalCondition(s.Condition, vars, rc)
}

func anyAction(patterns []string, action string) bool {
	for _, p := range patterns {
		if matchAction(p, action) {
			return true
		}
	}
	return false
}

func anyResource(patterns []string, resource string, vars bool, rc requestContext) (bool, error) {
	for _, text := range patterns {
		p, err := compilePattern(text, modeARN, vars, rc.resolve)
		if err != nil {
			return false, fmt.Errorf("resource %q: %w", text, err)
		}
		if p.match(resource) {
			return true, nil
		}
	}
	return false, nil
}

// principalMatches matches AWS principals against aws:PrincipalArn (an
// account ID or account root ARN matches every principal of the account)
// and Service principals against aws:PrincipalServiceName.
func principalMatches(p Principal, rc requestContext) bool {
	for typ, ids := range p {
		key := map[string]string{"AWS": "aws:principalarn", "Service": "aws:principalservicename"}[typ]
		for _, id := range ids {
			if id == "*" {
				return true
			}
			for _, v := range rc[key] {
				if v == id || typ == "AWS" && sameAccount(id, v) {
					return true
				}
			}
		}
	}
	return false
}

// sameAccount reports whether id names the account of the principal ARN,
// as "123456789012" or "arn:aws:iam::123456789012:root".
func sameAccount(id, principalARN string) bool {
	parts := strings.SplitN(principalARN, ":", 6)
	if len(parts) < 6 || parts[4] == "" {
		return false
	}
	acct := parts[4]
	return id == acct || id == "arn:"+parts[1]+":iam::"+acct+":root"
}

// Simulate evaluates a request for the CLI's `s3bridge policy simulate`,
// like aws iam simulate-custom-policy: it validates every document and the
// request first (an unknown context key is an error, not a silent
// mismatch), and fills aws:CurrentTime and aws:EpochTime with the current
// time when the caller didn't set them. The Result's String starts with
// the decision.
func Simulate(docs []NamedDocument, req Request) (Result, error) {
	for _, d := range docs {
		if err := d.Document.Validate(); err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Doc = d.Name
			}
			return Result{Action: req.Action, Resource: req.Resource, Index: -1}, fmt.Errorf("simulate: %w", err)
		}
	}
	if err := validateRequest(req); err != nil {
		return Result{Action: req.Action, Resource: req.Resource, Index: -1}, fmt.Errorf("simulate: %w", err)
	}
	ctx := maps.Clone(req.Context)
	if ctx == nil {
		ctx = map[string][]string{}
	}
	rc := newRequestContext(ctx)
	now := time.Now().UTC()
	if _, ok := rc["aws:currenttime"]; !ok {
		ctx["aws:CurrentTime"] = []string{now.Format(time.RFC3339)}
	}
	if _, ok := rc["aws:epochtime"]; !ok {
		ctx["aws:EpochTime"] = []string{strconv.FormatInt(now.Unix(), 10)}
	}
	req.Context = ctx
	return Evaluate(docs, req)
}

func validateRequest(req Request) error {
	if err := validateAction(req.Action); err != nil || strings.ContainsAny(req.Action, "*?") {
		return fmt.Errorf("request action %q: want one action such as s3:GetObject", req.Action)
	}
	if req.Resource != "*" && !strings.HasPrefix(req.Resource, "arn:") {
		return fmt.Errorf("request resource %q: want an ARN or \"*\"", req.Resource)
	}
	for k := range req.Context {
		if _, ok := normKey(k); !ok {
			return fmt.Errorf("request context key %q: unknown (known: %s)", k, strings.Join(Keys(), ", "))
		}
	}
	return nil
}

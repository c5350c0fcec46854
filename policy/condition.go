package policy

import (
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// knownKeys maps the lower-case name of every condition key s3bridge
// understands to the spelling AWS documents. Key names are
// case-insensitive in IAM. A key missing here is a validation error, so a
// typo in a policy fails at attach instead of never matching. Read-only.
var knownKeys = map[string]string{
	"aws:sourcearn":            "aws:SourceArn",
	"aws:sourceaccount":        "aws:SourceAccount",
	"aws:securetransport":      "aws:SecureTransport",
	"aws:currenttime":          "aws:CurrentTime",
	"aws:epochtime":            "aws:EpochTime",
	"aws:sourceip":             "aws:SourceIp",
	"aws:username":             "aws:username",
	"aws:userid":               "aws:userid",
	"aws:principalarn":         "aws:PrincipalArn",
	"aws:principalservicename": "aws:PrincipalServiceName",
	"s3:prefix":                "s3:prefix",
	"s3:delimiter":             "s3:delimiter",
	"s3:max-keys":              "s3:max-keys",
	"s3:x-amz-acl":             "s3:x-amz-acl",
	"s3:signatureversion":      "s3:signatureversion",
}

// tagKeyPrefixes are the key families whose last part is a tag key, which
// stays case-sensitive like the tag itself.
var tagKeyPrefixes = []string{"s3:ExistingObjectTag/", "s3:RequestObjectTag/"}

// normKey returns the form a condition key is looked up by, and whether
// s3bridge knows the key.
func normKey(key string) (string, bool) {
	lower := strings.ToLower(key)
	if _, ok := knownKeys[lower]; ok {
		return lower, true
	}
	for _, p := range tagKeyPrefixes {
		if len(key) > len(p) && strings.EqualFold(key[:len(p)], p) {
			return strings.ToLower(p) + key[len(p):], true
		}
	}
	return lower, false
}

// Keys returns the condition keys s3bridge understands, in AWS's spelling;
// a name ending in "/" is a family followed by a tag key.
func Keys() []string {
	keys := make([]string, 0, len(knownKeys)+len(tagKeyPrefixes))
	for _, k := range knownKeys {
		keys = append(keys, k)
	}
	keys = append(keys, tagKeyPrefixes...)
	slices.Sort(keys)
	return keys
}

// requestContext is a request's context keyed by normKey.
type requestContext map[string][]string

func newRequestContext(c map[string][]string) requestContext {
	rc := make(requestContext, len(c))
	for k, v := range c {
		n, _ := normKey(k)
		rc[n] = append(rc[n], v...)
	}
	return rc
}

// resolve returns the single value a policy variable stands for.
func (rc requestContext) resolve(key string) (string, error) {
	n, _ := normKey(key)
	vals := rc[n]
	switch len(vals) {
	case 0:
		return "", fmt.Errorf("policy variable ${%s}: key not in the request context", key)
	case 1:
		return vals[0], nil
	default:
		return "", fmt.Errorf("policy variable ${%s}: key has %d values, a variable needs one", key, len(vals))
	}
}

type family uint8

const (
	famString family = iota
	famStringIgnoreCase
	famStringLike
	famARN
	famNumeric
	famDate
	famBool
	famIP
	famNull
)

type comparison uint8

const (
	cmpEq comparison = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type qualifier uint8

const (
	qualNone qualifier = iota
	qualAnyValue
	qualAllValues
)

// operator is a parsed condition operator name such as
// "ForAllValues:StringNotLikeIfExists".
type operator struct {
	fam      family
	cmp      comparison
	negate   bool
	ifExists bool
	qual     qualifier
}

// baseOperators are AWS's condition operators without qualifier or
// IfExists. ArnEquals and ArnLike are the same operator in AWS: both take
// wildcards, segment by segment. Read-only.
var baseOperators = map[string]operator{
	"StringEquals":              {fam: famString},
	"StringNotEquals":           {fam: famString, negate: true},
	"StringEqualsIgnoreCase":    {fam: famStringIgnoreCase},
	"StringNotEqualsIgnoreCase": {fam: famStringIgnoreCase, negate: true},
	"StringLike":                {fam: famStringLike},
	"StringNotLike":             {fam: famStringLike, negate: true},
	"ArnEquals":                 {fam: famARN},
	"ArnLike":                   {fam: famARN},
	"ArnNotEquals":              {fam: famARN, negate: true},
	"ArnNotLike":                {fam: famARN, negate: true},
	"NumericEquals":             {fam: famNumeric},
	"NumericNotEquals":          {fam: famNumeric, negate: true},
	"NumericLessThan":           {fam: famNumeric, cmp: cmpLt},
	"NumericLessThanEquals":     {fam: famNumeric, cmp: cmpLe},
	"NumericGreaterThan":        {fam: famNumeric, cmp: cmpGt},
	"NumericGreaterThanEquals":  {fam: famNumeric, cmp: cmpGe},
	"DateEquals":                {fam: famDate},
	"DateNotEquals":             {fam: famDate, negate: true},
	"DateLessThan":              {fam: famDate, cmp: cmpLt},
	"DateLessThanEquals":        {fam: famDate, cmp: cmpLe},
	"DateGreaterThan":           {fam: famDate, cmp: cmpGt},
	"DateGreaterThanEquals":     {fam: famDate, cmp: cmpGe},
	"Bool":                      {fam: famBool},
	"IpAddress":                 {fam: famIP},
	"NotIpAddress":              {fam: famIP, negate: true},
	"Null":                      {fam: famNull},
}

// Operators returns the condition operator names s3bridge understands,
// without the ForAnyValue:/ForAllValues: qualifiers and the IfExists
// suffix, which combine with every one but Null.
func Operators() []string {
	names := make([]string, 0, len(baseOperators))
	for n := range baseOperators {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// parseOperator parses an operator name. Names are case-sensitive as in
// IAM; a name that differs only in case gets a hint.
func parseOperator(name string) (operator, error) {
	base := name
	var q qualifier
	if rest, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
		base, q = rest, qualAnyValue
	} else if rest, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
		base, q = rest, qualAllValues
	}
	base, ifExists := strings.CutSuffix(base, "IfExists")
	op, ok := baseOperators[base]
	if !ok {
		for known := range baseOperators {
			if strings.EqualFold(known, base) {
				return operator{}, fmt.Errorf("unknown condition operator %q (operator names are case-sensitive: did you mean %q?)", name, known)
			}
		}
		return operator{}, fmt.Errorf("unknown condition operator %q", name)
	}
	if op.fam == famNull && ifExists {
		// AWS documents IfExists for every operator except Null, which
		// already is the test for existence.
		return operator{}, fmt.Errorf("condition operator %q: Null takes no IfExists", name)
	}
	if op.fam == famNull && q != qualNone {
		return operator{}, fmt.Errorf("condition operator %q: Null takes no set qualifier", name)
	}
	op.ifExists, op.qual = ifExists, q
	return op, nil
}

// validateValue checks one policy value of a condition: numbers, dates,
// booleans and addresses must parse, variables must name known keys.
func (op operator) validateValue(v string, vars bool) error {
	switch op.fam {
	case famNumeric:
		_, err := parseNumber(v)
		return err
	case famDate:
		_, err := parseDate(v)
		return err
	case famBool, famNull:
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return fmt.Errorf("want \"true\" or \"false\", got %q", v)
		}
		return nil
	case famIP:
		_, err := parsePrefix(v)
		return err
	}
	if !vars {
		return nil
	}
	return validateVariables(v)
}

// validateVariables checks that every ${...} in text is well formed and
// names a known key.
func validateVariables(text string) error {
	keys, err := variables(text)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if _, ok := normKey(k); !ok {
			return fmt.Errorf("policy variable ${%s}: unknown condition key %q", k, k)
		}
	}
	return nil
}

// evalCondition reports whether every operator, key and value of a
// statement's Condition holds for the request: operators and keys are
// ANDed, the values of one key ORed. Operators and keys go in sorted
// order so that which error or mismatch ends the walk never varies.
func evalCondition(c Condition, vars bool, rc requestContext) (bool, error) {
	for _, name := range slices.Sorted(maps.Keys(c)) {
		op, err := parseOperator(name)
		if err != nil {
			return false, err
		}
		block := c[name]
		for _, key := range slices.Sorted(maps.Keys(block)) {
			values := block[key]
			n, ok := normKey(key)
			if !ok {
				return false, fmt.Errorf("unknown condition key %q", key)
			}
			hold, err := op.evalKey(values, rc[n], vars, rc)
			if err != nil {
				return false, fmt.Errorf("%s %s: %w", name, key, err)
			}
			if !hold {
				return false, nil
			}
		}
	}
	return true, nil
}

// evalKey applies the operator to one key, with AWS's rules for a key
// missing from the request: IfExists holds, ForAllValues holds (vacuous
// truth), ForAnyValue fails, a negated operator holds, any other fails.
func (op operator) evalKey(policyVals, reqVals []string, vars bool, rc requestContext) (bool, error) {
	present := len(reqVals) > 0
	if op.fam == famNull {
		for _, v := range policyVals {
			if strings.EqualFold(v, "true") != present {
				return true, nil
			}
		}
		return false, nil
	}
	if !present {
		switch {
		case op.ifExists, op.qual == qualAllValues:
			return true, nil
		case op.qual == qualAnyValue:
			return false, nil
		}
		return op.negate, nil
	}
	m, err := op.matcher(policyVals, vars, rc)
	if err != nil {
		return false, err
	}
	switch op.qual {
	case qualAnyValue:
		// Some request value matches (negated: fails to match) the policy.
		for _, r := range reqVals {
			if m(r) != op.negate {
				return true, nil
			}
		}
		return false, nil
	case qualAllValues:
		// Every request value matches (negated: matches none of) the policy.
		for _, r := range reqVals {
			if m(r) == op.negate {
				return false, nil
			}
		}
		return true, nil
	}
	hit := slices.ContainsFunc(reqVals, m)
	return hit != op.negate, nil
}

// matcher compiles the policy values of one key into a function that
// reports whether a request value matches any of them.
func (op operator) matcher(policyVals []string, vars bool, rc requestContext) (func(string) bool, error) {
	var preds []func(string) bool
	for _, v := range policyVals {
		p, err := op.predicate(v, vars, rc)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	return func(r string) bool {
		return slices.ContainsFunc(preds, func(p func(string) bool) bool { return p(r) })
	}, nil
}

// predicate compiles one policy value. A request value that doesn't parse
// as the operator's type matches nothing.
func (op operator) predicate(v string, vars bool, rc requestContext) (func(string) bool, error) {
	switch op.fam {
	case famString, famStringIgnoreCase, famStringLike, famARN:
		mode := modePlain
		if op.fam == famARN {
			mode = modeARN
		}
		p, err := compilePattern(v, mode, vars, rc.resolve)
		if err != nil {
			return nil, err
		}
		switch op.fam {
		case famString:
			s := p.text()
			return func(r string) bool { return r == s }, nil
		case famStringIgnoreCase:
			s := p.text()
			return func(r string) bool { return strings.EqualFold(r, s) }, nil
		}
		return p.match, nil
	case famNumeric:
		want, err := parseNumber(v)
		if err != nil {
			return nil, err
		}
		return func(r string) bool {
			got, err := parseNumber(r)
			return err == nil && op.cmp.holds(cmpFloat(got, want))
		}, nil
	case famDate:
		want, err := parseDate(v)
		if err != nil {
			return nil, err
		}
		return func(r string) bool {
			got, err := parseDate(r)
			return err == nil && op.cmp.holds(got.Compare(want))
		}, nil
	case famBool:
		return func(r string) bool { return strings.EqualFold(r, v) }, nil
	case famIP:
		prefix, err := parsePrefix(v)
		if err != nil {
			return nil, err
		}
		return func(r string) bool {
			a, err := netip.ParseAddr(r)
			return err == nil && prefix.Contains(a.Unmap())
		}, nil
	}
	return nil, fmt.Errorf("operator family %d has no predicate", op.fam)
}

// text is the literal string a pattern stands for, for operators where
// wildcards are ordinary characters.
func (p pattern) text() string {
	var b strings.Builder
	for _, t := range p.toks {
		switch t.kind {
		case tokLit:
			b.WriteRune(t.r)
		case tokOne:
			b.WriteByte('?')
		case tokMany:
			b.WriteByte('*')
		}
	}
	return b.String()
}

func (c comparison) holds(sign int) bool {
	switch c {
	case cmpLt:
		return sign < 0
	case cmpLe:
		return sign <= 0
	case cmpGt:
		return sign > 0
	case cmpGe:
		return sign >= 0
	}
	return sign == 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseNumber parses a decimal number; hexadecimal, NaN and infinities,
// which strconv accepts, are not numbers in a policy.
func parseNumber(s string) (float64, error) {
	if s == "" || strings.ContainsAny(s, "xXpPnNiI_") {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return f, nil
}

// dateLayouts are the ISO 8601 forms IAM accepts for dates.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseDate parses an ISO 8601 date or an epoch time in seconds, the two
// forms IAM compares with the Date operators.
func parseDate(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date or epoch seconds", s)
}

// parsePrefix parses a CIDR block or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR block", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

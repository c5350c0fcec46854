package policy

// The generator of the differential corpus (testdata/differential.json),
// run by TestDifferential* with -update. It draws, from a fixed seed,
// policies out of pools of actions, resources and conditions that MinIO
// and IAM both define, and requests (an S3 operation on a key or prefix).
//
// MinIO refuses some documents IAM accepts. Rather than drop those cases,
// the generator writes, next to the document IAM (and package policy)
// reads, an equivalent document MinIO accepts, by a rule AWS documents:
//
//	lone-statement   a single Statement object is a one-element list
//	action-case      action names are case-insensitive
//	not-action       NotAction matches every action not listed: the
//	                 complement within the actions probed
//	if-exists        ...IfExists is the plain operator when the key is in
//	                 the request and true when it isn't
//	bucket-object    an object pattern "arn:aws:s3:::b/*" never matches the
//	                 bucket ARN "arn:aws:s3:::b" (MinIO checks bucket
//	                 actions against "b/", which it matches)
//	star-action      the action "*" is every action, s3:* among them, and
//	                 still limited by Resource (MinIO reads "*" as all STS
//	                 actions and then ignores Resource)
//
// The decision MinIO makes on the rewrite is then the expected decision
// for the original: those cases are tested against AWS's documented rules,
// through a real server.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

const (
	bucketToken = "@BUCKET@"    // replaced by the bucket of the run
	userToken   = "@USER@"      // replaced by MinIO's root user, aws:username
	upperToken  = "@UPPERUSER@" // replaced by the root user in upper case
	otherBucket = "s3bridge-diff-other"
	diffCases   = 600
)

// diffCase is one (policy, request) pair of the corpus.
type diffCase struct {
	ID     int             `json:"id"`
	Policy json.RawMessage `json:"policy"`
	// MinIO is the equivalent document sent to MinIO when it refuses or
	// misreads Policy; Rewrites names the rules that made it.
	MinIO    json.RawMessage `json:"minio,omitempty"`
	Rewrites []string        `json:"rewrites,omitempty"`
	diffRequest
}

// diffRequest is an S3 call. Prefix is set for listings, which always
// send one (possibly empty), so s3:prefix is always in their context.
type diffRequest struct {
	Op        string  `json:"op"`
	Key       string  `json:"key,omitempty"`
	Prefix    *string `json:"prefix,omitempty"`
	Delimiter string  `json:"delimiter,omitempty"`
	MaxKeys   int32   `json:"maxKeys,omitempty"`
}

// diffOps maps each S3 call the test makes to the IAM action it needs and
// whether it acts on the bucket (rather than an object).
var diffOps = map[string]struct {
	action string
	bucket bool
}{
	"GetObject":            {"s3:GetObject", false},
	"PutObject":            {"s3:PutObject", false},
	"DeleteObject":         {"s3:DeleteObject", false},
	"PutObjectTagging":     {"s3:PutObjectTagging", false},
	"ListParts":            {"s3:ListMultipartUploadParts", false},
	"AbortMultipartUpload": {"s3:AbortMultipartUpload", false},
	"ListObjectsV2":        {"s3:ListBucket", true},
	"GetBucketLocation":    {"s3:GetBucketLocation", true},
	"ListMultipartUploads": {"s3:ListBucketMultipartUploads", true},
}

// Pools. No s3:GetObjectVersion: MinIO lets it imply s3:GetObject, which
// IAM does not. No GetObjectTagging call: this MinIO answers it for any
// session, whatever the policy says.
var (
	genExactActions = []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:GetBucketLocation",
		"s3:ListMultipartUploadParts", "s3:AbortMultipartUpload", "s3:ListBucketMultipartUploads", "s3:PutObjectTagging"}
	genWildActions = []string{"s3:*", "*", "s3:Get*", "s3:Put*", "s3:List*", "s3:*Object", "s3:Get?bject",
		"s3:*Multipart*", "s3:Delete*", "s3:GetObject*", "s3:?etObject", "s3:*Bucket*"}
	genObjectResources = []string{"arn:aws:s3:::" + bucketToken + "/*", "arn:aws:s3:::" + bucketToken + "/a/*",
		"arn:aws:s3:::" + bucketToken + "/a/b/*", "arn:aws:s3:::" + bucketToken + "/b/*", "arn:aws:s3:::" + bucketToken + "/a/x.txt",
		"arn:aws:s3:::" + bucketToken + "/?/*", "arn:aws:s3:::" + bucketToken + "/*.txt", "arn:aws:s3:::" + bucketToken + "/a/?.txt",
		"arn:aws:s3:::" + bucketToken + "/${aws:username}/*", "arn:aws:s3:::" + otherBucket + "/*"}
	genBucketResources = []string{"arn:aws:s3:::" + bucketToken, "arn:aws:s3:::" + bucketToken + "*", "arn:aws:s3:::s3bridge-diff-*",
		"arn:aws:s3:::*", "*", "arn:aws:s3:::" + otherBucket}
	genBroadActions   = []string{"s3:*", "*", "s3:Get*", "s3:*Object", "s3:List*"}
	genBroadResources = []string{"arn:aws:s3:::" + bucketToken + "*", "*", "arn:aws:s3:::*", bucketObjectStar,
		"arn:aws:s3:::s3bridge-diff-*"}
	genKeys     = []string{"a/x.txt", "a/b/y.txt", "b/z.txt", "c.txt", "a/missing.txt", userToken + "/home.txt", "x/y/z.txt", "a/bb.txt"}
	genPrefixes = []string{"", "a/", "a/b/", "b/", "c", userToken + "/", "x/", "a"}
)

// genCond is one condition: operator, key and values (strings or ints,
// as JSON writes them).
type genCond struct {
	op, key string
	values  []any
}

// Conditions on keys every request has, usable on any statement. Negated
// numeric and date operators and ForAllValues with a negated operator
// only appear on such keys: MinIO gets them wrong for missing keys.
var genGlobalConds = []genCond{
	{"StringEquals", "aws:username", []any{userToken}},
	{"StringEquals", "aws:username", []any{"someone-else"}},
	{"StringNotEquals", "aws:username", []any{"someone-else"}},
	{"StringLike", "aws:username", []any{"s3*"}},
	{"StringLike", "aws:username", []any{"nobody*", "x?"}},
	{"StringNotLike", "aws:userid", []any{"nobody*"}},
	{"StringEqualsIgnoreCase", "aws:username", []any{upperToken}},
	{"StringNotEqualsIgnoreCase", "aws:username", []any{userToken}},
	{"IpAddress", "aws:SourceIp", []any{"127.0.0.0/8", "::1/128"}},
	{"IpAddress", "aws:SourceIp", []any{"10.0.0.0/8"}},
	{"NotIpAddress", "aws:SourceIp", []any{"10.0.0.0/8"}},
	{"Bool", "aws:SecureTransport", []any{"false"}},
	{"Bool", "aws:SecureTransport", []any{"true"}},
	{"DateGreaterThan", "aws:CurrentTime", []any{"2020-01-01T00:00:00Z"}},
	{"DateLessThan", "aws:CurrentTime", []any{"2020-01-01T00:00:00Z"}},
	{"DateNotEquals", "aws:CurrentTime", []any{"2020-01-01T00:00:00Z"}},
	{"NumericGreaterThan", "aws:EpochTime", []any{1577836800}},
	{"NumericLessThan", "aws:EpochTime", []any{1577836800}},
	{"NumericNotEquals", "aws:EpochTime", []any{1577836800}},
	{"ForAnyValue:StringLike", "aws:username", []any{"s3*"}},
	{"ForAllValues:StringEquals", "aws:username", []any{userToken, "other"}},
	{"ForAllValues:StringNotEquals", "aws:username", []any{"other"}},
	{"StringEquals", "s3:signatureversion", []any{"AWS4-HMAC-SHA256"}},
	{"StringEqualsIfExists", "aws:username", []any{"someone-else"}},
	{"StringLikeIfExists", "aws:username", []any{"s3*"}},
	{"BoolIfExists", "aws:SecureTransport", []any{"false"}},
}

// Conditions on listing keys, only on statements whose one action is
// s3:ListBucket (MinIO refuses them with other actions).
var genListConds = []genCond{
	{"StringLike", "s3:prefix", []any{"a/*"}},
	{"StringLike", "s3:prefix", []any{"a/*", "b/*"}},
	{"StringLike", "s3:prefix", []any{""}},
	{"StringLike", "s3:prefix", []any{"*"}},
	{"StringLike", "s3:prefix", []any{"a?b/*"}},
	{"StringLike", "s3:prefix", []any{"${aws:username}/*"}},
	{"StringEquals", "s3:prefix", []any{"a/"}},
	{"StringEquals", "s3:prefix", []any{""}},
	{"StringNotLike", "s3:prefix", []any{"b/*"}},
	{"StringNotEquals", "s3:prefix", []any{"a/"}},
	{"StringEquals", "s3:delimiter", []any{"/"}},
	{"StringNotEquals", "s3:delimiter", []any{"/"}},
	{"NumericLessThanEquals", "s3:max-keys", []any{10}},
	{"NumericGreaterThan", "s3:max-keys", []any{100}},
	{"NumericGreaterThanIfExists", "s3:max-keys", []any{100}},
	{"NumericLessThanEqualsIfExists", "s3:max-keys", []any{10}},
	{"StringLikeIfExists", "s3:delimiter", []any{"/"}},
	{"Null", "s3:delimiter", []any{"true"}},
	{"Null", "s3:max-keys", []any{"false"}},
}

// genStmt is a statement before rendering.
type genStmt struct {
	sid         string
	deny        bool
	actions     []string // canonical spelling
	notAction   bool     // only exact action names
	mixedCase   bool     // write the actions in another case
	resources   []string
	notResource bool
	conds       []genCond
}

type genPolicy struct {
	stmts []genStmt
	lone  bool // write a one-statement policy as a lone object
}

// generateCorpus draws the corpus from a fixed seed.
func generateCorpus() []diffCase {
	rng := rand.New(rand.NewPCG(0x5eed, 2026))
	var cases []diffCase
	for len(cases) < diffCases {
		p := genRandomPolicy(rng)
		for range 3 + rng.IntN(4) {
			req := genRandomRequest(rng)
			c := diffCase{ID: len(cases) + 1, Policy: p.render(false, req), diffRequest: req}
			if rules := p.rewrites(req); len(rules) > 0 {
				c.MinIO, c.Rewrites = p.render(true, req), rules
			}
			cases = append(cases, c)
		}
	}
	return cases
}

func pick[T any](rng *rand.Rand, list []T) T { return list[rng.IntN(len(list))] }

func genRandomPolicy(rng *rand.Rand) genPolicy {
	var p genPolicy
	n := 1 + rng.IntN(3)
	for i := range n {
		s := genStmt{deny: i > 0 && rng.IntN(2) == 0}
		if rng.IntN(3) == 0 {
			s.sid = fmt.Sprintf("S%d", i)
		}
		if i == 0 && n > 1 && rng.IntN(2) == 0 {
			// A broad Allow for the statements after it to carve denials
			// from, so that explicit denials are common.
			s.actions = []string{pick(rng, genBroadActions)}
			s.mixedCase = rng.IntN(10) == 0
			s.resources = []string{pick(rng, genBroadResources)}
			p.stmts = append(p.stmts, s)
			continue
		}
		switch r := rng.IntN(10); {
		case r == 0:
			s.notAction = true
			s.actions = []string{pick(rng, genExactActions)}
		case r < 4:
			s.actions = []string{pick(rng, genWildActions)}
		default:
			for range 1 + rng.IntN(2) {
				if a := pick(rng, genExactActions); !slices.Contains(s.actions, a) {
					s.actions = append(s.actions, a)
				}
			}
		}
		s.mixedCase = !s.notAction && rng.IntN(10) == 0
		for range 1 + rng.IntN(2) {
			pool := genObjectResources
			if rng.IntN(3) == 0 {
				pool = genBucketResources
			}
			if r := pick(rng, pool); !slices.Contains(s.resources, r) {
				s.resources = append(s.resources, r)
			}
		}
		s.notResource = rng.IntN(10) == 0
		listOnly := !s.notAction && len(s.actions) == 1 && s.actions[0] == "s3:ListBucket"
		if listOnly && rng.IntN(2) == 0 {
			s.resources = []string{"arn:aws:s3:::" + bucketToken}
			s.conds = append(s.conds, pick(rng, genListConds))
		}
		if rng.IntN(4) == 0 {
			s.conds = append(s.conds, pick(rng, genGlobalConds))
		}
		p.stmts = append(p.stmts, s)
	}
	p.lone = n == 1 && rng.IntN(4) == 0
	return p
}

func genRandomRequest(rng *rand.Rand) diffRequest {
	ops := []string{"GetObject", "GetObject", "PutObject", "PutObject", "DeleteObject", "PutObjectTagging", "ListParts",
		"AbortMultipartUpload", "ListObjectsV2", "ListObjectsV2", "ListObjectsV2", "GetBucketLocation", "ListMultipartUploads"}
	r := diffRequest{Op: pick(rng, ops)}
	switch {
	case r.Op == "ListObjectsV2":
		prefix := pick(rng, genPrefixes)
		r.Prefix = &prefix
		if rng.IntN(3) == 0 {
			r.Delimiter = "/"
		}
		if rng.IntN(3) == 0 {
			r.MaxKeys = pick(rng, []int32{5, 10, 50, 500})
		}
	case !diffOps[r.Op].bucket:
		r.Key = pick(rng, genKeys)
	}
	return r
}

// hasKey reports whether the request's context holds a key: the global
// keys always, listing keys when the listing sends them.
func (r diffRequest) hasKey(key string) bool {
	switch key {
	case "s3:prefix":
		return r.Prefix != nil
	case "s3:delimiter":
		return r.Delimiter != ""
	case "s3:max-keys":
		return r.MaxKeys != 0
	}
	return true
}

// rewrites lists the rules render(true, req) applies for this request.
func (p genPolicy) rewrites(req diffRequest) []string {
	var rules []string
	add := func(rule string) {
		if !slices.Contains(rules, rule) {
			rules = append(rules, rule)
		}
	}
	if p.lone {
		add("lone-statement")
	}
	for _, s := range p.stmts {
		if s.mixedCase {
			add("action-case")
		}
		if s.notAction {
			add("not-action")
		}
		if slices.Contains(s.actions, "*") {
			add("star-action")
		}
		for _, c := range s.conds {
			if minioIfExists(c.op) {
				add("if-exists")
			}
		}
		if diffOps[req.Op].bucket && slices.Contains(s.resources, bucketObjectStar) {
			add("bucket-object")
		}
	}
	return rules
}

const bucketObjectStar = "arn:aws:s3:::" + bucketToken + "/*"

// minioIfExists reports whether the operator is an IfExists form MinIO
// refuses (it implements NumericGreaterThanIfExists alone).
func minioIfExists(op string) bool {
	return strings.HasSuffix(op, "IfExists") && op != "NumericGreaterThanIfExists"
}

// render writes the policy as IAM reads it or, with forMinIO, as the
// equivalent document MinIO accepts for this request.
func (p genPolicy) render(forMinIO bool, req diffRequest) json.RawMessage {
	var stmts []map[string]any
	for _, s := range p.stmts {
		m, keep := s.render(forMinIO, req)
		if keep {
			stmts = append(stmts, m)
		}
	}
	doc := map[string]any{"Version": VersionCurrent, "Statement": stmts}
	if stmts == nil {
		doc["Statement"] = []any{}
	}
	if p.lone && !forMinIO {
		doc["Statement"] = stmts[0]
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		panic(err) // maps of strings and ints always encode
	}
	return bytes.TrimSpace(b.Bytes())
}

// render writes one statement; keep is false when the MinIO rewrite
// leaves it without resources (it then matches nothing, in IAM too).
func (s genStmt) render(forMinIO bool, req diffRequest) (m map[string]any, keep bool) {
	m = map[string]any{"Effect": "Allow"}
	if s.deny {
		m["Effect"] = "Deny"
	}
	if s.sid != "" {
		m["Sid"] = s.sid
	}
	switch {
	case s.notAction && forMinIO:
		var complement []string
		for _, op := range diffOps {
			if !slices.Contains(s.actions, op.action) && !slices.Contains(complement, op.action) {
				complement = append(complement, op.action)
			}
		}
		slices.Sort(complement)
		m["Action"] = complement
	case s.notAction:
		m["NotAction"] = s.actions
	case s.mixedCase && !forMinIO:
		m["Action"] = mixCase(s.actions)
	case forMinIO && slices.Contains(s.actions, "*"):
		m["Action"] = []string{"s3:*"} // every action probed is an s3: one
	default:
		m["Action"] = s.actions
	}
	resources := s.resources
	if forMinIO && diffOps[req.Op].bucket {
		resources = slices.DeleteFunc(slices.Clone(resources), func(r string) bool { return r == bucketObjectStar })
	}
	switch {
	case s.notResource && len(resources) == 0:
		m["NotResource"] = []string{"arn:aws:s3:::" + otherBucket + "/never"}
	case s.notResource:
		m["NotResource"] = resources
	case len(resources) == 0:
		return nil, false
	default:
		m["Resource"] = resources
	}
	if conds := s.renderConds(forMinIO, req); len(conds) > 0 {
		m["Condition"] = conds
	}
	return m, true
}

func (s genStmt) renderConds(forMinIO bool, req diffRequest) map[string]map[string]any {
	conds := map[string]map[string]any{}
	for _, c := range s.conds {
		op := c.op
		if forMinIO && minioIfExists(op) {
			if !req.hasKey(c.key) {
				continue // IfExists holds for a missing key
			}
			op = strings.TrimSuffix(op, "IfExists")
		}
		if conds[op] == nil {
			conds[op] = map[string]any{}
		}
		conds[op][c.key] = c.values
	}
	return conds
}

// mixCase writes action names in a case MinIO rejects and IAM accepts.
func mixCase(actions []string) []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		if i%2 == 0 {
			out[i] = strings.ToUpper(a)
		} else {
			out[i] = strings.ToLower(a)
		}
	}
	return out
}

// marshalCorpus writes one case per line, for readable diffs.
func marshalCorpus(cases []diffCase) []byte {
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, c := range cases {
		line, err := json.Marshal(c)
		if err != nil {
			panic(err)
		}
		b.Write(line)
		if i < len(cases)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return b.Bytes()
}

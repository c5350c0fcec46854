package policy

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
)

// coverage is the part of a bucket an action is needed on: all of it, or
// the keys under some prefixes.
type coverage struct {
	whole    bool
	prefixes []string
}

func (c coverage) union(prefixes []string) coverage {
	if c.whole || prefixes == nil {
		return coverage{whole: true}
	}
	return coverage{prefixes: minimalPrefixes(slices.Concat(c.prefixes, prefixes))}
}

// key identifies a coverage, to group the actions that share one.
func (c coverage) key() string {
	if c.whole {
		return ""
	}
	return strings.Join(c.prefixes, "\x00")
}

// bucketPlan is everything the needs ask of one bucket.
type bucketPlan struct {
	bucket  map[string]coverage // bucket-level action → listing coverage
	objects map[string]coverage // object action → key coverage
}

// Generate returns the least-privilege policy for the needs: one
// statement for account-wide actions (s3:ListAllMyBuckets on "*"), then
// per bucket, in name order, a statement for bucket-level actions
// (resource arn:aws:s3:::b), a separate s3:ListBucket statement narrowed
// with a StringLike condition on s3:prefix when only some prefixes are
// listed, and object statements (resources arn:aws:s3:::b/prefix*) that
// group the actions needed on the same prefixes; then the KMS actions.
// Needs on one bucket are merged, so several features share statements
// without one granting another's actions on the other's prefixes. Output
// is stable for the same needs in any order. Needs with an empty bucket
// or an unknown feature add nothing; with nothing to allow, the document
// has no statement and does not Validate.
func Generate(needs []Need) Document {
	account := map[string]bool{}
	kms := map[string]map[string]bool{} // action → key ARNs
	buckets := map[string]*bucketPlan{}
	for _, n := range needs {
		if n.Bucket == "" || featureActions(n.Feature) == nil {
			continue
		}
		plan := buckets[n.Bucket]
		if plan == nil {
			plan = &bucketPlan{bucket: map[string]coverage{}, objects: map[string]coverage{}}
			buckets[n.Bucket] = plan
		}
		prefixes := minimalPrefixes(n.Prefixes)
		for _, fa := range featureActions(n.Feature) {
			switch fa.scope {
			case scopeAccount:
				account[fa.action] = true
			case scopeBucket:
				p := prefixes
				if fa.action != "s3:ListBucket" {
					p = nil // only listing can be narrowed by prefix
				}
				plan.bucket[fa.action] = plan.bucket[fa.action].union(p)
			case scopeObject:
				plan.objects[fa.action] = plan.objects[fa.action].union(prefixes)
			}
		}
		if n.KMS {
			for _, a := range kmsActions {
				if kms[a] == nil {
					kms[a] = map[string]bool{}
				}
				kms[a][cmp.Or(n.KMSKeyARN, "*")] = true
			}
		}
	}
	doc := Document{Version: VersionCurrent, Statement: []Statement{}}
	if len(account) > 0 {
		doc.Statement = append(doc.Statement, Statement{
			Sid: "ListAllMyBuckets", Effect: Allow,
			Action: slices.Sorted(maps.Keys(account)), Resource: []string{"*"},
		})
	}
	sids := sidNamer{}
	for _, b := range slices.Sorted(maps.Keys(buckets)) {
		doc.Statement = append(doc.Statement, buckets[b].statements(b, sids.base(b))...)
	}
	doc.Statement = append(doc.Statement, kmsStatements(kms)...)
	return doc
}

func (p *bucketPlan) statements(bucket, sid string) []Statement {
	var out []Statement
	var whole []string
	var list coverage
	for a, c := range p.bucket {
		if a == "s3:ListBucket" && !c.whole {
			list = c
			continue
		}
		whole = append(whole, a)
	}
	if len(whole) > 0 {
		slices.Sort(whole)
		out = append(out, Statement{Sid: sid + "Bucket", Effect: Allow, Action: whole, Resource: []string{bucketARN(bucket)}})
	}
	if len(list.prefixes) > 0 {
		var like []string
		for _, pre := range list.prefixes {
			like = append(like, escapeLiteral(pre)+"*")
		}
		out = append(out, Statement{
			Sid: sid + "List", Effect: Allow, Action: []string{"s3:ListBucket"}, Resource: []string{bucketARN(bucket)},
			Condition: Condition{"StringLike": {"s3:prefix": like}},
		})
	}
	groups := map[string][]string{} // coverage key → actions
	covers := map[string]coverage{}
	for a, c := range p.objects {
		groups[c.key()] = append(groups[c.key()], a)
		covers[c.key()] = c
	}
	keys := slices.Sorted(maps.Keys(groups))
	for i, k := range keys {
		c := covers[k]
		var prefixes []string
		if !c.whole {
			prefixes = c.prefixes
		}
		s := Statement{Sid: sid + "Objects", Effect: Allow, Action: slices.Sorted(slices.Values(groups[k])), Resource: objectARNs(bucket, prefixes)}
		if len(keys) > 1 {
			s.Sid += fmt.Sprint(i + 1)
		}
		out = append(out, s)
	}
	return out
}

// kmsStatements groups KMS actions by the keys they need; "*" covers
// every key.
func kmsStatements(kms map[string]map[string]bool) []Statement {
	groups := map[string][]string{} // joined keys → actions
	for a, keys := range kms {
		list := slices.Sorted(maps.Keys(keys))
		if keys["*"] {
			list = []string{"*"}
		}
		k := strings.Join(list, "\x00")
		groups[k] = append(groups[k], a)
	}
	var out []Statement
	for i, k := range slices.Sorted(maps.Keys(groups)) {
		s := Statement{Sid: "KMS", Effect: Allow, Action: slices.Sorted(slices.Values(groups[k])), Resource: strings.Split(k, "\x00")}
		if len(groups) > 1 {
			s.Sid += fmt.Sprint(i + 1)
		}
		out = append(out, s)
	}
	return out
}

// sidNamer derives statement IDs from bucket names. IAM allows only
// letters and digits in a Sid, so "my-data.bucket" becomes "MyDataBucket";
// a name that two buckets would share gets a number.
type sidNamer map[string]int

func (s sidNamer) base(bucket string) string {
	var b strings.Builder
	upper := true
	for _, r := range bucket {
		if !isAlnum(r) {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
		}
		upper = false
		b.WriteRune(r)
	}
	name := b.String()
	s[name]++
	if n := s[name]; n > 1 {
		name += fmt.Sprint(n)
	}
	return name
}

// AgentService is the service principal name of the s3bridge agent in
// trust policies: the agent presents it as aws:PrincipalServiceName when
// it evaluates a role's trust policy itself, before it assumes the role
// for an instance. It is not an AWS service, so on AWS, where STS sees
// the agent's own IAM identity, use TrustPolicyFor with that identity.
const AgentService = "s3bridge.amazonaws.com"

// TrustPolicy returns the trust policy of a feature role in the shape RDS
// documents: AgentService may call sts:AssumeRole only for the instance
// sourceArn (such as arn:s3bridge:db:REGION:ACCOUNT:db:NAME) in account
// sourceAccount, which guards against the confused deputy. An empty
// argument leaves its condition out.
func TrustPolicy(sourceArn, sourceAccount string) Document {
	return TrustPolicyFor(Principal{"Service": {AgentService}}, sourceArn, sourceAccount)
}

// TrustPolicyFor is TrustPolicy with another principal. Note that AWS
// sets aws:SourceArn and aws:SourceAccount only for service principals
// acting for a resource; for an IAM user or role principal, pass empty
// strings or AWS STS will refuse the role.
func TrustPolicyFor(principal Principal, sourceArn, sourceAccount string) Document {
	s := Statement{Sid: "AssumeRoleForInstance", Effect: Allow, Principal: principal, Action: []string{"sts:AssumeRole"}}
	eq := map[string][]string{}
	if sourceArn != "" {
		eq["aws:SourceArn"] = []string{sourceArn}
	}
	if sourceAccount != "" {
		eq["aws:SourceAccount"] = []string{sourceAccount}
	}
	if len(eq) > 0 {
		s.Condition = Condition{"StringEquals": eq}
	}
	return Document{Version: VersionCurrent, Statement: []Statement{s}}
}

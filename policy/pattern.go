package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokKind is what one element of a compiled pattern matches.
type tokKind uint8

const (
	tokLit  tokKind = iota // one given character
	tokOne                 // ? : any single character
	tokMany                // * : any run of characters, possibly empty
)

// tok is one element of a compiled pattern. noColon keeps a wildcard inside
// one colon-separated ARN segment.
type tok struct {
	kind    tokKind
	r       rune
	noColon bool
}

// pattern is a compiled wildcard pattern. Patterns are compiled rather than
// matched as text so that the escapes ${*}, ${?} and ${$} and substituted
// variable values can be literal characters that look like wildcards.
type pattern struct {
	toks []tok
	fold bool // ASCII case-insensitive, for action names
}

// matchMode says how wildcards in a pattern behave.
type matchMode uint8

const (
	// modePlain: * and ? match any characters (actions, StringLike).
	modePlain matchMode = iota
	// modeARN: AWS's ARN rule. In the first five segments (partition,
	// service, region, account) a wildcard stays inside its segment, except
	// a * that ends a segment, which may expand past colons. In the resource
	// segment, where colons are ordinary characters, * and ? match anything.
	modeARN
)

// resolver returns the value of a policy variable's key, or an error when
// the key is absent: an unresolved variable must never match silently.
type resolver func(key string) (string, error)

// compilePattern compiles text into a pattern. With vars set (documents of
// Version 2012-10-17) it expands ${key} from resolve and the escapes ${*},
// ${?} and ${$} into literal characters; otherwise "${" is plain text, as
// AWS treats it in older documents.
func compilePattern(text string, mode matchMode, vars bool, resolve resolver) (pattern, error) {
	var toks []tok
	for i := 0; i < len(text); {
		if vars && strings.HasPrefix(text[i:], "${") {
			end := strings.IndexByte(text[i:], '}')
			if end < 0 {
				return pattern{}, fmt.Errorf("policy variable at offset %d: missing closing brace", i)
			}
			val, err := expandVariable(text[i+2:i+end], resolve)
			if err != nil {
				return pattern{}, err
			}
			for _, r := range val {
				toks = append(toks, tok{kind: tokLit, r: r})
			}
			i += end + 1
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		switch r {
		case '*':
			toks = append(toks, tok{kind: tokMany})
		case '?':
			toks = append(toks, tok{kind: tokOne})
		default:
			toks = append(toks, tok{kind: tokLit, r: r})
		}
		i += size
	}
	if mode == modeARN {
		markSegments(toks)
	}
	return pattern{toks: toks}, nil
}

// markSegments applies the ARN rule to wildcards in the first five
// segments: ? never crosses a colon, * does only when it ends its segment.
func markSegments(toks []tok) {
	colons := 0
	for i := range toks {
		t := &toks[i]
		if colons >= 5 {
			return
		}
		switch t.kind {
		case tokLit:
			if t.r == ':' {
				colons++
			}
		case tokOne:
			t.noColon = true
		case tokMany:
			last := i+1 == len(toks) || (toks[i+1].kind == tokLit && toks[i+1].r == ':')
			t.noColon = !last
		}
	}
}

// expandVariable returns the text a ${...} body stands for: an escape, or
// the value of a key (with an optional default, "${key, 'default'}").
func expandVariable(body string, resolve resolver) (string, error) {
	switch body {
	case "*", "?", "$":
		return body, nil
	}
	key, def, hasDefault := splitDefault(body)
	if resolve == nil {
		return "", fmt.Errorf("policy variable ${%s}: no request context", body)
	}
	v, err := resolve(key)
	if err != nil && hasDefault {
		return def, nil
	}
	return v, err
}

// splitDefault splits "key, 'default'" into its parts.
func splitDefault(body string) (key, def string, ok bool) {
	k, rest, found := strings.Cut(body, ",")
	if !found {
		return strings.TrimSpace(body), "", false
	}
	rest = strings.TrimSpace(rest)
	if len(rest) < 2 || rest[0] != '\'' || rest[len(rest)-1] != '\'' {
		return strings.TrimSpace(body), "", false
	}
	return strings.TrimSpace(k), rest[1 : len(rest)-1], true
}

// variables returns the keys of the ${...} variables in text, for
// validation; escapes are skipped and malformed variables reported.
func variables(text string) ([]string, error) {
	var keys []string
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], "${")
		if j < 0 {
			break
		}
		i += j
		end := strings.IndexByte(text[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("policy variable at offset %d: missing closing brace", i)
		}
		body := text[i+2 : i+end]
		switch body {
		case "*", "?", "$":
		default:
			key, _, _ := splitDefault(body)
			keys = append(keys, key)
		}
		i += end + 1
	}
	return keys, nil
}

// escapeLiteral writes s so that a pattern compiled from it (with
// variables on) matches s literally.
func escapeLiteral(s string) string {
	if !strings.ContainsAny(s, "*?$") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '$':
			b.WriteString("${")
			b.WriteRune(r)
			b.WriteByte('}')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// match reports whether the whole of s matches p. It walks the set of
// positions of s reachable after each token, so it runs in
// O(len(pattern) × len(s)) with no backtracking blow-up.
func (p pattern) match(s string) bool {
	rs := []rune(s)
	cur := make([]bool, len(rs)+1)
	next := make([]bool, len(rs)+1)
	cur[0] = true
	for _, t := range p.toks {
		clear(next)
		alive := false
		switch t.kind {
		case tokLit:
			for i, r := range rs {
				if cur[i] && p.eq(r, t.r) {
					next[i+1] = true
					alive = true
				}
			}
		case tokOne:
			for i, r := range rs {
				if cur[i] && !(t.noColon && r == ':') {
					next[i+1] = true
					alive = true
				}
			}
		case tokMany:
			reach := false
			for i := range next {
				reach = reach || cur[i]
				next[i] = reach
				alive = alive || reach
				if reach && i < len(rs) && t.noColon && rs[i] == ':' {
					reach = false
				}
			}
		}
		if !alive {
			return false
		}
		cur, next = next, cur
	}
	return cur[len(rs)]
}

func (p pattern) eq(a, b rune) bool {
	if a == b {
		return true
	}
	return p.fold && a < utf8.RuneSelf && b < utf8.RuneSelf && lowerASCII(a) == lowerASCII(b)
}

func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// matchAction reports whether an action pattern from a policy matches a
// request's action. Action names are case-insensitive and take no
// variables.
func matchAction(pat, action string) bool {
	p, _ := compilePattern(pat, modePlain, false, nil) // cannot fail without variables
	p.fold = true
	return p.match(action)
}

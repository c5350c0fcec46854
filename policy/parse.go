package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Parse reads and validates a policy document. name is how errors and
// decisions refer to the document, usually its file name. Every error is an
// *Error giving the line, column and field, such as
//
//	policy.json line 7 column 12: Statement[1].Effect: want "Allow" or "Deny", got "allow"
//
// Statement may be one object or a list; Action, Resource and condition
// values may be one string or a list; condition values may be JSON numbers
// or booleans. Unknown fields, duplicate fields, unknown condition
// operators and unknown condition keys are errors.
func Parse(name string, data []byte) (Document, error) {
	// encoding/json finds syntax errors; the scanner below then only ever
	// sees well-formed JSON and keeps the offsets encoding/json throws away.
	var syntax any
	if err := json.Unmarshal(data, &syntax); err != nil {
		e := &Error{Doc: name, Err: err}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			e.Line, e.Column = lineColumn(data, int(se.Offset)-1)
		}
		return Document{}, e
	}
	sc := scanner{data: data}
	root, err := sc.value()
	if err != nil {
		return Document{}, &Error{Doc: name, Err: err}
	}
	b := builder{pos: map[string]int{}}
	doc, err := b.document(root)
	if err == nil {
		err = doc.Validate()
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return Document{}, &Error{Doc: name, Err: err}
		}
		e.Doc = name
		e.Line, e.Column = lineColumn(data, b.offset(e.Field))
		return Document{}, e
	}
	return doc, nil
}

// lineColumn turns a byte offset into a 1-based line and a 1-based column
// counted in characters.
func lineColumn(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	line, start := 1, 0
	for i := range off {
		if data[i] == '\n' {
			line++
			start = i + 1
		}
	}
	return line, utf8.RuneCount(data[start:off]) + 1
}

// node is a JSON value with the offset where it starts.
type node struct {
	kind  byte   // '{' object, '[' array, '"' string, '0' number, 't' bool, 'n' null
	off   int    // offset of the value's first byte
	text  string // string value; text of a number or boolean
	names []string
	offs  []int // offsets of object member names
	vals  []*node
}

func (n *node) describe() string {
	switch n.kind {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't':
		return "a boolean"
	}
	return "null"
}

// scanner reads JSON already known to be well formed into nodes.
type scanner struct {
	data []byte
	i    int
}

func (s *scanner) skip() {
	for s.i < len(s.data) && strings.IndexByte(" \t\r\n", s.data[s.i]) >= 0 {
		s.i++
	}
}

func (s *scanner) value() (*node, error) {
	s.skip()
	if s.i >= len(s.data) {
		return nil, errors.New("unexpected end of JSON")
	}
	n := &node{off: s.i}
	switch c := s.data[s.i]; {
	case c == '{' || c == '[':
		return n, s.container(n, c)
	case c == '"':
		n.kind = '"'
		str, err := s.str()
		n.text = str
		return n, err
	case c == 't' || c == 'f' || c == 'n':
		switch c {
		case 't':
			n.kind, n.text = 't', "true"
		case 'f':
			n.kind, n.text = 't', "false"
		default:
			n.kind, n.text = 'n', "null"
		}
		s.i += len(n.text)
		return n, nil
	default:
		n.kind = '0'
		start := s.i
		for s.i < len(s.data) && strings.IndexByte("+-.0123456789eE", s.data[s.i]) >= 0 {
			s.i++
		}
		n.text = string(s.data[start:s.i])
		return n, nil
	}
}

// container reads an object or a list.
func (s *scanner) container(n *node, open byte) error {
	n.kind = open
	closer := byte('}')
	if open == '[' {
		closer = ']'
	}
	s.i++
	for {
		s.skip()
		if s.i >= len(s.data) {
			return errors.New("unexpected end of JSON")
		}
		switch s.data[s.i] {
		case closer:
			s.i++
			return nil
		case ',':
			s.i++
			continue
		}
		if open == '{' {
			n.offs = append(n.offs, s.i)
			name, err := s.str()
			if err != nil {
				return err
			}
			n.names = append(n.names, name)
			s.skip()
			s.i++ // the colon
		}
		v, err := s.value()
		if err != nil {
			return err
		}
		n.vals = append(n.vals, v)
	}
}

// str reads a string, letting encoding/json undo the escapes.
func (s *scanner) str() (string, error) {
	start := s.i
	s.i++
	for s.i < len(s.data) && s.data[s.i] != '"' {
		if s.data[s.i] == '\\' {
			s.i++
		}
		s.i++
	}
	s.i++
	if s.i > len(s.data) {
		return "", errors.New("unexpected end of JSON in a string")
	}
	var out string
	if err := json.Unmarshal(s.data[start:s.i], &out); err != nil {
		return "", fmt.Errorf("string at offset %d: %w", start, err)
	}
	return out, nil
}

// builder turns nodes into a Document and remembers where each field's
// value starts, so that Validate's errors can be placed in the text.
type builder struct {
	pos map[string]int
}

// offset returns where a field starts, or where its nearest recorded
// parent starts.
func (b *builder) offset(field string) int {
	for field != "" {
		if off, ok := b.pos[field]; ok {
			return off
		}
		cut := strings.LastIndexAny(field, ".[")
		if cut < 0 {
			break
		}
		field = field[:cut]
	}
	return 0
}

func (b *builder) errAt(off int, field, format string, args ...any) *Error {
	b.pos[field] = off
	return fieldErr(field, format, args...)
}

// members walks an object's members, rejecting duplicates and names not
// in known, and calls f with each member's path and value. A member's
// field is placed at its value, or with atName at its name (for condition
// operators and keys, whose names are what can be wrong).
func (b *builder) members(n *node, path string, known []string, atName bool, f func(name, field string, v *node) error) error {
	seen := map[string]bool{}
	for i, name := range n.names {
		field := name
		if path != "" {
			field = path + "." + name
		}
		if known != nil && !slices.Contains(known, name) {
			hint := ""
			for _, k := range known {
				if strings.EqualFold(k, name) {
					hint = fmt.Sprintf(" (field names are case-sensitive: did you mean %q?)", k)
				}
			}
			return b.errAt(n.offs[i], field, "unknown field %q%s; want one of %s", name, hint, strings.Join(known, ", "))
		}
		if seen[name] {
			return b.errAt(n.offs[i], field, "duplicate field %q", name)
		}
		seen[name] = true
		b.pos[field] = n.vals[i].off
		if atName {
			b.pos[field] = n.offs[i]
		}
		if err := f(name, field, n.vals[i]); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) document(n *node) (Document, error) {
	var d Document
	if n.kind != '{' {
		return d, b.errAt(n.off, "", "a policy document is a JSON object, got %s", n.describe())
	}
	err := b.members(n, "", []string{"Version", "Id", "Statement"}, false, func(name, field string, v *node) error {
		switch name {
		case "Version":
			return b.str(v, field, &d.Version)
		case "Id":
			return b.str(v, field, &d.ID)
		}
		return b.statements(v, &d.Statement)
	})
	if err == nil && !slices.Contains(n.names, "Statement") {
		err = b.errAt(n.off, "Statement", "missing")
	}
	return d, err
}

// statements reads Statement, which IAM accepts as one object or a list.
func (b *builder) statements(n *node, out *[]Statement) error {
	elems := []*node{n}
	if n.kind == '[' {
		elems = n.vals
	}
	for i, e := range elems {
		field := fmt.Sprintf("Statement[%d]", i)
		b.pos[field] = e.off
		if e.kind != '{' {
			return b.errAt(e.off, field, "want a statement object, got %s", e.describe())
		}
		s, err := b.statement(e, field)
		if err != nil {
			return err
		}
		*out = append(*out, s)
	}
	if n.kind == '[' && len(elems) == 0 {
		*out = []Statement{}
	}
	return nil
}

var statementFields = []string{"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}

func (b *builder) statement(n *node, path string) (Statement, error) {
	var s Statement
	err := b.members(n, path, statementFields, false, func(name, field string, v *node) error {
		switch name {
		case "Sid":
			return b.str(v, field, &s.Sid)
		case "Effect":
			var e string
			err := b.str(v, field, &e)
			s.Effect = Effect(e)
			return err
		case "Principal":
			return b.principal(v, field, &s.Principal)
		case "NotPrincipal":
			return b.principal(v, field, &s.NotPrincipal)
		case "Condition":
			return b.condition(v, field, &s.Condition)
		}
		lists := map[string]*[]string{"Action": &s.Action, "NotAction": &s.NotAction, "Resource": &s.Resource, "NotResource": &s.NotResource}
		return b.list(v, field, lists[name], false)
	})
	return s, err
}

func (b *builder) str(n *node, field string, out *string) error {
	if n.kind != '"' {
		return b.errAt(n.off, field, "want a string, got %s", n.describe())
	}
	*out = n.text
	return nil
}

// list reads one string or a list of strings; with scalars set, numbers
// and booleans count as their text (condition values).
func (b *builder) list(n *node, field string, out *[]string, scalars bool) error {
	ok := func(e *node) bool { return e.kind == '"' || scalars && (e.kind == '0' || e.kind == 't') }
	want := "a string or a list of strings"
	if scalars {
		want = "a string, number or boolean, or a list of them"
	}
	if n.kind != '[' {
		if !ok(n) {
			return b.errAt(n.off, field, "want %s, got %s", want, n.describe())
		}
		*out = []string{n.text}
		b.pos[field+"[0]"] = n.off
		return nil
	}
	*out = make([]string, 0, len(n.vals))
	for i, e := range n.vals {
		ef := fmt.Sprintf("%s[%d]", field, i)
		b.pos[ef] = e.off
		if !ok(e) {
			return b.errAt(e.off, ef, "want %s, got %s", want, e.describe())
		}
		*out = append(*out, e.text)
	}
	return nil
}

func (b *builder) principal(n *node, field string, out *Principal) error {
	if n.kind == '"' {
		if n.text != "*" {
			return b.errAt(n.off, field, "want \"*\" or an object such as {\"Service\": \"…\"}, got %q", n.text)
		}
		*out = Principal{"AWS": {"*"}}
		return nil
	}
	if n.kind != '{' {
		return b.errAt(n.off, field, "want \"*\" or an object, got %s", n.describe())
	}
	*out = Principal{}
	return b.members(n, field, nil, false, func(name, f string, v *node) error {
		var ids []string
		err := b.list(v, f, &ids, false)
		(*out)[name] = ids
		return err
	})
}

func (b *builder) condition(n *node, field string, out *Condition) error {
	if n.kind != '{' {
		return b.errAt(n.off, field, "want an object of condition operators, got %s", n.describe())
	}
	if len(n.names) == 0 {
		return nil // an empty Condition is no condition; keep nil, as Marshal does
	}
	*out = Condition{}
	return b.members(n, field, nil, true, func(op, opField string, v *node) error {
		if v.kind != '{' {
			return b.errAt(v.off, opField, "want an object of condition keys, got %s", v.describe())
		}
		block := map[string][]string{}
		(*out)[op] = block
		return b.members(v, opField, nil, true, func(key, keyField string, kv *node) error {
			var vals []string
			err := b.list(kv, keyField, &vals, true)
			block[key] = vals
			return err
		})
	})
}

package format

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// xmlReader decodes XML with Aurora's LOAD XML semantics, streamed with
// encoding/xml: every element named like Options.RowsIdentifiedBy, at any
// depth, is a row, in any of the three shapes (mixed freely):
//
//	<row col1="v" col2="v"/>
//	<row><col1>v</col1><col2>v</col2></row>
//	<row><field name="col1">v</field></row>   (mysqldump --xml)
//
// A field with xsi:nil="true", or absent from a row, is Null; an empty
// element is the empty string. The text of a field element includes the
// text of elements nested in it. Namespace declarations on the row are not
// fields.
type xmlReader struct {
	dec    *xml.Decoder
	src    *capReader
	row    string
	cols   []string
	index  map[string]int
	vals   []Value
	text   []byte
	line   int
	ignore int
	err    error
}

const xsiNS = "http://www.w3.org/2001/XMLSchema-instance"

func newXMLReader(r io.Reader, o Options) (*xmlReader, error) {
	row := strings.TrimSpace(cmp.Or(o.RowsIdentifiedBy, "<row>"))
	row = strings.TrimSuffix(strings.TrimPrefix(row, "<"), ">")
	if k := strings.LastIndexByte(row, ':'); k >= 0 {
		row = row[k+1:] // rows are matched by local name, whatever the prefix
	}
	if row == "" || strings.ContainsAny(row, "<> \t\n/") {
		return nil, fmt.Errorf("rows identified by %q: not an element name", o.RowsIdentifiedBy)
	}
	src := &capReader{r: r, max: int64(o.MaxRecordBytes) + windowSlack}
	br := bufio.NewReaderSize(src, 64<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, bom) {
		_, _ = br.Discard(3) // encoding/xml rejects a byte order mark
	}
	dec := xml.NewDecoder(br)
	transcoded := o.Charset != ""
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		if transcoded {
			return in, nil // NewReader already converted Options.Charset
		}
		return Transcode(in, label)
	}
	return &xmlReader{dec: dec, src: src, row: row, index: map[string]int{}, ignore: o.IgnoreLines, line: 1}, nil
}

func (x *xmlReader) Columns() []string { return x.cols }
func (x *xmlReader) Line() int         { return x.line }

func (x *xmlReader) Next() ([]Value, error) {
	for ; x.ignore > 0; x.ignore-- {
		if _, err := x.next(); err != nil {
			return nil, err
		}
	}
	return x.next()
}

func (x *xmlReader) next() ([]Value, error) {
	if x.err != nil {
		return nil, x.err
	}
	x.src.reset()
	for {
		line, _ := x.dec.InputPos()
		tok, err := x.dec.Token()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, x.fatal(err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == x.row {
			x.line = line
			return x.readRow(se)
		}
	}
}

// readRow reads the fields of a row up to its end tag.
func (x *xmlReader) readRow(se xml.StartElement) ([]Value, error) {
	x.vals = x.vals[:0]
	for range x.cols {
		x.vals = append(x.vals, Value{Null: true})
	}
	for _, a := range se.Attr {
		if isNamespaceAttr(a) || isXSI(a.Name) {
			continue
		}
		if err := x.set(a.Name.Local, Value{S: a.Value}); err != nil {
			return nil, err
		}
	}
	for {
		tok, err := x.dec.Token()
		if err != nil {
			return nil, x.fatal(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return x.vals, nil
		case xml.StartElement:
			if err := x.readField(t); err != nil {
				return nil, err
			}
		}
	}
}

// readField reads one field element: <col>v</col> or <field name="col">.
func (x *xmlReader) readField(t xml.StartElement) error {
	name, null := t.Name.Local, false
	for _, a := range t.Attr {
		switch {
		case t.Name.Local == "field" && a.Name.Space == "" && a.Name.Local == "name":
			name = a.Value
		case isXSI(a.Name) && a.Name.Local == "nil":
			null = strings.TrimSpace(a.Value) == "true" || strings.TrimSpace(a.Value) == "1"
		}
	}
	x.text = x.text[:0]
	for depth := 1; depth > 0; {
		tok, err := x.dec.Token()
		if err != nil {
			return x.fatal(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			x.text = append(x.text, t...)
		}
	}
	if null {
		return x.set(name, Value{Null: true})
	}
	return x.set(name, Value{S: string(x.text)})
}

// set stores the value of the named field, adding the column on first sight.
func (x *xmlReader) set(name string, v Value) error {
	i, ok := x.index[name]
	if !ok {
		if len(x.cols) >= MaxColumns {
			x.err = &Error{Line: x.line, Field: name, Err: ErrTooManyColumns, Fatal: true}
			return x.err
		}
		i = len(x.cols)
		x.index[name] = i
		x.cols = append(x.cols, name)
		x.vals = append(x.vals, Value{Null: true})
	}
	x.vals[i] = v
	return nil
}

// fatal makes a decoder error sticky: encoding/xml cannot resume after one.
func (x *xmlReader) fatal(err error) error {
	line, col := x.dec.InputPos()
	var se *xml.SyntaxError
	switch {
	case errors.As(err, &se):
		if se.Line != line {
			col = 0
		}
		line, err = se.Line, fmt.Errorf("%w: %s", ErrSyntax, se.Msg)
		if se.Msg == "invalid UTF-8" {
			err = ErrInvalidUTF8
		}
	case errors.Is(err, ErrRecordTooLarge):
		err = fmt.Errorf("%w of %d bytes", ErrRecordTooLarge, x.src.max-windowSlack)
	}
	x.err = &Error{Line: line, Column: col, Err: err, Fatal: true}
	return x.err
}

func isNamespaceAttr(a xml.Attr) bool {
	return a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns")
}

func isXSI(n xml.Name) bool { return n.Space == xsiNS || n.Space == "xsi" }

// capReader fails once more than max bytes were read since the last reset,
// because encoding/xml would otherwise hold a giant text node in memory.
type capReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (c *capReader) reset() { c.n = 0 }

func (c *capReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, ErrRecordTooLarge
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

package format

import "testing"

func TestXML(t *testing.T) { runDecodeCases(t, "xml", xmlCases()) }

func xmlCases() []decodeCase {
	return []decodeCase{
		{name: "attributes", in: `<rows><row a="1" b="x"/><row b="y"/></rows>`, want: []string{`1: "1" "x"`, `1: NULL "y"`, "cols: a,b"}},
		{name: "elements", in: "<rows>\n<row>\n<a>1</a>\n<b>x &amp; y</b>\n</row>\n<row><b/></row></rows>",
			want: []string{`2: "1" "x & y"`, `6: NULL ""`, "cols: a,b"}},
		{name: "mysqldump fields", in: `<?xml version="1.0"?>
<resultset statement="select" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <row>
	<field name="id">1</field>
	<field name="note" xsi:nil="true" />
	<field name="e"></field>
  </row>
</resultset>`, want: []string{`3: "1" NULL ""`, "cols: id,note,e"}},
		{name: "rows identified by", in: `<list><item id="1"/><other id="9"/><x><item id="2"/></x></list>`, o: Options{RowsIdentifiedBy: "<item>"},
			want: []string{`1: "1"`, `1: "2"`, "cols: id"}},
		{name: "xsi prefix undeclared", in: `<row><a xsi:nil="true"/><b>2</b></row>`, want: []string{`1: NULL "2"`, "cols: a,b"}},
		{name: "mixed shapes", in: `<row a="1"><b>2</b><field name="c">3</field></row>`, want: []string{`1: "1" "2" "3"`, "cols: a,b,c"}},
		{name: "nested text", in: `<row><a>x<b>y</b>z</a></row>`, want: []string{`1: "xyz"`, "cols: a"}},
		{name: "CDATA and entities", in: `<row><a><![CDATA[<x>]]>&#233;</a></row>`, want: []string{`1: "<x>é"`, "cols: a"}},
		{name: "namespace declarations are not fields", in: `<row xmlns="urn:x" xmlns:p="urn:p" p:a="1"/>`, want: []string{`1: "1"`, "cols: a"}},
		{name: "ignore rows", in: `<r><row a="1"/><row a="2"/></r>`, o: Options{IgnoreLines: 1}, want: []string{`1: "2"`, "cols: a"}},
		{name: "declared latin1", in: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><row a=\"caf\xe9\"/>", want: []string{`1: "café"`, "cols: a"}},
		{name: "syntax error", in: "<rows>\n<row a=\"1\">\n</rows>", want: []string{`error: line 3 column 8: syntax error: element <row> closed by </rows>`}},
		{name: "invalid UTF-8", in: "<r>\n<row a=\"\xff\"/></r>", want: []string{`error: line 2 column 11: invalid UTF-8`}},
		{name: "empty", in: "", want: []string{"cols: "}},
	}
}

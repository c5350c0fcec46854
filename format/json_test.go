package format

import "testing"

func TestJSONLines(t *testing.T) { runDecodeCases(t, "jsonl", jsonLinesCases()) }

func jsonLinesCases() []decodeCase {
	return []decodeCase{
		{name: "basic", in: "{\"a\":1,\"b\":\"x\"}\n{\"b\":\"y\",\"a\":2}\n", want: []string{`1: "1" "x"`, `2: "2" "y"`, "cols: a,b"}},
		{name: "exact numbers", in: `{"n":12345678901234567890,"f":0.1,"e":-1.5E+300,"z":0,"m":-0}`,
			want: []string{`1: "12345678901234567890" "0.1" "-1.5E+300" "0" "-0"`, "cols: n,f,e,z,m"}},
		{name: "literals and nested", in: `{"t":true,"f":false,"n":null,"o":{"x": [1, 2, {"y": null}]},"arr":[ ]}`,
			want: []string{`1: "true" "false" NULL "{\"x\":[1,2,{\"y\":null}]}" "[]"`, "cols: t,f,n,o,arr"}},
		{name: "nested strings with brackets", in: `{"o":{"k":"]}\"{"}}`, want: []string{`1: "{\"k\":\"]}\\\"{\"}"`, "cols: o"}},
		{name: "missing and new keys", in: "{\"a\":1}\n{\"b\":2}\n{\"a\":3,\"c\":4}",
			want: []string{`1: "1"`, `2: NULL "2"`, `3: "3" NULL "4"`, "cols: a,b,c"}},
		{name: "blank lines", in: "\n  \n {\"a\":1} \r\n\r\n", want: []string{`3: "1"`, "cols: a"}},
		{name: "empty object", in: "{}\n{ }\n", want: []string{"1: ", "2: ", "cols: "}},
		{name: "string escapes", in: `{"s":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800x\u0041"}`,
			want: []string{`1: "a\"b\\c/d\b\f\n\r\té😀` + "\uFFFD" + `xA"`, "cols: s"}},
		{name: "escaped key", in: `{"a\u0062":1}`, want: []string{`1: "1"`, "cols: ab"}},
		{name: "duplicate key: last wins", in: `{"a":1,"a":2}`, want: []string{`1: "2"`, "cols: a"}},
		{name: "trailing comma", in: "{\"a\":1,}\n{\"a\":2}\n",
			want: []string{`error: line 1 column 8: syntax error: a string key was expected`, `2: "2"`, "cols: a"}},
		{name: "not an object", in: "[1]\n", want: []string{`error: line 1 column 1: syntax error: a JSON Lines record must be an object`, "cols: "}},
		{name: "data after the object", in: `{"a":1} x`, want: []string{`error: line 1 column 9: syntax error: data after the object`, "cols: a"}},
		{name: "invalid number", in: `{"a":01}`, want: []string{`error: line 1 column 6 (field "a"): syntax error: invalid number "01"`, "cols: a"}},
		{name: "invalid literal", in: `{"a":tru}`, want: []string{`error: line 1 column 6 (field "a"): syntax error: invalid literal (true, false or null expected)`, "cols: a"}},
		{name: "truncated", in: "{\"a\":nul\n{\"a\":\"x", want: []string{
			`error: line 1 column 9 (field "a"): syntax error: unexpected end of input`,
			`error: line 2 column 8 (field "a"): syntax error: unexpected end of input`, "cols: a"}},
		{name: "control character", in: "{\"a\":\"x\ty\"}", want: []string{`error: line 1 column 8 (field "a"): syntax error: control character in a string`, "cols: a"}},
		{name: "bad escape", in: `{"a":"\x"}`, want: []string{`error: line 1 column 7 (field "a"): syntax error: invalid escape \x`, "cols: a"}},
		{name: "invalid nested", in: `{"a":[1,]}`, want: []string{`error: line 1 column 9 (field "a"): syntax error: invalid character ']' looking for beginning of value`, "cols: a"}},
		{name: "invalid UTF-8", in: "{\"a\":\"\xff\"}\n{\"a\":\"\xc3\xa9\"}", want: []string{`error: line 1 column 7: invalid UTF-8`, `2: "é"`, "cols: a"}},
		{name: "ignore lines", in: "{\"a\":1}\n\n{\"a\":2}\n", o: Options{IgnoreLines: 1}, want: []string{`3: "2"`, "cols: a"}},
	}
}

func TestJSON(t *testing.T) { runDecodeCases(t, "json", jsonCases()) }

func jsonCases() []decodeCase {
	return []decodeCase{
		{name: "array", in: `[{"a":1},{"a":2,"b":[1]}]`, want: []string{`1: "1"`, `1: "2" "[1]"`, "cols: a,b"}},
		{name: "pretty", in: "[\n  {\"a\": 1},\n  {\"a\": 2,\n   \"b\": \"x\"}\n]\n", want: []string{`2: "1"`, `3: "2" "x"`, "cols: a,b"}},
		{name: "empty array", in: " [ ] ", want: []string{"cols: "}},
		{name: "empty input", in: "", want: []string{"cols: "}},
		{name: "object stream", in: "{\"a\":1} {\"a\":2}\n{\"a\":3}", want: []string{`1: "1"`, `1: "2"`, `2: "3"`, "cols: a"}},
		{name: "byte order mark", in: "\xef\xbb\xbf[{\"a\":1}]", want: []string{`1: "1"`, "cols: a"}},
		{name: "missing comma", in: `[{"a":1} {"a":2}]`, want: []string{`1: "1"`, `error: line 1 column 10: syntax error: '{' where ',' or ']' was expected`}},
		{name: "not objects", in: `[1]`, want: []string{`error: line 1 column 2: syntax error: '1' where an object or ']' was expected`}},
		{name: "trailing comma", in: `[{"a":1},]`, want: []string{`1: "1"`, `error: line 1 column 10: syntax error: ']' where an object was expected`}},
		{name: "not closed", in: "[{\"a\":1}\n", want: []string{`1: "1"`, `error: line 2 column 1: unexpected end of input: the array is not closed`}},
		{name: "truncated object", in: `[{"a":1`, want: []string{`error: line 1 column 8 (field "a"): syntax error: unexpected end of input`}},
		{name: "data after the array", in: "[]\nx", want: []string{`error: line 2 column 1: syntax error: 'x' where the end of the input was expected`}},
		{name: "invalid UTF-8 skips the element", in: "[{\"a\":\"\xff\"},\n{\"a\":\"b\"}]", want: []string{`error: line 1 column 8: invalid UTF-8`, `2: "b"`, "cols: a"}},
	}
}

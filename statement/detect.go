package statement

// Detect reports whether sql, the text of one query message as a client
// sends it (one statement, or several separated by semicolons), holds an
// Aurora S3 statement: one starting LOAD DATA|XML [FROM] S3, or one with
// INTO OUTFILE S3 anywhere. multi reports more than one statement. It
// lexes with the same rules as Parse, so it is never fooled by the words
// inside a string or a comment; a text the lexer refuses (an unterminated
// string, an executable comment) reports neither, and is left for the
// server to read. s3bridge proxy uses it to pick the queries it runs
// itself.
func Detect(sql string) (s3, multi bool) {
	toks, err := lex(sql)
	if err != nil {
		return false, false
	}
	p := &parser{src: sql, toks: toks}
	start := 0 // the index of the current statement's first token
	for i, t := range toks {
		switch {
		case t.kind == tokEOF:
		case p.isPunct(t, ";"):
			if toks[i+1].kind != tokEOF {
				multi = true
			}
			start = i + 1
		case i == start && p.isKeyword(t, "LOAD") && (p.isKeyword(toks[i+1], "DATA") || p.isKeyword(toks[i+1], "XML")):
			next := toks[min(i+2, len(toks)-1)]
			if p.isKeyword(next, "FROM") {
				next = toks[min(i+3, len(toks)-1)]
			}
			s3 = s3 || p.isKeyword(next, "S3")
		case p.isKeyword(t, "INTO") && i+2 < len(toks) && p.isKeyword(toks[i+1], "OUTFILE") && p.isKeyword(toks[i+2], "S3"):
			s3 = true
		}
	}
	return s3, multi
}

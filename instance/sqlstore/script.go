package sqlstore

import (
	"io/fs"
	"strings"
)

// Script splits SQL text into statements on "--;;" separators (function
// bodies hold semicolons) after replacing each {name} with vars[name].
func Script(text string, vars map[string]string) []string {
	for k, v := range vars {
		text = strings.ReplaceAll(text, "{"+k+"}", v)
	}
	var out []string
	for _, stmt := range strings.Split(text, "--;;") {
		if strings.TrimSpace(stmt) != "" {
			out = append(out, stmt)
		}
	}
	return out
}

// ScriptFiles joins the files of fsys matching pattern, in name order, as
// one script: a dialect's SQL interface keeps one file per capability.
func ScriptFiles(fsys fs.FS, pattern string) string {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		panic(err) // a malformed pattern is a programming error
	}
	var b strings.Builder
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			panic(err) // embedded at build time: cannot fail
		}
		b.WriteString("\n--;;\n")
		b.Write(data)
	}
	return b.String()
}

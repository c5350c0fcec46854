package connector

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Type inference follows Embulk's guess (SchemaGuess): each non-empty
// value gets a type, and a column the type its values agree on. Where
// Embulk widens boolean or timestamp mixed with long to long, a value
// of the column would then fail to load: such columns are strings here.

var (
	trueWords  = []string{"true", "True", "TRUE", "yes", "Yes", "YES", "t", "T", "y", "Y", "on", "On", "ON"}
	falseWords = []string{"false", "False", "FALSE", "no", "No", "NO", "f", "F", "n", "N", "off", "Off", "OFF"}
	doubleRE   = regexp.MustCompile(`^[+-]?(NaN|Infinity|([1-9]\d*|0)(\.\d+)([eE][+-]?\d+)?)$`)
)

// valueType is the type of one value, with a timestamp's format; "" for an
// empty value, which says nothing.
func valueType(s string) (typ, format string) {
	switch {
	case s == "":
		return "", ""
	case (s[0] == '{' || s[0] == '[') && json.Valid([]byte(s)):
		return TypeJSON, ""
	case slices.Contains(trueWords, s) || slices.Contains(falseWords, s):
		return TypeBoolean, ""
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil && strconv.FormatInt(v, 10) == strings.TrimPrefix(s, "+") {
		return TypeLong, ""
	}
	if doubleRE.MatchString(s) {
		return TypeDouble, ""
	}
	if f, ok := timestampFormat(s); ok {
		return TypeTimestamp, f
	}
	return TypeString, ""
}

// columnGuess gathers the types of one column's values.
type columnGuess struct {
	types   map[string]int
	formats map[string]int
}

func (g *columnGuess) add(s string) {
	t, f := valueType(s)
	if t == "" {
		return
	}
	if g.types == nil {
		g.types, g.formats = map[string]int{}, map[string]int{}
	}
	g.types[t]++
	if f != "" {
		g.formats[f]++
	}
}

// column is the column's type and timestamp format.
func (g *columnGuess) column() (typ, format string) {
	switch len(g.types) {
	case 0:
		return TypeString, ""
	case 1:
		for t := range g.types {
			if t != TypeTimestamp {
				return t, ""
			}
		}
		if f, ok := oneFormat(g.formats); ok {
			return TypeTimestamp, f
		}
		return TypeString, ""
	case 2:
		if g.types[TypeLong] > 0 && g.types[TypeDouble] > 0 {
			return TypeDouble, ""
		}
	}
	return TypeString, ""
}

// oneFormat is the format every value has. Month-first and day-first
// dates agree when some value can only be day-first (13/01/2014): the
// column is day-first.
func oneFormat(formats map[string]int) (string, bool) {
	if len(formats) == 1 {
		for f := range formats {
			return f, true
		}
	}
	if len(formats) == 2 {
		var md, dm string
		for f := range formats {
			switch {
			case strings.HasPrefix(f, "%m"):
				md = f
			case strings.HasPrefix(f, "%d"):
				dm = f
			}
		}
		// "%m/%d/%Y…" and "%d/%m/%Y…": the same delimiter and tail.
		if md != "" && dm != "" && md[2] == dm[2] && md[5:] == dm[5:] {
			return dm, true
		}
	}
	return "", false
}

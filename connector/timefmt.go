package connector

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Timestamps are described as Embulk describes them, with strftime
// directives (%Y-%m-%d %H:%M:%S), and parsed with Go layouts made from
// them. Fractions need no directive of their own to parse: ".%L" and
// ".%N" after the seconds only say how many digits a guess saw.

// directives maps the strftime directives this package reads to Go
// layout elements that parse one or two digits where strftime pads.
var directives = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "1", 'd': "2", 'e': "_2", 'H': "15", 'I': "3",
	'M': "4", 'S': "5", 'p': "PM", 'b': "Jan", 'h': "Jan", 'B': "January", 'a': "Mon", 'A': "Monday",
	'z': "Z0700", 'Z': "MST", 'T': "15:04:05", 'F': "2006-01-02", '%': "%",
}

// layout converts a strftime format into a Go layout for time.Parse.
func layout(f string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			if strings.ContainsRune("0123456789", rune(c)) || strings.HasPrefix(f[i:], "Jan") || strings.HasPrefix(f[i:], "Mon") ||
				strings.HasPrefix(f[i:], "MST") || strings.HasPrefix(f[i:], "PM") || strings.HasPrefix(f[i:], "pm") {
				return "", fmt.Errorf("timestamp format %q: literal %q would read as a Go layout element", f, f[i:])
			}
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(f) {
			return "", fmt.Errorf("timestamp format %q ends with a lone %%", f)
		}
		i++
		switch {
		case f[i] == 'L' || f[i] == 'N':
			// A fraction: Go parses one after the seconds by itself.
			s := b.String()
			if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, ",") {
				return "", fmt.Errorf("timestamp format %q: %%%c must follow the seconds and a dot", f, f[i])
			}
			b.Reset()
			b.WriteString(s[:len(s)-1])
		case f[i] == ':' && i+1 < len(f) && f[i+1] == 'z':
			i++
			b.WriteString("Z07:00")
		default:
			el, ok := directives[f[i]]
			if !ok {
				return "", fmt.Errorf("timestamp format %q: %%%c is not supported", f, f[i])
			}
			b.WriteString(el)
		}
	}
	return b.String(), nil
}

// zone loads an IANA zone; "" is UTC. Abbreviations like PST are refused:
// they are ambiguous.
func zone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if !strings.Contains(name, "/") && strings.ToUpper(name) == name {
		return nil, fmt.Errorf("time zone %q: use an IANA name such as America/Los_Angeles, not an abbreviation", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", name, err)
	}
	return loc, nil
}

// timeParser parses one column's timestamps.
type timeParser struct {
	layouts []string
	loc     *time.Location
}

func newTimeParser(format, tz string) (*timeParser, error) {
	l, err := layout(format)
	if err != nil {
		return nil, err
	}
	loc, err := zone(tz)
	if err != nil {
		return nil, err
	}
	p := &timeParser{layouts: []string{l}, loc: loc}
	// %z reads +0900 and Z; +09 and +09:00 are read too, as Embulk does.
	if strings.Contains(l, "Z0700") {
		p.layouts = append(p.layouts, strings.Replace(l, "Z0700", "Z07:00", 1), strings.Replace(l, "Z0700", "Z07", 1))
	}
	return p, nil
}

func (p *timeParser) parse(s string) (time.Time, error) {
	var first error
	for _, l := range p.layouts {
		t, err := time.ParseInLocation(l, s, p.loc)
		if err == nil {
			return t, nil
		}
		if first == nil {
			first = err
		}
	}
	return time.Time{}, first
}

// isoLike matches year-first dates with an optional time and zone.
var isoLike = regexp.MustCompile(`^(\d{4})([-/.])(\d{1,2})([-/.])(\d{1,2})(?:([ T_])(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?( ?)(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?)?$`)

// dayMonth matches 01/02/2006 (US) or 13/01/2006 (day first), with an
// optional time.
var dayMonth = regexp.MustCompile(`^(\d{1,2})([/.-])(\d{1,2})([/.-])(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$`)

// fixedFormats are formats tried as they are.
var fixedFormats = []string{
	"%a, %d %b %Y %H:%M:%S %z", // RFC 2822
	"%d/%b/%Y:%H:%M:%S %z",     // Apache's common log format
	"%a %b %e %H:%M:%S %Y",     // asctime
}

// timestampFormat returns the strftime format of s when s is a timestamp,
// and for a month-or-day-first date whether the day could come first.
func timestampFormat(s string) (string, bool) {
	if m := isoLike.FindStringSubmatch(s); m != nil {
		if m[2] != m[4] {
			return "", false
		}
		f := "%Y" + m[2] + "%m" + m[4] + "%d"
		if m[6] != "" {
			f += m[6] + "%H:%M"
			if m[9] != "" {
				f += ":%S"
			}
			if m[10] != "" {
				f += fraction(m[10])
			}
			f += m[11]
			switch z := m[12]; {
			case z == "":
			case z == "UTC" || z == "GMT":
				f += z
			case strings.Contains(z, ":"):
				f += "%:z"
			default:
				f += "%z"
			}
		}
		return checked(f, s)
	}
	if m := dayMonth.FindStringSubmatch(s); m != nil && m[2] == m[4] {
		tail := ""
		if m[6] != "" {
			tail = " %H:%M"
			if m[8] != "" {
				tail += ":%S"
			}
			if m[9] != "" {
				tail += fraction(m[9])
			}
		}
		if f, ok := checked("%m"+m[2]+"%d"+m[2]+"%Y"+tail, s); ok {
			return f, true
		}
		return checked("%d"+m[2]+"%m"+m[2]+"%Y"+tail, s)
	}
	for _, f := range fixedFormats {
		if g, ok := checked(f, s); ok {
			return g, true
		}
	}
	return "", false
}

func fraction(digits string) string {
	if len(digits) <= 3 {
		return ".%L"
	}
	return ".%N"
}

// checked returns f when s parses with it (a 13th month is no date).
func checked(f, s string) (string, bool) {
	p, err := newTimeParser(f, "")
	if err != nil {
		return "", false
	}
	if _, err := p.parse(s); err != nil {
		return "", false
	}
	return f, true
}

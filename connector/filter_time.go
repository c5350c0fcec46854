package connector

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// AddTime is the add_time filter's options (Treasure Data's
// embulk-filter-add_time): a time column appended to each row, from a
// value (FromValue) or from another column (FromColumn), exactly one.
type AddTime struct {
	ToColumn   *TimeColumn `yaml:"to_column,omitempty" json:"to_column,omitempty"`
	FromValue  *TimeValue  `yaml:"from_value,omitempty" json:"from_value,omitempty"`
	FromColumn *TimeColumn `yaml:"from_column,omitempty" json:"from_column,omitempty"`
}

// TimeColumn is add_time's to_column or from_column.
type TimeColumn struct {
	Name string `yaml:"name" json:"name"`
	// Type is to_column's: timestamp or long (a unix timestamp).
	Type string `yaml:"type,omitempty" json:"type,omitempty"`
	// UnixTimestampUnit is the unit of a long: sec (default), milli,
	// micro or nano.
	UnixTimestampUnit string `yaml:"unix_timestamp_unit,omitempty" json:"unix_timestamp_unit,omitempty"`
	// TimestampFormat and Timezone read from_column's strings (default
	// %Y-%m-%d %H:%M:%S.%N %z, and the parser's default zone).
	TimestampFormat string `yaml:"timestamp_format,omitempty" json:"timestamp_format,omitempty"`
	Timezone        string `yaml:"timezone,omitempty" json:"timezone,omitempty"`
}

// TimeValue is add_time's from_value.
type TimeValue struct {
	// Mode is fixed_time (default: Value for every row),
	// incremental_time (From for the first row, one second more for
	// each next one, back to From after To) or upload_time (when the
	// run started: one value for all its rows).
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
	// Value, From and To are timestamps in TimestampFormat (default
	// %Y-%m-%d %H:%M:%S %z; UTC and GMT are read as +0000), or integers:
	// unix timestamps in UnixTimestampUnit.
	Value             string `yaml:"value,omitempty" json:"value,omitempty"`
	From              string `yaml:"from,omitempty" json:"from,omitempty"`
	To                string `yaml:"to,omitempty" json:"to,omitempty"`
	TimestampFormat   string `yaml:"timestamp_format,omitempty" json:"timestamp_format,omitempty"`
	Timezone          string `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	UnixTimestampUnit string `yaml:"unix_timestamp_unit,omitempty" json:"unix_timestamp_unit,omitempty"`
}

// add_time's modes.
const (
	TimeFixed       = "fixed_time"
	TimeIncremental = "incremental_time"
	TimeUpload      = "upload_time"
)

const fromValueFormat = "%Y-%m-%d %H:%M:%S %z"

// unit is a unix timestamp's unit: sec (default), milli, micro or nano.
type unit string

func unitOf(name string) (unit, error) {
	switch u := unit(cmpOr(name, "sec")); u {
	case "sec", "milli", "micro", "nano":
		return u, nil
	}
	return "", fmt.Errorf("unix_timestamp_unit %q: want sec, milli, micro or nano", name)
}

// time is the unix timestamp n.
func (u unit) time(n int64) time.Time {
	switch u {
	case "milli":
		return time.UnixMilli(n).UTC()
	case "micro":
		return time.UnixMicro(n).UTC()
	case "nano":
		return time.Unix(0, n).UTC()
	}
	return time.Unix(n, 0).UTC()
}

// unix is t as a unix timestamp.
func (u unit) unix(t time.Time) int64 {
	switch u {
	case "milli":
		return t.UnixMilli()
	case "micro":
		return t.UnixMicro()
	case "nano":
		return t.UnixNano()
	}
	return t.Unix()
}

// addTimeStage appends the time column.
type addTimeStage struct {
	rename   int // the input column renamed (its name was to_column's), -1 for none
	toUnit   unit
	toLong   bool
	from     int // from_column's input column, -1 for from_value
	fromName string
	fromType string
	fromUnit unit
	fromTime *timeParser
	fromFmt  string
	mode     string
	fixed    time.Time // fixed_time, and incremental_time's from
	steps    int64     // incremental_time: the values from..to
	skip     bool
	// Set by bind: the run's start, and incremental_time's count.
	start time.Time
	n     *atomic.Int64
}

func (f Filter) addTimeStage(in []Column, p Parser) (stage, []Column, error) {
	to := f.ToColumn
	if to == nil || to.Name == "" {
		return nil, nil, errors.New("to_column with a name is required")
	}
	a := &addTimeStage{rename: columnIndexIn(in, to.Name), from: -1, skip: p.skipBad()}
	switch to.Type {
	case TypeTimestamp:
	case TypeLong:
		a.toLong = true
	default:
		return nil, nil, fmt.Errorf("to_column: type %q: want timestamp or long", to.Type)
	}
	if to.TimestampFormat != "" || to.Timezone != "" {
		return nil, nil, errors.New("to_column takes name, type and unix_timestamp_unit")
	}
	var err error
	if a.toUnit, err = unitOf(to.UnixTimestampUnit); err != nil {
		return nil, nil, fmt.Errorf("to_column: %w", err)
	}
	switch {
	case (f.FromValue == nil) == (f.FromColumn == nil):
		return nil, nil, errors.New("give one of from_value and from_column")
	case f.FromColumn != nil:
		err = a.fromColumn(*f.FromColumn, in, p)
	default:
		err = a.fromValue(*f.FromValue, p)
	}
	if err != nil {
		return nil, nil, err
	}
	out := make([]Column, len(in), len(in)+1)
	copy(out, in)
	if a.rename >= 0 {
		// As embulk-filter-add_time: the existing column becomes name_.
		name := to.Name
		for columnIndexIn(in, name) >= 0 {
			name += "_"
		}
		out[a.rename].Name = name
	}
	return a, append(out, Column{Name: to.Name, Type: to.Type}), nil
}

func (a *addTimeStage) fromColumn(fc TimeColumn, in []Column, p Parser) error {
	if fc.Type != "" {
		return errors.New("from_column takes name, unix_timestamp_unit, timestamp_format and timezone")
	}
	if a.from = columnIndexIn(in, fc.Name); a.from < 0 {
		return fmt.Errorf("from_column: %q is not a column", fc.Name)
	}
	a.fromName, a.fromType = fc.Name, in[a.from].Type
	switch a.fromType {
	case TypeTimestamp, TypeLong, TypeString, TypeJSON:
	default:
		return fmt.Errorf("from_column: %q is a %s: want a long, string, timestamp or json column", fc.Name, a.fromType)
	}
	var err error
	if a.fromUnit, err = unitOf(fc.UnixTimestampUnit); err != nil {
		return fmt.Errorf("from_column: %w", err)
	}
	a.fromFmt = cmpOr(fc.TimestampFormat, defaultTimestampFmt)
	a.fromTime, err = newTimeParser(a.fromFmt, cmpOr(fc.Timezone, p.DefaultTimezone))
	if err != nil {
		return fmt.Errorf("from_column: %w", err)
	}
	return nil
}

func (a *addTimeStage) fromValue(fv TimeValue, p Parser) error {
	a.mode = cmpOr(fv.Mode, TimeFixed)
	given := func(keys ...string) error {
		set := map[string]bool{"value": fv.Value != "", "from": fv.From != "", "to": fv.To != ""}
		for _, k := range []string{"value", "from", "to"} {
			want := strings.Contains(" "+strings.Join(keys, " ")+" ", " "+k+" ")
			if set[k] != want {
				if want {
					return fmt.Errorf("from_value: %s needs %s", a.mode, k)
				}
				return fmt.Errorf("from_value: %s takes no %s", a.mode, k)
			}
		}
		return nil
	}
	u, err := unitOf(fv.UnixTimestampUnit)
	if err != nil {
		return fmt.Errorf("from_value: %w", err)
	}
	tp, err := newTimeParser(cmpOr(fv.TimestampFormat, fromValueFormat), cmpOr(fv.Timezone, p.DefaultTimezone))
	if err != nil {
		return fmt.Errorf("from_value: %w", err)
	}
	at := func(key, s string) (time.Time, error) {
		t, err := valueTime(s, tp, u)
		if err != nil {
			return t, fmt.Errorf("from_value: %s: %w", key, err)
		}
		return t, nil
	}
	switch a.mode {
	case TimeFixed:
		if err := given("value"); err != nil {
			return err
		}
		a.fixed, err = at("value", fv.Value)
		return err
	case TimeIncremental:
		if err := given("from", "to"); err != nil {
			return err
		}
		if a.fixed, err = at("from", fv.From); err != nil {
			return err
		}
		last, err := at("to", fv.To)
		if err != nil {
			return err
		}
		if last.Before(a.fixed) {
			return errors.New("from_value: to is before from")
		}
		a.steps = int64(last.Sub(a.fixed)/time.Second) + 1
		return nil
	case TimeUpload:
		return given()
	}
	return fmt.Errorf("from_value: mode %q: want fixed_time, incremental_time or upload_time", fv.Mode)
}

var unixDigits = regexp.MustCompile(`^-?[0-9]+$`)

// valueTime reads from_value's value, from or to: an integer is a unix
// timestamp in unit u, anything else a timestamp in tp's format.
func valueTime(s string, tp *timeParser, u unit) (time.Time, error) {
	if unixDigits.MatchString(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: %w", s, err)
		}
		return u.time(n), nil
	}
	// Treasure Data's examples write "2016-01-01 00:00:00 UTC".
	t := s
	for _, z := range []string{" UTC", " GMT"} {
		if strings.HasSuffix(t, z) {
			t = strings.TrimSuffix(t, z) + " +0000"
		}
	}
	v, err := tp.parse(t)
	if err != nil {
		return v, fmt.Errorf("%q is not a timestamp in the format given: %w", s, err)
	}
	return v.UTC(), nil
}

func (a *addTimeStage) bind(run FilterRun) (stage, error) {
	b := *a
	b.n = new(atomic.Int64)
	b.start = run.Start.UTC()
	if a.mode == TimeUpload && b.start.IsZero() {
		return nil, errors.New("add_time: upload_time needs the run's start")
	}
	return &b, nil
}

func (a *addTimeStage) row(out, in []any, rc *rowContext) error {
	copy(out, in)
	var t time.Time
	switch {
	case a.from >= 0:
		v := in[a.from]
		if v == nil {
			out[len(in)] = nil
			return nil
		}
		var err error
		if t, err = a.columnTime(v); err != nil {
			return rc.bad(a.skip, a.fromName, fmt.Errorf("add_time from_column: %w", err))
		}
	case a.mode == TimeUpload:
		t = a.start
	case a.mode == TimeIncremental:
		t = a.fixed.Add(time.Duration((a.n.Add(1)-1)%a.steps) * time.Second)
	default:
		t = a.fixed
	}
	if a.toLong {
		out[len(in)] = number(strconv.FormatInt(a.toUnit.unix(t), 10))
	} else {
		out[len(in)] = t
	}
	return nil
}

// columnTime reads from_column's value: a timestamp as it is, a long as a
// unix timestamp, a string (or a JSON string) in the column's format, a
// JSON number as a unix timestamp.
func (a *addTimeStage) columnTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case time.Time:
		return v, nil
	case number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s is not a unix timestamp", v)
		}
		return a.fromUnit.time(n), nil
	case string:
		t, err := a.fromTime.parse(v)
		if err != nil {
			return t, fmt.Errorf("%q is not a timestamp in the format %s", v, a.fromFmt)
		}
		return t.UTC(), nil
	case json.RawMessage:
		doc, err := decodeJSON(v)
		if err != nil {
			return time.Time{}, err
		}
		switch d := doc.(type) {
		case string:
			return a.columnTime(d)
		case json.Number:
			return a.columnTime(number(d))
		}
		return time.Time{}, fmt.Errorf("%s is neither a timestamp string nor a unix timestamp", clip(v))
	}
	return time.Time{}, fmt.Errorf("%v is not a time", v)
}

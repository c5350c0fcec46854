// Package connector runs S3 import connectors, Treasure Data's S3 import
// (Embulk's embulk-input-s3) made exact: a YAML config (in: the bucket,
// prefix and auth, and the parser; out: the mode), a guess that fills the
// parser from a bounded sample, a preview, and runs that load each matching
// object exactly once into a table. The record of what was loaded is a
// ledger in the instance, written by the load's own transaction (see
// load.LoadObjects and bulk.History.Ledger), so a run that dies anywhere
// loads nothing twice and loses nothing. It imports no database driver:
// cmd/s3bridge wires the instance and the S3 client in.
package connector

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge"
	"go.yaml.in/yaml/v3"
)

// Config is a connector's configuration, in Treasure Data's and Embulk's
// shape: {in, out, exec, filters}.
type Config struct {
	In  In  `yaml:"in" json:"in"`
	Out Out `yaml:"out" json:"out"`
	// Exec is accepted for Embulk compatibility and ignored.
	Exec map[string]any `yaml:"exec,omitempty" json:"exec,omitempty"`
	// Filters change the parser's rows before they are loaded.
	Filters []Filter `yaml:"filters,omitempty" json:"filters,omitempty"`
}

// In is the input: where the objects are, how to reach them, how to read
// them.
type In struct {
	Type   string `yaml:"type" json:"type"`
	Bucket string `yaml:"bucket" json:"bucket"`
	// PathPrefix selects every key starting with it ("" is the whole
	// bucket); Path one object. One of them is required.
	PathPrefix *string `yaml:"path_prefix,omitempty" json:"path_prefix,omitempty"`
	Path       string  `yaml:"path,omitempty" json:"path,omitempty"`
	// PathMatchPattern is a regular expression a key must contain a
	// match of (RE2 syntax; Embulk's default ".*").
	PathMatchPattern string `yaml:"path_match_pattern,omitempty" json:"path_match_pattern,omitempty"`
	// TotalFileCountLimit caps the files of one run; the rest wait for
	// the next run (oldest first, so nothing falls out of the window).
	TotalFileCountLimit int `yaml:"total_file_count_limit,omitempty" json:"total_file_count_limit,omitempty"`
	// MinTaskSize is accepted for compatibility: runs read files one by
	// one in one transaction.
	MinTaskSize int64 `yaml:"min_task_size,omitempty" json:"min_task_size,omitempty"`
	// Incremental (default true) loads only objects the ledger lacks.
	Incremental *bool `yaml:"incremental,omitempty" json:"incremental,omitempty"`
	// IncrementalLookback is how far behind the newest LastModified in
	// the ledger a run still looks for objects it has not loaded (default
	// 24h): the longest an upload may take plus clock skew.
	IncrementalLookback string `yaml:"incremental_lookback,omitempty" json:"incremental_lookback,omitempty"`
	// OnChanged is what a run does with an object loaded before whose
	// ETag changed: reload (default), skip or error.
	OnChanged string `yaml:"on_changed,omitempty" json:"on_changed,omitempty"`
	// SkipGlacierObjects leaves out objects to load that are archived
	// (GLACIER, DEEP_ARCHIVE), logging each; without it such an object
	// fails the run, naming its key. Objects loaded before and archived
	// since don't count: only those a run would read.
	SkipGlacierObjects bool `yaml:"skip_glacier_objects,omitempty" json:"skip_glacier_objects,omitempty"`
	// LastPath and LastModifiedTime are starting points for users coming
	// from Treasure Data or Embulk: objects whose key sorts at or before
	// LastPath, or whose LastModified is at or before LastModifiedTime,
	// are taken as loaded by the previous system and never loaded. The
	// ledger does the rest; show reports both cursors from it.
	LastPath         string `yaml:"last_path,omitempty" json:"last_path,omitempty"`
	LastModifiedTime string `yaml:"last_modified_time,omitempty" json:"last_modified_time,omitempty"`
	// UseModifiedTime is accepted for Embulk compatibility: it chose
	// between Embulk's two cursors; the ledger replaces both.
	UseModifiedTime bool   `yaml:"use_modified_time,omitempty" json:"use_modified_time,omitempty"`
	Endpoint        string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	Region          string `yaml:"region,omitempty" json:"region,omitempty"`
	Auth            `yaml:",inline"`
	Retry           `yaml:",inline"`
	Decoders        []Decoder `yaml:"decoders,omitempty" json:"decoders,omitempty"`
	Parser          Parser    `yaml:"parser,omitempty" json:"parser,omitempty"`
}

// Auth is the in: section's auth_method and its keys.
type Auth struct {
	// Method is basic (default), anonymous, session, env, profile,
	// default or assume_role.
	Method          string `yaml:"auth_method,omitempty" json:"auth_method,omitempty"`
	AccessKeyID     Secret `yaml:"access_key_id,omitempty" json:"access_key_id,omitempty"`
	SecretAccessKey Secret `yaml:"secret_access_key,omitempty" json:"secret_access_key,omitempty"`
	SessionToken    Secret `yaml:"session_token,omitempty" json:"session_token,omitempty"`
	ProfileName     string `yaml:"profile_name,omitempty" json:"profile_name,omitempty"`
	// ProfileFile is the shared credentials file profile_name is read
	// from, on the host that runs the import (default: the SDK's).
	ProfileFile  string `yaml:"profile_file,omitempty" json:"profile_file,omitempty"`
	RoleARN      string `yaml:"role_arn,omitempty" json:"role_arn,omitempty"`
	AccountID    string `yaml:"account_id,omitempty" json:"account_id,omitempty"`
	RoleName     string `yaml:"role_name,omitempty" json:"role_name,omitempty"`
	ARNPartition string `yaml:"arn_partition,omitempty" json:"arn_partition,omitempty"`
	ExternalID   string `yaml:"external_id,omitempty" json:"external_id,omitempty"`
	SessionName  string `yaml:"session_name,omitempty" json:"session_name,omitempty"`
	// DurationInSeconds is how long assume_role's credentials last
	// (900 to 43200, STS's bounds; default STS's hour). They are renewed
	// before they expire, so it only bounds how long one lasts.
	DurationInSeconds int `yaml:"duration_in_seconds,omitempty" json:"duration_in_seconds,omitempty"`
}

// Decoder is one entry of in.decoders. Compression is detected by magic
// bytes whatever it says; it is kept so a guessed config reads as
// Embulk's.
type Decoder struct {
	Type string `yaml:"type" json:"type"`
}

// Parser says how objects are read: what guess writes.
type Parser struct {
	Type    string `yaml:"type,omitempty" json:"type,omitempty"` // csv, tsv, jsonl, json
	Charset string `yaml:"charset,omitempty" json:"charset,omitempty"`
	Newline string `yaml:"newline,omitempty" json:"newline,omitempty"` // CRLF, LF, CR
	// Delimiter, Quote and Escape are csv's and tsv's; a nil Quote is `"`
	// for csv and none for tsv, an empty one none; a nil Escape is the
	// quote itself (quotes are doubled, RFC 4180), an empty one none.
	Delimiter       string  `yaml:"delimiter,omitempty" json:"delimiter,omitempty"`
	Quote           *string `yaml:"quote,omitempty" json:"quote,omitempty"`
	Escape          *string `yaml:"escape,omitempty" json:"escape,omitempty"`
	SkipHeaderLines int     `yaml:"skip_header_lines,omitempty" json:"skip_header_lines,omitempty"`
	// NullString is the text of a NULL field; an unquoted empty field is
	// NULL too.
	NullString           *string `yaml:"null_string,omitempty" json:"null_string,omitempty"`
	TrimIfNotQuoted      bool    `yaml:"trim_if_not_quoted,omitempty" json:"trim_if_not_quoted,omitempty"`
	AllowExtraColumns    bool    `yaml:"allow_extra_columns,omitempty" json:"allow_extra_columns,omitempty"`
	AllowOptionalColumns bool    `yaml:"allow_optional_columns,omitempty" json:"allow_optional_columns,omitempty"`
	// StopOnInvalidRecord (default true) fails the run on a bad row;
	// false skips it and reports it in the task's log.
	StopOnInvalidRecord *bool `yaml:"stop_on_invalid_record,omitempty" json:"stop_on_invalid_record,omitempty"`
	// DefaultTimezone is the zone of timestamps without one (IANA name,
	// default UTC).
	DefaultTimezone string   `yaml:"default_timezone,omitempty" json:"default_timezone,omitempty"`
	Columns         []Column `yaml:"columns,omitempty" json:"columns,omitempty"`
}

// Column is one parsed column.
type Column struct {
	Name string `yaml:"name" json:"name"`
	// Type is boolean, long, double, string, timestamp or json.
	Type string `yaml:"type" json:"type"`
	// Format is a timestamp's strftime format (%Y-%m-%d %H:%M:%S).
	Format   string `yaml:"format,omitempty" json:"format,omitempty"`
	Timezone string `yaml:"timezone,omitempty" json:"timezone,omitempty"`
}

// Out is the output.
type Out struct {
	// Mode is append (default), replace or replace_on_new_data.
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
	// TimeColumn is Treasure Data's --time-column: a long or timestamp
	// column every row must have (a row without it is a bad row, named
	// by object, line and column), indexed by --auto-create-table.
	TimeColumn string `yaml:"time_column,omitempty" json:"time_column,omitempty"`
}

// Out modes.
const (
	ModeAppend           = "append"
	ModeReplace          = "replace"
	ModeReplaceOnNewData = "replace_on_new_data"
	DefaultLookback      = 24 * time.Hour
	onChangedReload      = "reload"
	onChangedSkip        = "skip"
	onChangedError       = "error"
	defaultTimestampFmt  = "%Y-%m-%d %H:%M:%S.%N %z"
)

// Column types.
const (
	TypeBoolean   = "boolean"
	TypeLong      = "long"
	TypeDouble    = "double"
	TypeString    = "string"
	TypeTimestamp = "timestamp"
	TypeJSON      = "json"
)

var columnTypes = []string{TypeBoolean, TypeLong, TypeDouble, TypeString, TypeTimestamp, TypeJSON}

// keys lists each section's keys; unsupported lists the Treasure Data
// and Embulk keys this version refuses rather than ignores, so a config
// never silently means less than it says.
var (
	topKeys    = []string{"in", "out", "exec", "filters"}
	inKeys     = []string{"type", "bucket", "path_prefix", "path", "path_match_pattern", "total_file_count_limit", "min_task_size", "incremental", "incremental_lookback", "on_changed", "skip_glacier_objects", "last_path", "last_modified_time", "use_modified_time", "endpoint", "region", "decoders", "parser", "maximum_retries", "initial_retry_interval_millis", "maximum_retry_interval_millis"}
	authKeys   = []string{"auth_method", "access_key_id", "secret_access_key", "session_token", "profile_name", "profile_file", "role_arn", "account_id", "role_name", "arn_partition", "external_id", "session_name", "duration_in_seconds"}
	parserKeys = []string{"type", "charset", "newline", "delimiter", "quote", "escape", "skip_header_lines", "null_string", "trim_if_not_quoted", "allow_extra_columns", "allow_optional_columns", "stop_on_invalid_record", "default_timezone", "columns"}
	columnKeys = []string{"name", "type", "format", "timezone"}
	outKeys    = []string{"mode", "type", "time_column"}
	// Not supported yet: each is part of issue 9's remaining work.
	unsupported = map[string]string{
		"http_proxy":          "use HTTPS_PROXY in the environment",
		"comment_line_marker": "comment lines are not skipped yet",
	}
	// methodKeys are the keys each auth_method takes.
	methodKeys = map[string][]string{
		"basic":       {"access_key_id", "secret_access_key"},
		"session":     {"access_key_id", "secret_access_key", "session_token"},
		"anonymous":   nil,
		"env":         nil,
		"default":     nil,
		"profile":     {"profile_name", "profile_file"},
		"assume_role": {"role_arn", "account_id", "role_name", "arn_partition", "external_id", "session_name", "duration_in_seconds"},
	}
)

// Parse reads a config. Unknown keys, keys of another auth_method and
// keys not supported yet are refused by name with their line.
func Parse(data []byte) (Config, error) {
	var c Config
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if len(root.Content) == 0 {
		return c, errors.New("config: it is empty")
	}
	doc := root.Content[0]
	if err := checkKeys(doc, "", topKeys); err != nil {
		return c, err
	}
	if err := checkFilterKeys(child(doc, "filters")); err != nil {
		return c, err
	}
	if in := child(doc, "in"); in != nil {
		if err := checkKeys(in, "in", append(slices.Clone(inKeys), authKeys...)); err != nil {
			return c, err
		}
		if err := checkAuthKeys(in); err != nil {
			return c, err
		}
		if p := child(in, "parser"); p != nil {
			if err := checkKeys(p, "in.parser", parserKeys); err != nil {
				return c, err
			}
			if cols := child(p, "columns"); cols != nil {
				for _, col := range cols.Content {
					if err := checkKeys(col, "in.parser.columns", columnKeys); err != nil {
						return c, err
					}
				}
			}
		}
	}
	if out := child(doc, "out"); out != nil {
		if err := checkKeys(out, "out", outKeys); err != nil {
			return c, err
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// child is the value of key in a mapping node, or nil.
func child(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func checkKeys(m *yaml.Node, section string, allowed []string) error {
	where := section
	if where == "" {
		where = "the top level"
	}
	if m.Kind != yaml.MappingNode {
		if m.Kind == yaml.ScalarNode && m.Tag == "!!null" {
			return nil
		}
		return fmt.Errorf("config line %d: %s must be a mapping of keys to values", m.Line, where)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if slices.Contains(allowed, k.Value) {
			continue
		}
		if why, ok := unsupported[k.Value]; ok {
			return fmt.Errorf("config line %d: %s: %s is not supported yet (%s)", k.Line, where, k.Value, why)
		}
		return fmt.Errorf("config line %d: %s: unknown key %q (keys: %s)", k.Line, where, k.Value, strings.Join(allowed, ", "))
	}
	return nil
}

// checkAuthKeys refuses keys that belong to another auth_method than the
// one in force, as embulk-util-aws-credentials does.
func checkAuthKeys(in *yaml.Node) error {
	method := "basic"
	if m := child(in, "auth_method"); m != nil {
		method = m.Value
	}
	mine, ok := methodKeys[method]
	if !ok {
		return fmt.Errorf("config: in.auth_method %q: want basic, anonymous, session, env, profile, default or assume_role", method)
	}
	for i := 0; i+1 < len(in.Content); i += 2 {
		k := in.Content[i]
		if k.Value == "auth_method" || !slices.Contains(authKeys, k.Value) || slices.Contains(mine, k.Value) {
			continue
		}
		return fmt.Errorf("config line %d: in.%s belongs to another auth_method than %s (%s takes: %s)",
			k.Line, k.Value, method, method, orNone(mine))
	}
	return nil
}

func orNone(keys []string) string {
	if len(keys) == 0 {
		return "no keys"
	}
	return strings.Join(keys, ", ")
}

// Marshal writes the config as YAML, secrets as they were written.
func (c Config) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	enc.Close()
	return buf.Bytes(), nil
}

// Validate reports what can't work in a config that has its parser
// (guessed or written); ValidateSeed is enough before a guess.
func (c Config) Validate() error {
	if err := c.ValidateSeed(); err != nil {
		return err
	}
	if err := c.In.Retry.validate(); err != nil {
		return err
	}
	l, err := c.filtered()
	if err != nil {
		return err
	}
	if name := c.Out.TimeColumn; name != "" {
		i := l.find(name)
		if i < 0 {
			names := make([]string, len(l))
			for i, s := range l {
				names[i] = s.Name
			}
			return fmt.Errorf("config: out.time_column %q is not a column of the rows (columns: %s)", name, strings.Join(names, ", "))
		}
		if typ := l[i].Type; typ != TypeLong && typ != TypeTimestamp {
			return fmt.Errorf("config: out.time_column %q is a %s column; it must be long or timestamp (add one with the add_time filter)", name, typ)
		}
	}
	p := c.In.Parser
	switch p.Type {
	case "csv", "tsv", "jsonl", "json":
	case "":
		return errors.New("config: in.parser.type is missing (run s3bridge connector guess to fill the parser)")
	default:
		return fmt.Errorf("config: in.parser.type %q: want csv, tsv, jsonl or json", p.Type)
	}
	if len(p.Columns) == 0 {
		return errors.New("config: in.parser.columns is empty (run s3bridge connector guess to fill them)")
	}
	seen := map[string]bool{}
	for i, col := range p.Columns {
		if col.Name == "" {
			return fmt.Errorf("config: in.parser.columns[%d] has no name", i)
		}
		if seen[strings.ToLower(col.Name)] {
			return fmt.Errorf("config: in.parser.columns: %q appears twice", col.Name)
		}
		seen[strings.ToLower(col.Name)] = true
		if !slices.Contains(columnTypes, col.Type) {
			return fmt.Errorf("config: in.parser.columns %q: type %q: want %s", col.Name, col.Type, strings.Join(columnTypes, ", "))
		}
		if col.Type == TypeTimestamp {
			if _, err := layout(cmpOr(col.Format, defaultTimestampFmt)); err != nil {
				return fmt.Errorf("config: in.parser.columns %q: %w", col.Name, err)
			}
		}
		if _, err := zone(cmpOr(col.Timezone, p.DefaultTimezone)); err != nil {
			return fmt.Errorf("config: in.parser.columns %q: %w", col.Name, err)
		}
	}
	if _, err := p.options(); err != nil {
		return err
	}
	return nil
}

// ValidateSeed reports what can't work in the in: and out: sections.
func (c Config) ValidateSeed() error {
	in := c.In
	if in.Type != "s3" {
		return fmt.Errorf("config: in.type %q: want s3", in.Type)
	}
	if in.Bucket == "" {
		return errors.New("config: in.bucket is required")
	}
	if in.PathPrefix == nil && in.Path == "" {
		return errors.New("config: in.path_prefix or in.path is required (path_prefix: '' for the whole bucket)")
	}
	if in.PathPrefix != nil && *in.PathPrefix == "/" {
		return errors.New("config: in.path_prefix '/' matches no S3 key; use '' for the whole bucket")
	}
	if _, err := regexp.Compile(in.PathMatchPattern); err != nil {
		return fmt.Errorf("config: in.path_match_pattern: %w", err)
	}
	if in.TotalFileCountLimit < 0 {
		return fmt.Errorf("config: in.total_file_count_limit %d is negative", in.TotalFileCountLimit)
	}
	if _, err := in.lookback(); err != nil {
		return err
	}
	if _, err := in.startTime(); err != nil {
		return err
	}
	switch in.OnChanged {
	case "", onChangedReload, onChangedSkip, onChangedError:
	default:
		return fmt.Errorf("config: in.on_changed %q: want reload, skip or error", in.OnChanged)
	}
	for _, d := range in.Decoders {
		switch d.Type {
		case "gzip", "bzip2", "zstd", "zip":
		default:
			return fmt.Errorf("config: in.decoders: type %q: want gzip, bzip2, zstd or zip", d.Type)
		}
	}
	if err := in.Auth.validate(); err != nil {
		return err
	}
	switch c.Out.Mode {
	case "", ModeAppend, ModeReplace, ModeReplaceOnNewData:
	default:
		return fmt.Errorf("config: out.mode %q: want append, replace or replace_on_new_data", c.Out.Mode)
	}
	return nil
}

func (a Auth) validate() error {
	switch a.method() {
	case "basic":
		if a.AccessKeyID == "" || a.SecretAccessKey == "" {
			return errors.New("config: auth_method basic needs in.access_key_id and in.secret_access_key")
		}
	case "session":
		if a.AccessKeyID == "" || a.SecretAccessKey == "" || a.SessionToken == "" {
			return errors.New("config: auth_method session needs in.access_key_id, in.secret_access_key and in.session_token")
		}
	case "assume_role":
		if a.RoleARN == "" && (a.AccountID == "" || a.RoleName == "") {
			return errors.New("config: auth_method assume_role needs in.role_arn, or in.account_id and in.role_name")
		}
		if d := a.DurationInSeconds; d != 0 && (d < 900 || d > 43200) {
			return fmt.Errorf("config: in.duration_in_seconds %d: STS takes 900 to 43200", d)
		}
	}
	for _, s := range []Secret{a.AccessKeyID, a.SecretAccessKey, a.SessionToken} {
		if err := s.check(); err != nil {
			return err
		}
	}
	return nil
}

func (a Auth) method() string { return cmpOr(a.Method, "basic") }

// roleARN is the role assume_role takes: role_arn, or the ARN built
// from arn_partition, account_id and role_name as Treasure Data does.
func (a Auth) roleARN() string {
	if a.RoleARN != "" {
		return a.RoleARN
	}
	return "arn:" + cmpOr(a.ARNPartition, "aws") + ":iam::" + a.AccountID + ":role/" + a.RoleName
}

func (in In) lookback() (time.Duration, error) {
	if in.IncrementalLookback == "" {
		return DefaultLookback, nil
	}
	d, err := time.ParseDuration(in.IncrementalLookback)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("config: in.incremental_lookback %q: want a positive duration such as 24h or 90m", in.IncrementalLookback)
	}
	return d, nil
}

// startTime is last_modified_time: Embulk's format
// (2019-06-03T10:30:19.806Z) or any RFC 3339 time; zero when not set.
func (in In) startTime() (time.Time, error) {
	if in.LastModifiedTime == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, in.LastModifiedTime)
	if err != nil {
		return time.Time{}, fmt.Errorf("config: in.last_modified_time %q: want a UTC time such as 2019-06-03T10:30:19.806Z", in.LastModifiedTime)
	}
	return t, nil
}

// started reports whether an object is at or before the config's
// starting points: loaded by the system the user comes from.
func (in In) started(o s3bridge.Object, since time.Time) bool {
	return (in.LastPath != "" && o.Key <= in.LastPath) || (!since.IsZero() && !o.LastModified.After(since))
}

// archived reports whether an object must be restored before it can be
// read: GLACIER_IR is read directly, GLACIER and DEEP_ARCHIVE are not.
func archived(o s3bridge.Object) bool {
	return o.StorageClass == "GLACIER" || o.StorageClass == "DEEP_ARCHIVE"
}

func (in In) incremental() bool { return in.Incremental == nil || *in.Incremental }

func (in In) onChanged() string { return cmpOr(in.OnChanged, onChangedReload) }

func (c Config) mode() string { return cmpOr(c.Out.Mode, ModeAppend) }

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

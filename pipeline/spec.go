package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Spec is a stored pipeline's settings: what `s3bridge pipeline create`
// records and an agent runs. It holds no secret: the source URL has no
// password (the agent finds it where libpq does) and S3 credentials are
// the agent's.
type Spec struct {
	// Tables are "schema.table" names; AllTables captures every table of
	// the database, present and future, instead.
	Tables    []string `json:"tables,omitempty"`
	AllTables bool     `json:"all_tables,omitempty"`
	Bucket    string   `json:"bucket"`
	// Prefix is the key prefix every object of the pipeline goes under
	// ("" or ending in "/").
	Prefix string `json:"prefix,omitempty"`
	// Format is avro, parquet or jsonl; Codec is snappy, zstd, deflate
	// or null (for parquet deflate is its GZIP codec; for jsonl, which is
	// compressed whole, deflate is gzip and snappy is refused).
	Format string `json:"format"`
	Codec  string `json:"codec"`
	// Snapshot is initial (copy the tables, then stream), never (stream
	// only) or initial_only (copy, then stop).
	Snapshot string `json:"snapshot"`
	// A change file closes when it holds FlushRows rows, reaches
	// MaxFileSize bytes, or has been open FlushInterval.
	FlushInterval       Duration `json:"flush_interval"`
	FlushRows           int64    `json:"flush_rows"`
	MaxFileSize         int64    `json:"max_file_size"`
	ReplicaIdentityFull bool     `json:"replica_identity_full,omitempty"`
	// Requests are the snapshots asked for while the pipeline runs, in
	// order (see SnapshotRequest).
	Requests []SnapshotRequest `json:"snapshot_requests,omitempty"`
}

// Spec defaults, as `pipeline create` documents them.
const (
	DefaultFlushInterval = 5 * time.Second
	DefaultFlushRows     = 100000
	DefaultMaxFileSize   = 128 << 20
)

// Duration is a time.Duration written as text ("5s") in JSON.
type Duration time.Duration

// MarshalJSON writes d as "5s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "5s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

var (
	pipelineName = regexp.MustCompile(`^[a-z0-9_]{1,54}$`)
	tableName    = regexp.MustCompile(`^[^.\s]+\.[^.\s]+$`)
)

// CheckName refuses a name a replication slot can't carry.
func CheckName(name string) error {
	if !pipelineName.MatchString(name) {
		return fmt.Errorf("pipeline name %q: want 1-54 of a-z, 0-9 and _ (it names the replication slot s3bridge_NAME, whose alphabet that is)", name)
	}
	return nil
}

// WithDefaults fills the settings left out.
func (s Spec) WithDefaults() Spec {
	if s.Format == "" {
		s.Format = "avro"
	}
	if s.Codec == "" && s.Format == "jsonl" {
		s.Codec = "null"
	} else if s.Codec == "" {
		s.Codec = "snappy"
	}
	if s.Snapshot == "" {
		s.Snapshot = "initial"
	}
	if s.FlushInterval == 0 {
		s.FlushInterval = Duration(DefaultFlushInterval)
	}
	if s.FlushRows == 0 {
		s.FlushRows = DefaultFlushRows
	}
	if s.MaxFileSize == 0 {
		s.MaxFileSize = DefaultMaxFileSize
	}
	return s
}

// Validate reports settings that can't work, each by its flag.
func (s Spec) Validate() error {
	switch {
	case s.AllTables && len(s.Tables) > 0:
		return errors.New("pipeline: give --tables or --all-tables, not both")
	case !s.AllTables && len(s.Tables) == 0:
		return errors.New("pipeline: --tables schema.table[,…] or --all-tables is required")
	case s.Bucket == "":
		return errors.New("pipeline: --bucket is required")
	case s.Prefix != "" && (!strings.HasSuffix(s.Prefix, "/") || strings.HasPrefix(s.Prefix, "/") || strings.Contains(s.Prefix, "..")):
		return fmt.Errorf("pipeline: --prefix %q: want a key prefix ending in / (events/), not starting with / and without ..", s.Prefix)
	}
	for _, t := range s.Tables {
		if !tableName.MatchString(t) {
			return fmt.Errorf("pipeline: --tables: %q: want schema.table", t)
		}
	}
	switch s.Format {
	case "avro", "parquet", "jsonl":
	default:
		return fmt.Errorf("pipeline: --format %q: want avro, parquet or jsonl", s.Format)
	}
	switch s.Codec {
	case "snappy", "zstd", "deflate", "null":
	default:
		return fmt.Errorf("pipeline: --codec %q: want snappy, zstd, deflate or null", s.Codec)
	}
	if s.Format == "jsonl" && s.Codec == "snappy" {
		// The CLI's default codec is snappy: say what to give instead.
		return errors.New("pipeline: --format jsonl compresses whole files, and no common JSON Lines reader takes snappy: " +
			"give --codec zstd (.jsonl.zst), deflate (gzip, .jsonl.gz) or null (plain .jsonl)")
	}
	switch s.Snapshot {
	case "initial", "never", "initial_only":
	default:
		return fmt.Errorf("pipeline: --snapshot %q: want initial, never or initial_only", s.Snapshot)
	}
	if time.Duration(s.FlushInterval) < 100*time.Millisecond || s.FlushRows < 1 || s.MaxFileSize < 1<<20 {
		return errors.New("pipeline: --flush-interval must be at least 100ms, --flush-rows at least 1 and --max-file-size at least 1MiB")
	}
	return nil
}

// Engine is the kind of database a pipeline captures.
type Engine string

// The source kinds, by URL scheme.
const (
	PostgreSQL Engine = "postgresql" // postgres://, postgresql://
	MariaDB    Engine = "mariadb"    // mysql://, mariadb://
)

// SourceKind returns the kind of database source names by its scheme;
// "" when it is none s3bridge captures.
func SourceKind(source string) Engine {
	scheme, _, _ := strings.Cut(source, "://")
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return PostgreSQL
	case "mysql", "mariadb":
		return MariaDB
	}
	return ""
}

// CheckSourceURL refuses a source URL that holds a password: the
// pipeline's row would keep it in clear. The agent finds the password
// where libpq does (PGPASSWORD, PGPASSFILE or ~/.pgpass) for PostgreSQL,
// in MYSQL_PWD for MariaDB.
func CheckSourceURL(source string) error {
	kind := SourceKind(source)
	u, err := url.Parse(source)
	if err != nil || kind == "" {
		return errors.New("pipeline: --source: want a postgres:// or mysql:// URL naming the database")
	}
	if _, set := u.User.Password(); set || u.Query().Has("password") {
		if kind == MariaDB {
			return errors.New("pipeline: --source holds a password, which would be stored in clear; remove it and give it to the agents as MYSQL_PWD")
		}
		return errors.New("pipeline: --source holds a password, which would be stored in clear; remove it and give it to the agents as PGPASSWORD or in a password file (PGPASSFILE, ~/.pgpass)")
	}
	if strings.Trim(u.Path, "/") == "" {
		if kind == MariaDB {
			return errors.New("pipeline: --source must name the database (mysql://user@host:3306/db): it names the pipeline's objects")
		}
		return errors.New("pipeline: --source must name the database (postgres://user@host:5432/db): logical replication is per database")
	}
	return nil
}

// ParseTable reads a "schema.table" name (for MariaDB, "database.table").
func ParseTable(name string) Table {
	schema, table, _ := strings.Cut(name, ".")
	return Table{Schema: schema, Name: table}
}

// Publication is the tables s captures.
func (s Spec) Publication() Publication {
	pub := Publication{AllTables: s.AllTables}
	for _, t := range s.Tables {
		pub.Tables = append(pub.Tables, ParseTable(t))
	}
	return pub
}

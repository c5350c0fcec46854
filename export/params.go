package export

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/statement"
)

// Formats an export writes.
const (
	FormatText    = "text" // MySQL's SELECT … INTO OUTFILE format, Aurora's default
	FormatCSV     = "csv"  // RFC 4180
	FormatJSONL   = "jsonl"
	FormatParquet = "parquet"
)

// Compression codecs. For Parquet they name the page compression, which is
// snappy by default; the delimited formats and JSON Lines compress the whole
// file.
const (
	CompressGzip = "gzip"
	CompressZstd = "zstd"
)

// Naming styles for the files of an export.
const (
	// NamingAurora is SELECT INTO OUTFILE S3's: PREFIX.part_00000,
	// PREFIX.part_00001… and PREFIX.manifest.
	NamingAurora = "aurora"
	// NamingAWSS3 is aws_s3.query_export_to_s3's: FILE, FILE_part2,
	// FILE_part3…
	NamingAWSS3 = "aws_s3"
)

// DefaultMaxFileSize is Aurora's part size: a part is closed at the first
// row boundary once it holds this many bytes.
const DefaultMaxFileSize = 6 << 30

// Params are an EXPORT_TO_S3 task's parameters, stored as its metadata.
// Either Statement or Query and URI say what to export.
type Params struct {
	// Statement is an Aurora SELECT … INTO OUTFILE S3 statement (MariaDB's
	// select_into_outfile_s3 passes it as text); it sets Query, URI and the
	// options it has clauses for.
	Statement string `json:"statement,omitempty"`
	Query     string `json:"query,omitempty"`
	// URI is s3://bucket/prefix (Aurora's s3-REGION:// and ARNs too): the
	// prefix of the part names, or the first file's name for NamingAWSS3.
	URI string `json:"uri,omitempty"`
	// Format is csv, text, jsonl or parquet; default text.
	Format string `json:"format,omitempty"`
	// Header writes the column names at the top of every part (csv, text).
	Header bool   `json:"header,omitempty"`
	Fields Fields `json:"fields,omitzero"`
	// CopyOptions are aws_s3's options: PostgreSQL COPY options (see
	// ParseCopyOptions). They replace Format, Header and Fields.
	CopyOptions string `json:"copy_options,omitempty"`
	// Compression is gzip or zstd: of the whole file, or Parquet's pages.
	Compression string `json:"compression,omitempty"`
	// NumericAs is decimal(P,S) (Parquet only): the type of the decimal
	// columns Parquet can't store as they are declared (an unconstrained
	// numeric, more than 38 digits), which are otherwise strings. Values
	// are rounded to S places; one that doesn't fit fails the export.
	NumericAs string `json:"numeric_as,omitempty"`
	// MaxFileSize closes a part at the first row boundary once it holds
	// that many bytes; default DefaultMaxFileSize.
	MaxFileSize int64 `json:"max_file_size,omitempty"`
	Manifest    bool  `json:"manifest,omitempty"`
	// Overwrite replaces existing files; without it any file the export
	// would write that already exists fails the export before it starts.
	Overwrite bool `json:"overwrite,omitempty"`
	// KeepPartial keeps the parts already written when the export fails.
	KeepPartial bool `json:"keep_partial,omitempty"`
	// Parallel is how many sessions read a whole-table export (a query
	// that is exactly SELECT * FROM one table) from PostgreSQL 14+, each a
	// range of the table's pages under one snapshot; 1 reads it with one
	// COPY. Default: half the cores, up to 8. The rows then come in the table's
	// physical order, as an unordered query's may anyway.
	Parallel int `json:"parallel,omitempty"`
	// Naming is aurora (default) or aws_s3.
	Naming string `json:"naming,omitempty"`
	// Caller and Session: see Query.
	Caller     string            `json:"caller,omitempty"`
	CallerRole string            `json:"caller_role,omitempty"`
	Session    map[string]string `json:"session,omitempty"`
	// Waiting says a SQL call waits for the export and heartbeats (see
	// Waiters).
	Waiting bool `json:"waiting,omitempty"`
}

// Fields are the FIELDS and LINES clauses of the delimited formats; nil
// means the format's default.
type Fields struct {
	TerminatedBy      *string `json:"terminated_by,omitempty"`
	EnclosedBy        *string `json:"enclosed_by,omitempty"`
	Optionally        bool    `json:"optionally_enclosed,omitempty"`
	EscapedBy         *string `json:"escaped_by,omitempty"`
	LinesStartingBy   *string `json:"lines_starting_by,omitempty"`
	LinesTerminatedBy *string `json:"lines_terminated_by,omitempty"`
}

// Task builds the EXPORT_TO_S3 task for p.
func Task(p Params) s3bridge.Task {
	meta, err := json.Marshal(p)
	if err != nil {
		panic(err) // strings, numbers and a string map always encode
	}
	t := s3bridge.Task{Type: s3bridge.TaskExportToS3, Overwrite: p.Overwrite, Metadata: meta}
	if loc, err := s3bridge.ParseURI(p.URI); err == nil {
		t.S3ObjectARN = loc.ARN()
	}
	return t
}

// FromStatement turns a parsed SELECT … INTO OUTFILE S3 into parameters.
// Clauses s3bridge can't honour are refused rather than dropped: ENCRYPTION
// other than OFF (uploads use the bucket's default encryption) and a
// CHARACTER SET other than UTF-8 (files are written as the database sends
// text, in UTF-8).
func FromStatement(st *statement.Export) (Params, error) {
	switch st.Encryption {
	case statement.EncryptionDefault, statement.EncryptionOff:
	default:
		return Params{}, fmt.Errorf("ENCRYPTION %s: s3bridge writes with the bucket's default encryption; use ENCRYPTION OFF or set a default on the bucket", st.Encryption)
	}
	switch st.Charset {
	case "", "utf8", "utf8mb4", "utf8mb3", "binary":
	default:
		return Params{}, fmt.Errorf("CHARACTER SET %s: exports are written in UTF-8 (utf8mb4)", st.Charset)
	}
	p := Params{
		Query:       st.Query,
		URI:         st.URI,
		Format:      strings.ToLower(string(st.Format)),
		Header:      st.Header,
		Manifest:    st.Manifest,
		Overwrite:   st.Overwrite,
		MaxFileSize: st.PartSize,
		Naming:      NamingAurora,
	}
	f, l := st.Fields, st.Lines
	if f.TerminatedSet {
		p.Fields.TerminatedBy = &f.TerminatedBy
	}
	if f.EnclosedSet {
		p.Fields.EnclosedBy = &f.EnclosedBy
		p.Fields.Optionally = f.OptionallyEnclosed
	}
	if f.EscapedSet {
		p.Fields.EscapedBy = &f.EscapedBy
	}
	if l.StartingSet {
		p.Fields.LinesStartingBy = &l.StartingBy
	}
	if l.TerminatedSet {
		p.Fields.LinesTerminatedBy = &l.TerminatedBy
	}
	return p, nil
}

// CheckQuery refuses anything but a single query (SELECT, WITH … SELECT,
// or a parenthesised one) and returns it without a trailing semicolon. It
// uses the statement parser's rules (see package statement): locking
// clauses and data-modifying WITH are refused too. Every Source still runs
// the query in a read-only transaction; this check gives a clear error
// first.
func CheckQuery(query string) (string, error) {
	q := strings.TrimRight(strings.TrimSpace(query), "; \t\r\n")
	st, err := statement.ParseExport(q + "\nINTO OUTFILE S3 's3://export-check/x'")
	if err != nil {
		return "", fmt.Errorf("query: %w", err)
	}
	return st.Query, nil
}

// plan is a task's parameters resolved and checked.
type plan struct {
	Params
	loc     s3bridge.Location
	delim   delimiter    // csv, text
	copy    *CopyOptions // aws_s3 options
	maxSize int64
	numeric *Decimal // NumericAs
}

// resolve checks the parameters and fills the defaults.
func (p Params) resolve() (*plan, error) {
	if p.Statement != "" {
		st, err := statement.ParseExport(p.Statement)
		if err != nil {
			return nil, err
		}
		sp, err := FromStatement(st)
		if err != nil {
			return nil, err
		}
		sp.Caller, sp.CallerRole, sp.Session, sp.Waiting, sp.KeepPartial = p.Caller, p.CallerRole, p.Session, p.Waiting, p.KeepPartial
		sp.Compression, sp.NumericAs = p.Compression, p.NumericAs
		sp.Naming = cmp.Or(p.Naming, NamingAurora)
		p = sp
	}
	if strings.TrimSpace(p.Query) == "" {
		return nil, fmt.Errorf("no query to export")
	}
	q, err := CheckQuery(p.Query)
	if err != nil {
		return nil, err
	}
	p.Query = q
	pl := &plan{Params: p, maxSize: cmp.Or(p.MaxFileSize, DefaultMaxFileSize)}
	if p.Parallel < 0 {
		return nil, fmt.Errorf("parallel %d: must be positive", p.Parallel)
	}
	if pl.maxSize < 0 {
		return nil, fmt.Errorf("max file size %d: must be positive", p.MaxFileSize)
	}
	if pl.loc, err = s3bridge.ParseURI(p.URI); err != nil {
		return nil, err
	}
	if pl.loc.Key == "" || strings.HasSuffix(pl.loc.Key, "/") {
		return nil, fmt.Errorf("%s names a folder: give a file prefix after it, e.g. %sdata", p.URI, strings.TrimSuffix(p.URI, "/")+"/")
	}
	pl.Naming = cmp.Or(p.Naming, NamingAurora)
	if pl.Naming != NamingAurora && pl.Naming != NamingAWSS3 {
		return nil, fmt.Errorf("naming %q: want aurora or aws_s3", p.Naming)
	}
	if p.CopyOptions != "" {
		if err := pl.applyCopyOptions(); err != nil {
			return nil, err
		}
	}
	pl.Format = strings.ToLower(cmp.Or(pl.Format, FormatText))
	switch pl.Format {
	case FormatCSV, FormatText:
		if pl.delim, err = newDelimiter(pl.Format, pl.Fields); err != nil {
			return nil, err
		}
	case FormatJSONL, FormatParquet:
		if pl.Fields != (Fields{}) {
			return nil, fmt.Errorf("FIELDS and LINES apply to csv and text, not %s", pl.Format)
		}
		if pl.Header {
			return nil, fmt.Errorf("a header applies to csv and text, not %s", pl.Format)
		}
	default:
		return nil, fmt.Errorf("format %q: want csv, text, jsonl or parquet", p.Format)
	}
	if pl.NumericAs != "" {
		if pl.Format != FormatParquet {
			return nil, fmt.Errorf("numeric-as applies to parquet, not %s", pl.Format)
		}
		d, err := ParseNumericAs(pl.NumericAs)
		if err != nil {
			return nil, err
		}
		pl.numeric = &d
	}
	switch pl.Compression = strings.ToLower(pl.Compression); pl.Compression {
	case "", "none":
		pl.Compression = ""
	case CompressGzip, CompressZstd:
	default:
		return nil, fmt.Errorf("compression %q: want gzip or zstd", p.Compression)
	}
	return pl, nil
}

// applyCopyOptions takes format, header, delimiters and s3bridge's own
// extensions from aws_s3's options.
func (pl *plan) applyCopyOptions() error {
	co, err := ParseCopyOptions(pl.CopyOptions)
	if err != nil {
		return err
	}
	pl.copy = co
	pl.Format = co.Format
	pl.Header = co.Header
	pl.Fields = co.fields()
	if co.Compression != "" {
		pl.Compression = co.Compression
	}
	if co.MaxFileSize > 0 {
		pl.maxSize = co.MaxFileSize
	}
	if co.NumericAs != "" {
		pl.NumericAs = co.NumericAs
	}
	return nil
}

// names gives the keys of an export's files.
type names struct {
	naming string
	base   string // the URI's key
	ext    string // .gz or .zst for compressed Aurora parts
}

// part is the key of part i, counting from 0.
func (n names) part(i int) string {
	if n.naming == NamingAWSS3 {
		if i == 0 {
			return n.base
		}
		return n.base + "_part" + strconv.Itoa(i+1)
	}
	return fmt.Sprintf("%s.part_%05d%s", n.base, i, n.ext)
}

func (n names) manifest() string { return n.base + ".manifest" }

// listPrefix is the prefix to list to find files this export would write.
func (n names) listPrefix() string {
	if n.naming == NamingAWSS3 {
		return n.base
	}
	return n.base + "."
}

// ours reports whether an existing key is one this export could write.
func (n names) ours(key string) bool {
	if n.naming == NamingAWSS3 {
		if key == n.base {
			return true
		}
		rest, ok := strings.CutPrefix(key, n.base+"_part")
		if !ok || rest == "" {
			return false
		}
		_, err := strconv.ParseUint(rest, 10, 32)
		return err == nil
	}
	return key == n.manifest() || strings.HasPrefix(key, n.base+".part_")
}

// earlier reports whether key is exactly a name an export to the same URI
// writes, in either compression: what an overwrite may delete. Unlike ours
// it is strict, so a file that merely looks alike (x.part_1.bak, x_part02)
// is never deleted.
func (n names) earlier(key string) bool {
	if key == n.manifest() {
		return true
	}
	if n.naming == NamingAWSS3 {
		if key == n.base {
			return true
		}
		rest, ok := strings.CutPrefix(key, n.base+"_part")
		i, err := strconv.Atoi(rest)
		return ok && err == nil && i >= 2 && strconv.Itoa(i) == rest
	}
	rest, ok := strings.CutPrefix(key, n.base+".part_")
	if !ok {
		return false
	}
	for _, ext := range []string{".gz", ".zst"} {
		if r, found := strings.CutSuffix(rest, ext); found {
			rest = r
			break
		}
	}
	i, err := strconv.Atoi(rest)
	return err == nil && i >= 0 && fmt.Sprintf("%05d", i) == rest
}

package control

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/dustin/go-humanize"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/transfer"
)

// The requests that make upload, download, load and export tasks, with the
// parameters of the commands of the same names (their flags, snake_case in
// JSON): the CLI and the HTTP API build their tasks here. A request the
// task would refuse is *Invalid, before any task exists.

// UploadRequest is upload (Oracle upload_to_s3): the files of a
// directory object to S3.
type UploadRequest struct {
	Bucket string `json:"bucket"`
	// Directory is the directory object; default s3bridge.DefaultDirectory.
	Directory        string `json:"directory,omitempty"`
	Prefix           string `json:"prefix,omitempty"`
	S3Prefix         string `json:"s3_prefix,omitempty"`
	CompressionLevel int    `json:"compression_level,omitempty"`
}

// Task builds the upload task.
func (r UploadRequest) Task() (s3bridge.Task, error) {
	if err := CheckBucket(r.Bucket); err != nil {
		return s3bridge.Task{}, err
	}
	return transfer.UploadDirectoryTask(transfer.DirectoryUpload{Bucket: r.Bucket, Directory: cmp.Or(r.Directory, s3bridge.DefaultDirectory),
		Prefix: r.Prefix, S3Prefix: r.S3Prefix, CompressionLevel: r.CompressionLevel}), nil
}

// DownloadRequest is download (Oracle download_from_s3): the objects
// under a prefix to a directory object.
type DownloadRequest struct {
	Bucket      string `json:"bucket"`
	Directory   string `json:"directory,omitempty"`
	S3Prefix    string `json:"s3_prefix,omitempty"`
	Gunzip      bool   `json:"gunzip,omitempty"`
	ErrorOnZero bool   `json:"error_on_zero,omitempty"`
}

// Task builds the download task.
func (r DownloadRequest) Task() (s3bridge.Task, error) {
	if err := CheckBucket(r.Bucket); err != nil {
		return s3bridge.Task{}, err
	}
	p := transfer.DirectoryDownload{Bucket: r.Bucket, Directory: cmp.Or(r.Directory, s3bridge.DefaultDirectory), S3Prefix: r.S3Prefix}
	if r.Gunzip {
		p.Decompression = "GZIP"
	}
	if r.ErrorOnZero {
		p.ErrorOnZero = "TRUE"
	}
	return transfer.DownloadDirectoryTask(p), nil
}

// FileRequest is upload-file and download-file (SQL Server
// rds_upload_to_s3 and rds_download_from_s3): one file of the area, one
// object.
type FileRequest struct {
	// FilePath is relative to the file area; for a download, empty means
	// the key's name and a path ending in / a folder.
	FilePath string `json:"file_path,omitempty"`
	// S3URI is the object: s3://bucket/key or arn:aws:s3:::bucket/key.
	S3URI     string `json:"s3_uri"`
	Overwrite bool   `json:"overwrite,omitempty"`
}

// UploadTask builds the upload-file task.
func (r FileRequest) UploadTask() (s3bridge.Task, error) {
	if r.FilePath == "" {
		return s3bridge.Task{}, &Invalid{Err: errors.New("file_path is required")}
	}
	if err := CheckObjectURI(r.S3URI); err != nil {
		return s3bridge.Task{}, err
	}
	return transfer.UploadFileTask(r.FilePath, r.S3URI, r.Overwrite), nil
}

// DownloadTask builds the download-file task.
func (r FileRequest) DownloadTask() (s3bridge.Task, error) {
	if err := CheckObjectURI(r.S3URI); err != nil {
		return s3bridge.Task{}, err
	}
	return transfer.DownloadFileTask(r.S3URI, r.FilePath, r.Overwrite), nil
}

// CheckBucket refuses a missing or malformed bucket name.
func CheckBucket(bucket string) error {
	if bucket == "" {
		return &Invalid{Err: errors.New("bucket is required")}
	}
	if err := s3bridge.ValidateBucket(bucket); err != nil {
		return &Invalid{Err: fmt.Errorf("bucket: %w", err)}
	}
	return nil
}

// CheckObjectURI refuses an S3 URI or ARN that can't name one object, by
// the rules the transfer runner applies.
func CheckObjectURI(uri string) error {
	if _, err := s3bridge.ParseObjectURI(uri); err != nil {
		return &Invalid{Err: err}
	}
	return nil
}

// LoadRequest is load (LOAD DATA FROM S3): objects into a table.
type LoadRequest struct {
	// Table is the table, schema.table allowed.
	Table string `json:"table"`
	// URI is the object, the key prefix (Prefix) or the manifest (Manifest).
	URI      string `json:"uri"`
	Prefix   bool   `json:"prefix,omitempty"`
	Manifest bool   `json:"manifest,omitempty"`
	// Format is text, csv, tsv, jsonl, json or xml; default csv.
	Format string `json:"format,omitempty"`
	// Columns are the target columns in input order (default the
	// table's).
	Columns          []string `json:"columns,omitempty"`
	Delimiter        string   `json:"delimiter,omitempty"`
	Quote            string   `json:"quote,omitempty"`
	Escape           string   `json:"escape,omitempty"`
	Null             string   `json:"null,omitempty"`
	Header           bool     `json:"header,omitempty"`
	IgnoreLines      int      `json:"ignore_lines,omitempty"`
	Charset          string   `json:"charset,omitempty"`
	RowsIdentifiedBy string   `json:"rows_identified_by,omitempty"`
	Replace          bool     `json:"replace,omitempty"`
	SkipBadRows      bool     `json:"skip_bad_rows,omitempty"`
}

// Params are the load's parameters.
func (r LoadRequest) Params() (load.Params, error) {
	p := load.Params{Source: load.SourceFile, URI: r.URI, Table: r.Table, Replace: r.Replace, SkipBadRows: r.SkipBadRows}
	switch {
	case r.Prefix && r.Manifest:
		return p, &Invalid{Err: errors.New("prefix and manifest exclude each other")}
	case r.Prefix:
		p.Source = load.SourcePrefix
	case r.Manifest:
		p.Source = load.SourceManifest
	}
	if schema, table, ok := strings.Cut(r.Table, "."); ok {
		p.Schema, p.Table = schema, table
	}
	for _, col := range r.Columns {
		if col = strings.TrimSpace(col); col != "" {
			p.Columns = append(p.Columns, col)
		}
	}
	o := &p.Options
	o.Format, o.FieldsTerminatedBy, o.FieldsEnclosedBy, o.FieldsEscapedBy = cmp.Or(r.Format, "csv"), r.Delimiter, r.Quote, r.Escape
	o.NullString, o.Header, o.IgnoreLines, o.Charset, o.RowsIdentifiedBy = r.Null, r.Header, r.IgnoreLines, r.Charset, r.RowsIdentifiedBy
	return p, nil
}

// Task builds the load task.
func (r LoadRequest) Task() (s3bridge.Task, error) {
	p, err := r.Params()
	if err != nil {
		return s3bridge.Task{}, err
	}
	t, err := load.Task(p)
	if err != nil {
		return t, &Invalid{Err: err}
	}
	return t, nil
}

// ExportRequest is export (SELECT … INTO OUTFILE S3): a query's result
// to S3 in parts.
type ExportRequest struct {
	Query string `json:"query"`
	// URI is s3://bucket/prefix: the parts' prefix, or the first file's
	// name with naming aws_s3.
	URI string `json:"uri"`
	// Format is csv (default), text, jsonl or parquet.
	Format   string `json:"format,omitempty"`
	Header   bool   `json:"header,omitempty"`
	Compress string `json:"compress,omitempty"`
	// MaxFileSize is a byte count, or a size such as "6GiB" or "100MB";
	// default 6 GiB.
	MaxFileSize Size   `json:"max_file_size,omitempty"`
	Manifest    bool   `json:"manifest,omitempty"`
	Overwrite   bool   `json:"overwrite,omitempty"`
	KeepPartial bool   `json:"keep_partial,omitempty"`
	Naming      string `json:"naming,omitempty"`
	NumericAs   string `json:"numeric_as,omitempty"`
}

// Task builds the export task.
func (r ExportRequest) Task() (s3bridge.Task, error) {
	if strings.TrimSpace(r.Query) == "" {
		return s3bridge.Task{}, &Invalid{Err: errors.New("query is required")}
	}
	return ExportTask(export.Params{Query: r.Query, URI: r.URI, Format: cmp.Or(r.Format, export.FormatCSV), Header: r.Header,
		Compression: r.Compress, MaxFileSize: cmp.Or(int64(r.MaxFileSize), export.DefaultMaxFileSize), Manifest: r.Manifest,
		Overwrite: r.Overwrite, KeepPartial: r.KeepPartial, Naming: cmp.Or(r.Naming, export.NamingAurora), NumericAs: r.NumericAs})
}

// ExportTask builds the export task of p, refusing anything but a SELECT
// and a bad format or destination before a task exists (the runner checks
// again, and the database runs the query read-only anyway).
func ExportTask(p export.Params) (s3bridge.Task, error) {
	q, err := export.CheckQuery(p.Query)
	if err != nil {
		return s3bridge.Task{}, &Invalid{Err: err}
	}
	p.Query = q
	if err := p.Validate(); err != nil {
		return s3bridge.Task{}, &Invalid{Err: err}
	}
	return export.Task(p), nil
}

// Size is a byte count, written in JSON as a number or as S3 and AWS
// write sizes ("1.5GB", "512MiB").
type Size int64

// UnmarshalJSON reads a number of bytes or a size text (ParseSize).
func (s *Size) UnmarshalJSON(b []byte) error {
	var text string
	if err := json.Unmarshal(b, &text); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil || n <= 0 {
			return fmt.Errorf("size %s: want a positive number of bytes or a text such as \"6GiB\"", b)
		}
		*s = Size(n)
		return nil
	}
	n, err := ParseSize(text)
	*s = Size(n)
	return err
}

// ParseSize reads a positive byte count with an optional unit: 1.5GB,
// 512MiB, 6 GB, 1024. GB, MB, KB are powers of 1000, GiB, MiB, KiB powers
// of 1024. Thousands commas and signs are refused (1,5GB is not 1.5GB).
func ParseSize(v string) (int64, error) {
	t := strings.TrimSpace(v)
	bad := fmt.Errorf("size %q: want a positive number with an optional unit, such as 1.5GB, 512MiB or 6 GB", v)
	if t == "" || strings.ContainsAny(t, ",-+") {
		return 0, bad
	}
	n, err := humanize.ParseBytes(t)
	if err != nil || n == 0 || n > math.MaxInt64 {
		return 0, bad
	}
	return int64(n), nil
}

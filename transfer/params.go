// Package transfer moves files between a database host and S3 the way RDS
// does: Oracle's directory uploads and downloads with their prefix rules,
// SQL Server's single-file transfers, file listing and deletion in the file
// area. Each task type's parameters are the SQL functions' parameters,
// stored as the task's metadata.
package transfer

import (
	"encoding/json"
	"fmt"

	"github.com/s3bridge/s3bridge"
)

// Kinds of transfer task, in the metadata's "kind" key.
const (
	KindDirectory = "directory" // Oracle: upload_to_s3 / download_from_s3
	KindFile      = "file"      // SQL Server: upload_file_to_s3 / download_file_from_s3
)

// DirectoryUpload is Oracle's upload_to_s3.
type DirectoryUpload struct {
	Kind             string `json:"kind"`
	Bucket           string `json:"p_bucket_name"`
	Prefix           string `json:"p_prefix"`
	S3Prefix         string `json:"p_s3_prefix"`
	Directory        string `json:"p_directory_name"`
	CompressionLevel int    `json:"p_compression_level"`
}

// DirectoryDownload is Oracle's download_from_s3.
type DirectoryDownload struct {
	Kind          string `json:"kind"`
	Bucket        string `json:"p_bucket_name"`
	Directory     string `json:"p_directory_name"`
	S3Prefix      string `json:"p_s3_prefix"`
	Decompression string `json:"p_decompression_format"`    // NONE or GZIP
	ErrorOnZero   string `json:"p_error_on_zero_downloads"` // TRUE or FALSE
	// MaxDecompressed caps each object's size once gunzipped (default
	// DefaultMaxDecompressed), as loads do.
	MaxDecompressed int64 `json:"max_decompressed,omitempty"`
}

// FileTransfer is SQL Server's rds_download_from_s3 / rds_upload_to_s3.
type FileTransfer struct {
	Kind      string `json:"kind"`
	ARN       string `json:"s3_arn_of_file"`
	FilePath  string `json:"file_path"`
	Overwrite int    `json:"overwrite_file"`
}

// Delete is SQL Server's rds_delete_from_filesystem.
type Delete struct {
	FilePath string `json:"file_path"`
	Force    int    `json:"force_delete"`
}

// UploadDirectoryTask builds the task upload_to_s3 enqueues.
func UploadDirectoryTask(p DirectoryUpload) s3bridge.Task {
	p.Kind = KindDirectory
	return s3bridge.Task{Type: s3bridge.TaskUpload, S3ObjectARN: s3bridge.Location{Bucket: p.Bucket}.ARN() + "/" + p.S3Prefix, Metadata: mustJSON(p)}
}

// DownloadDirectoryTask builds the task download_from_s3 enqueues.
func DownloadDirectoryTask(p DirectoryDownload) s3bridge.Task {
	p.Kind = KindDirectory
	if p.Decompression == "" {
		p.Decompression = "NONE"
	}
	if p.ErrorOnZero == "" {
		p.ErrorOnZero = "FALSE"
	}
	return s3bridge.Task{Type: s3bridge.TaskDownload, S3ObjectARN: s3bridge.Location{Bucket: p.Bucket}.ARN() + "/" + p.S3Prefix, Metadata: mustJSON(p)}
}

// DownloadFileTask builds the task download_file_from_s3 enqueues.
func DownloadFileTask(arn, filePath string, overwrite bool) s3bridge.Task {
	p := FileTransfer{Kind: KindFile, ARN: arn, FilePath: filePath, Overwrite: b2i(overwrite)}
	return s3bridge.Task{Type: s3bridge.TaskDownload, S3ObjectARN: arn, FilePath: filePath, Overwrite: overwrite, Metadata: mustJSON(p)}
}

// UploadFileTask builds the task upload_file_to_s3 enqueues.
func UploadFileTask(filePath, arn string, overwrite bool) s3bridge.Task {
	p := FileTransfer{Kind: KindFile, ARN: arn, FilePath: filePath, Overwrite: b2i(overwrite)}
	return s3bridge.Task{Type: s3bridge.TaskUpload, S3ObjectARN: arn, FilePath: filePath, Overwrite: overwrite, Metadata: mustJSON(p)}
}

// GatherTask builds the task gather_file_details enqueues.
func GatherTask() s3bridge.Task {
	return s3bridge.Task{Type: s3bridge.TaskListFiles, Metadata: []byte("{}")}
}

// DeleteTask builds the task delete_from_filesystem enqueues.
func DeleteTask(filePath string, force bool) s3bridge.Task {
	return s3bridge.Task{Type: s3bridge.TaskDeleteFiles, FilePath: filePath, Metadata: mustJSON(Delete{FilePath: filePath, Force: b2i(force)})}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs of strings and ints always encode
	}
	return b
}

// kind reads the metadata's "kind" key.
func kind(t s3bridge.Task) (string, error) {
	var k struct{ Kind string }
	if err := t.Params(&k); err != nil {
		return "", fmt.Errorf("task %d metadata: %w", t.ID, err)
	}
	return k.Kind, nil
}

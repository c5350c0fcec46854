package s3bridge

import (
	"cmp"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Defaults taken from RDS where RDS has a value.
const (
	DefaultMaxRunning     = 2               // RDS SQL Server: two tasks in progress
	DefaultMaxFiles       = 100             // RDS SQL Server: 100 files in D:\S3\
	DefaultMaxUploadBytes = 50 << 30        // RDS SQL Server: 50 GB per uploaded file
	MaxFilesPerTransfer   = 2000            // RDS Oracle: files per upload/download call
	DefaultDirectory      = "DATA_PUMP_DIR" // Oracle's default directory object
	// DefaultPickupTimeoutSeconds is how long a synchronous SQL call waits
	// for an agent to start its task.
	DefaultPickupTimeoutSeconds = 30
	// AgentStaleSeconds is how old an agent's last beat may be before a
	// synchronous SQL call counts it as gone; agents beat every
	// AgentBeatSeconds.
	AgentStaleSeconds = 10
	AgentBeatSeconds  = 2
)

// DefaultAllowedExtensions is RDS SQL Server's list of extensions that may be
// downloaded into the file area; a file without an extension is allowed too.
var DefaultAllowedExtensions = []string{
	".abf", ".asdatabase", ".bcp", ".configsettings", ".csv", ".dat",
	".deploymentoptions", ".deploymenttargets", ".fmt", ".info", ".ispac",
	".lst", ".tbl", ".txt", ".xml", ".xmla",
}

// Settings is what an instance is set up to do, stored in the instance by
// attach. It holds no secret.
type Settings struct {
	// Area is the file area on the database host (RDS SQL Server's D:\S3\).
	Area string `json:"area"`
	// Directories maps directory object names (upper case) to paths.
	Directories map[string]string `json:"directories"`
	// MaxRunning is how many tasks of one kind (Kind) may be in progress
	// at once, for every pooled kind without its own entry in Limits. It
	// once capped all tasks together; a long export then kept file
	// transfers waiting.
	MaxRunning int `json:"max_running"`
	// Limits overrides MaxRunning for some kinds. It holds only what was
	// set, so a later change of MaxRunning still reaches the other kinds.
	Limits   map[Kind]int `json:"limits,omitempty"`
	MaxFiles int          `json:"max_files"`
	// AllowedExtensions lists lower-case extensions with their dot; "*"
	// allows every extension.
	AllowedExtensions []string `json:"allowed_extensions"`
	MaxUploadBytes    int64    `json:"max_upload_bytes"`
	// Endpoint, Region and PathStyle describe the object store; empty means
	// the agent's environment decides.
	Endpoint  string `json:"endpoint,omitempty"`
	Region    string `json:"region,omitempty"`
	PathStyle bool   `json:"path_style,omitempty"`
	// Auth is the auth method: default, basic, session, anonymous or
	// assume_role. Keys themselves come from the agent's environment.
	Auth string `json:"auth,omitempty"`
	// Roles maps a feature name (S3_INTEGRATION, LOAD, EXPORT) to the role
	// ARN the agent assumes for it.
	Roles map[string]string `json:"roles,omitempty"`
	// Grants are the buckets and prefixes each feature may use. They make
	// the least-privilege policy and, without an explicit Policy, fence
	// every task to them.
	Grants []Grant `json:"grants,omitempty"`
	// Policy is an IAM policy document (JSON) evaluated before each task.
	Policy json.RawMessage `json:"policy,omitempty"`
	// SourceARN names the instance as aws:SourceArn in policy conditions
	// (default arn:s3bridge:db:REGION:ACCOUNT:db:NAME); Account is
	// aws:SourceAccount.
	SourceARN string `json:"source_arn,omitempty"`
	Account   string `json:"account,omitempty"`
	// AllowPublicBuckets lifts RDS's refusal of public buckets for file
	// transfer, for endpoints without access control (a local fake).
	AllowPublicBuckets bool `json:"allow_public_buckets,omitempty"`
	// Binary is the s3bridge executable on the database host, which
	// PostgreSQL's table_import_from_s3 runs through COPY … FROM PROGRAM;
	// CredentialsFile is an AWS shared credentials file it reads (a path,
	// never the keys themselves).
	Binary          string `json:"binary,omitempty"`
	CredentialsFile string `json:"credentials_file,omitempty"`
	// PickupTimeoutSeconds bounds how long a synchronous SQL call
	// (query_export_to_s3, select_into_outfile_s3, load_data_from_s3)
	// waits for an agent to start its task; the task is then cancelled,
	// never left to run later. 0 means the default; a session may set its
	// own (PostgreSQL s3bridge.pickup_timeout, MariaDB
	// @s3bridge_pickup_timeout).
	PickupTimeoutSeconds int `json:"pickup_timeout_seconds,omitempty"`
	// FileMode is the octal mode ("0640") s3bridge gives the files it
	// creates in the file area and directory objects; directories get it
	// plus x wherever r is set (0750). Empty lets the agent's umask decide.
	// FileGroup is the group (name or ID) to give them, so a database
	// server in that group can read what the agent downloads.
	FileMode  string `json:"file_mode,omitempty"`
	FileGroup string `json:"file_group,omitempty"`
	// Compat names a vendor's SQL interface installed beside s3bridge's:
	// CompatAWSS3 gives PostgreSQL RDS's aws_s3 and aws_commons schemas.
	// Empty installs none (and removes one installed before).
	Compat string `json:"compat,omitempty"`
}

// CompatAWSS3 is Settings.Compat for RDS PostgreSQL's aws_s3 and
// aws_commons schemas.
const CompatAWSS3 = "aws_s3"

// Grant lets a feature use a bucket, optionally only under some prefixes.
type Grant struct {
	Feature  string   `json:"feature"`
	Bucket   string   `json:"bucket"`
	Prefixes []string `json:"prefixes,omitempty"`
	KMS      bool     `json:"kms,omitempty"`
}

// InstanceARN is the instance's aws:SourceArn.
func (s Settings) InstanceARN(name string) string {
	if s.SourceARN != "" {
		return s.SourceARN
	}
	return "arn:s3bridge:db:" + cmp.Or(s.Region, "local") + ":" + cmp.Or(s.Account, "000000000000") + ":db:" + name
}

// Limit is how many tasks of kind k may be in progress at once: its entry
// in Limits, else MaxRunning. A kind that isn't pooled has no limit: 0.
func (s Settings) Limit(k Kind) int {
	if !k.Pooled() {
		return 0
	}
	if n := s.Limits[k]; n > 0 {
		return n
	}
	return s.MaxRunning
}

// WithDefaults fills unset limits with the vendors' values.
func (s Settings) WithDefaults() Settings {
	s.MaxRunning = cmp.Or(s.MaxRunning, DefaultMaxRunning)
	s.MaxFiles = cmp.Or(s.MaxFiles, DefaultMaxFiles)
	s.MaxUploadBytes = cmp.Or(s.MaxUploadBytes, DefaultMaxUploadBytes)
	s.PickupTimeoutSeconds = cmp.Or(s.PickupTimeoutSeconds, DefaultPickupTimeoutSeconds)
	if s.AllowedExtensions == nil {
		s.AllowedExtensions = slices.Clone(DefaultAllowedExtensions)
	}
	if s.Directories == nil {
		s.Directories = map[string]string{}
	}
	if _, ok := s.Directories[DefaultDirectory]; !ok && s.Area != "" {
		s.Directories[DefaultDirectory] = s.Area
	}
	return s
}

// Validate reports settings that can't work.
func (s Settings) Validate() error {
	if s.MaxRunning < 1 {
		return fmt.Errorf("max running tasks %d: must be at least 1", s.MaxRunning)
	}
	for k, n := range s.Limits {
		if !k.Pooled() {
			return fmt.Errorf("max running %q tasks: no such kind of task has a limit (kinds: %s)", k, kindNames())
		}
		if n < 1 {
			return fmt.Errorf("max running %s tasks %d: must be at least 1", k, n)
		}
	}
	if s.MaxFiles < 1 {
		return fmt.Errorf("max files %d: must be at least 1", s.MaxFiles)
	}
	if s.MaxUploadBytes < 1 {
		return fmt.Errorf("max upload size %d: must be positive", s.MaxUploadBytes)
	}
	if s.PickupTimeoutSeconds < 0 {
		return fmt.Errorf("pickup timeout %d s: must be positive", s.PickupTimeoutSeconds)
	}
	if s.Area != "" && !filepath.IsAbs(s.Area) {
		return fmt.Errorf("file area %q: must be an absolute path", s.Area)
	}
	for name, p := range s.Directories {
		if name == "" || strings.ToUpper(name) != name {
			return fmt.Errorf("directory name %q: must be non-empty upper case", name)
		}
		if !filepath.IsAbs(p) {
			return fmt.Errorf("directory %s path %q: must be absolute", name, p)
		}
	}
	if s.Compat != "" && s.Compat != CompatAWSS3 {
		return fmt.Errorf("compat %q: want %s", s.Compat, CompatAWSS3)
	}
	switch s.Auth {
	case "", "default", "basic", "session", "anonymous", "assume_role":
	default:
		return fmt.Errorf("auth method %q: want default, basic, session, anonymous or assume_role", s.Auth)
	}
	return nil
}

// ExtensionAllowed reports whether a file name may be downloaded into the
// area. Names without an extension are always allowed, as on RDS.
func (s Settings) ExtensionAllowed(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	if ext == "" {
		return true
	}
	for _, a := range s.AllowedExtensions {
		if a == "*" || strings.ToLower(a) == ext {
			return true
		}
	}
	return false
}

// Directory returns the path of a directory object, by its name in any case.
func (s Settings) Directory(name string) (string, bool) {
	p, ok := s.Directories[strings.ToUpper(name)]
	return p, ok
}

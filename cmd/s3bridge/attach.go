package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/postgres"
	"github.com/s3bridge/s3bridge/policy"
	"github.com/s3bridge/s3bridge/s3store"
	"github.com/s3bridge/s3bridge/transfer"
)

// attachFlags are attach's flags: most fill the settings directly; the
// rest are turned into settings by settings().
type attachFlags struct {
	c                  common
	set                s3bridge.Settings
	dirs, roles        multi
	prefixes           multi
	allowExt           string
	maxUpload          sizeFlag
	feature, roleARN   string
	policyFile, bucket string
	kms, skipChecks    bool
	createArea         bool
	compatReplace      bool
	limits             kindLimits
	pickup             pickupFlag
	given              map[string]bool
}

func (a *attachFlags) register(fs *flagSet) {
	set := &a.set
	fs.StringVar(&set.Area, "area", "", "file area on the database host (RDS SQL Server's D:\\S3\\); it must exist, or pass --create-area")
	fs.BoolVar(&a.createArea, "create-area", false, "create the --area directory (with --file-mode and --file-group) when it doesn't exist")
	fs.Var(&a.dirs, "dir", "directory object NAME=PATH (repeatable); DATA_PUMP_DIR defaults to the area")
	fs.IntVar(&set.MaxRunning, "max-running", s3bridge.DefaultMaxRunning, "tasks of each kind (transfer, load, import, export) in progress at once")
	a.limits = kindLimitFlags(fs.FlagSet)
	fs.IntVar(&set.MaxFiles, "max-files", s3bridge.DefaultMaxFiles, "files allowed in the file area")
	fs.StringVar(&a.allowExt, "allow-ext", strings.Join(s3bridge.DefaultAllowedExtensions, ","), "extensions that may be downloaded into the area, comma-separated, or *")
	a.maxUpload = s3bridge.DefaultMaxUploadBytes
	fs.Var(&a.maxUpload, "max-upload-size", "largest file an upload may send, a `SIZE`: 50GiB, 1.5GB (GB = 10^9 bytes, GiB = 2^30)")
	fs.StringVar(&set.Endpoint, "endpoint", "", "S3 endpoint URL, http(s)://host[:port] (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)")
	fs.StringVar(&set.Region, "region", "", "default region, such as eu-west-3 (buckets' own regions are detected)")
	fs.BoolVar(&set.PathStyle, "path-style", false, "force path-style addressing (automatic for IP and localhost endpoints)")
	fs.StringVar(&set.Auth, "auth", "", "default, basic, session, anonymous or assume_role (keys come from the agent's environment)")
	fs.StringVar(&a.feature, "feature", "S3_INTEGRATION", "feature the --role-arn is for: S3_INTEGRATION, LOAD or EXPORT")
	fs.StringVar(&a.roleARN, "role-arn", "", "role the agent assumes through STS for --feature")
	fs.Var(&a.roles, "role", "FEATURE=ROLE_ARN (repeatable)")
	fs.StringVar(&a.policyFile, "policy", "", "IAM policy document s3bridge evaluates before each task (fences the instance even on S3 servers without IAM); "+
		"the output of s3bridge policy is accepted too (its PolicyDocument is used)")
	fs.StringVar(&a.bucket, "bucket", "", "grant --feature this bucket (makes the least-privilege policy; fences tasks when no --policy)")
	fs.Var(&a.prefixes, "prefix", "with --bucket: key prefix the feature may use (repeatable)")
	fs.BoolVar(&a.kms, "kms", false, "with --bucket: the bucket uses SSE-KMS")
	fs.StringVar(&set.SourceARN, "source-arn", "", "the instance's ARN for aws:SourceArn (default arn:s3bridge:db:REGION:ACCOUNT:db:NAME)")
	fs.StringVar(&set.Account, "account", "", "the instance's account for aws:SourceAccount")
	fs.BoolVar(&a.skipChecks, "no-check", false, "don't probe granted buckets and roles at attach")
	fs.StringVar(&set.Binary, "binary", "", "s3bridge executable on the database host for table_import_from_s3 (default: this one)")
	fs.StringVar(&set.CredentialsFile, "credentials-file", "", "AWS credentials file the database server's s3bridge reads for table_import_from_s3")
	fs.BoolVar(&set.AllowPublicBuckets, "allow-public-buckets", false, "allow file transfer with buckets open to the public (RDS refuses them)")
	fs.StringVar(&set.FileMode, "file-mode", "", "octal mode of the files s3bridge creates in the area and directories, such as 0640; directories get x where r is set (0750). Default: the agent's umask decides. "+
		"When the database server runs as another OS user (COPY … FROM a downloaded file), put it and the agent in one group and use --file-mode 0640 --file-group GROUP")
	fs.StringVar(&set.FileGroup, "file-group", "", "group (name or ID) given to the files and directories s3bridge creates in the area and directories, such as the database server's; the agent must belong to it (see --file-mode)")
	fs.StringVar(&set.Compat, "compat", "", "PostgreSQL: aws_s3 installs RDS's aws_s3 and aws_commons schemas beside s3bridge's (none removes them)")
	fs.BoolVar(&a.compatReplace, "compat-replace", false, "with --compat aws_s3: drop an existing aws_s3 or aws_commons schema or extension s3bridge didn't install (CASCADE) instead of refusing")
	a.pickup = pickupFlag(s3bridge.DefaultPickupTimeoutSeconds * time.Second)
	fs.Var(&a.pickup, "pickup-timeout", "how long a synchronous SQL call (query_export_to_s3, load_data_from_s3, select_into_outfile_s3) waits for an agent to start its task before it cancels the task and fails, "+
		"a `DURATION` of whole seconds from 1s to 24h, such as 30s or 2m; a session may set its own (docs/agent.md)")
}

// pickupFlag is --pickup-timeout: a Go duration of whole seconds, from 1s
// to a day (the settings hold seconds); anything else is refused rather
// than rounded.
type pickupFlag time.Duration

func (p *pickupFlag) String() string { return time.Duration(*p).String() }

func (p *pickupFlag) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second || d > 24*time.Hour || d%time.Second != 0 {
		return fmt.Errorf("want a whole number of seconds from 1s to 24h, such as 30s, 90s or 2m")
	}
	*p = pickupFlag(d)
	return nil
}

func runAttach(ctx context.Context, e *env, args []string) error {
	a := attachFlags{}
	fs := newFlags("attach", e, &a.c, withJSON)
	a.register(fs)
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	a.given = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { a.given[f.Name] = true })
	set, err := a.settings()
	if err != nil {
		return err
	}
	in, err := openInstance(ctx, a.c.db)
	if err != nil {
		return err
	}
	defer in.Close()
	// Re-attaching changes only what is given: keep the rest, and say
	// exactly what changes (on MariaDB the schema is server-wide: the
	// server is the instance, and attaching through another database's
	// URL changes the same settings).
	var changes []string
	if old, err := in.Settings(ctx); err == nil {
		before := settingFields(old.WithDefaults()) // merge shares old's maps
		set = merge(old, set, a.given)
		changes = settingChanges(before, settingFields(set.WithDefaults()))
		if n, ok := in.(interface {
			AttachedName(context.Context) (string, error)
		}); ok {
			if was, err := n.AttachedName(ctx); err == nil && was != "" && was != in.Name() {
				changes = append(changes, fmt.Sprintf("database_name: %s → %s (the default database for tables; tasks are recorded under it)", was, in.Name()))
			}
		}
	} else if !errors.Is(err, s3bridge.ErrNotAttached) {
		return err
	}
	for _, c := range changes {
		fmt.Fprintln(e.stderr, "changed "+c)
	}
	// Issue 16: PostgreSQL's table_import_from_s3 runs s3-cat on the
	// database host, which must reach the same endpoint.
	var pinned string
	if _, ok := in.(*postgres.Instance); ok && !a.given["endpoint"] {
		set, pinned = pinEndpoint(set, e.getenv)
	}
	if !a.skipChecks {
		if err := checkRoles(ctx, e, set); err != nil {
			return err
		}
	}
	if err := a.attach(ctx, in, set); err != nil {
		return err
	}
	got, err := in.Settings(ctx)
	if err != nil {
		return err
	}
	if a.c.json {
		err = writeJSON(e.stdout, struct {
			Instance string            `json:"instance"`
			Settings s3bridge.Settings `json:"settings"`
			Recorded string            `json:"recorded,omitempty"`
		}{in.Name(), got, pinned})
	} else {
		err = printSettings(e, in.Name(), got, pinned)
	}
	// MariaDB says which forms of its SQL interface the server allowed
	// (procedures always; the old functions where the binary log permits).
	if n, ok := in.(interface{ InstallNote() string }); ok && n.InstallNote() != "" {
		fmt.Fprintln(e.stderr, n.InstallNote())
	}
	if len(got.Grants) > 0 && !a.skipChecks {
		// A missing permission is reported now; attach still
		// succeeds so the operator can fix the bucket policy and re-check.
		out := e
		if a.c.json {
			out = &env{stdout: io.Discard, stderr: e.stderr, getenv: e.getenv}
		}
		if cerr := checkInstance(ctx, out, in.Name(), got, ""); cerr != nil {
			fmt.Fprintf(e.stderr, "warning: %v (run s3bridge check --db … for the details after fixing)\n", cerr)
		}
	}
	return err
}

// settings turns the flags into the settings they give, checking each: a
// value that can't work is refused here, naming its flag, rather than
// stored to fail when a task runs.
func (a *attachFlags) settings() (s3bridge.Settings, error) {
	set := a.set
	var err error
	set.Limits = a.limits.given(a.given)
	set.MaxUploadBytes = int64(a.maxUpload)
	set.PickupTimeoutSeconds = int(time.Duration(a.pickup) / time.Second)
	if err := a.checkStore(); err != nil {
		return set, err
	}
	if set.Compat, err = a.compat(); err != nil {
		return set, err
	}
	if set.FileMode != "" {
		mode, err := transfer.ParseFileMode(set.FileMode)
		if err != nil {
			return set, usageErrorf("attach", "--file-mode: %w", err)
		}
		set.FileMode = fmt.Sprintf("%04o", uint32(mode))
	}
	if set.FileGroup != "" {
		if _, err := transfer.LookupGroup(set.FileGroup); err != nil {
			return set, usageErrorf("attach", "--file-group: %w", err)
		}
	}
	if set.Binary == "" {
		if exe, err := os.Executable(); err == nil {
			set.Binary = exe
		}
	}
	set.Directories = map[string]string{}
	for _, d := range a.dirs {
		name, path, ok := strings.Cut(d, "=")
		if !ok || name == "" || path == "" {
			return set, usageErrorf("attach", "--dir %q: want NAME=PATH", d)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return set, fmt.Errorf("--dir %s: %w", d, err)
		}
		set.Directories[strings.ToUpper(name)] = abs
	}
	if set.Area, err = a.area(set); err != nil {
		return set, err
	}
	set.AllowedExtensions = extensions(a.allowExt)
	if set.Policy, err = readPolicy(a.policyFile); err != nil {
		return set, err
	}
	if a.bucket != "" {
		if _, err := policy.ParseFeature(a.feature); err != nil {
			return set, usageErrorf("attach", "--feature: %w", err)
		}
		set.Grants = []s3bridge.Grant{{Feature: strings.ToUpper(a.feature), Bucket: a.bucket, Prefixes: a.prefixes, KMS: a.kms}}
	}
	set.Roles = map[string]string{}
	if a.roleARN != "" {
		set.Roles[strings.ToUpper(a.feature)] = a.roleARN
	}
	for _, r := range a.roles {
		f, arn, ok := strings.Cut(r, "=")
		if !ok {
			return set, usageErrorf("attach", "--role %q: want FEATURE=ROLE_ARN", r)
		}
		set.Roles[strings.ToUpper(f)] = arn
	}
	return set, nil
}

// regionRE is what a region name may look like: AWS's (eu-west-3) and
// S3-compatible servers' own (garage, auto), never spaces or punctuation,
// which would only fail inside the request signature.
var regionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// checkStore checks the object store flags: endpoint, region, auth.
func (a *attachFlags) checkStore() error {
	if ep := a.set.Endpoint; ep != "" {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("attach", "--endpoint %q: want an http(s) URL such as https://s3.eu-west-3.amazonaws.com or http://127.0.0.1:9000", ep)
		}
	}
	if r := a.set.Region; r != "" && !regionRE.MatchString(r) {
		return usageErrorf("attach", "--region %q: want a region name such as eu-west-3 (letters, digits and dashes)", r)
	}
	switch a.set.Auth {
	case "", s3store.AuthDefault, s3store.AuthBasic, s3store.AuthSession, s3store.AuthAnonymous, s3store.AuthAssumeRole:
	default:
		return usageErrorf("attach", "--auth %q: want default, basic, session, anonymous or assume_role", a.set.Auth)
	}
	return nil
}

// area returns --area as an absolute path to a directory that exists,
// creating it with the instance's file mode and group for --create-area.
func (a *attachFlags) area(set s3bridge.Settings) (string, error) {
	if set.Area == "" {
		if a.createArea {
			return "", usageErrorf("attach", "--create-area needs --area DIR")
		}
		return "", nil
	}
	abs, err := filepath.Abs(set.Area)
	if err != nil {
		return "", fmt.Errorf("--area: %w", err)
	}
	fi, err := os.Stat(abs)
	switch {
	case err == nil && !fi.IsDir():
		return "", usageErrorf("attach", "--area %s: not a directory", abs)
	case err == nil:
		return abs, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("--area: %w", err)
	case !a.createArea:
		return "", usageErrorf("attach", "--area %s: no such directory (create it, or pass --create-area; the area is on the database host, where the agent runs)", abs)
	}
	perm, err := transfer.PermOf(set)
	if err != nil {
		return "", err
	}
	d, err := transfer.OpenDir(abs, true, perm)
	if err != nil {
		return "", fmt.Errorf("--create-area: %w", err)
	}
	return abs, d.Close()
}

// extensions reads --allow-ext: lower case, each with its dot, or *.
func extensions(list string) []string {
	var out []string
	for _, x := range strings.Split(list, ",") {
		if x = strings.ToLower(strings.TrimSpace(x)); x != "" {
			if x != "*" && !strings.HasPrefix(x, ".") {
				x = "." + x
			}
			out = append(out, x)
		}
	}
	return out
}

// readPolicy reads --policy: a policy document, or the document s3bridge
// policy prints, of which the permission policy is kept. Unknown
// operators, keys or bad fields fail now, not at 2 a.m.
func readPolicy(file string) ([]byte, error) {
	if file == "" {
		return nil, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, usageErrorf("attach", "--policy: %w", err)
	}
	_, perms, err := policy.ParsePermissions(file, data)
	if err != nil {
		return nil, usageErrorf("attach", "--policy: %w", err)
	}
	return perms, nil
}

func runDetach(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("detach", e, &c, withJSON)
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	return withInstance(ctx, &c, func(in instance.Instance) error {
		if err := in.Detach(ctx); err != nil {
			return err
		}
		if c.json {
			return writeJSON(e.stdout, struct {
				Instance string `json:"instance"`
				Detached bool   `json:"detached"`
			}{in.Name(), true})
		}
		fmt.Fprintf(e.stdout, "detached %s: SQL functions removed, tasks and files kept\n", in.Name())
		return nil
	})
}

// checkRoles has STS assume each role now, so a role STS refuses is
// reported at attach with STS's reason.
func checkRoles(ctx context.Context, e *env, set s3bridge.Settings) error {
	st := newStores(e.getenv, nil)
	for feature, arn := range set.Roles {
		c, err := st.client(ctx, set, feature)
		if err == nil {
			err = c.Credentials(ctx)
		}
		if err != nil {
			return fmt.Errorf("role %s for %s: %w", arn, feature, err)
		}
	}
	return nil
}

// merge applies the flags that were given to the stored settings.
func merge(old, set s3bridge.Settings, given map[string]bool) s3bridge.Settings {
	out := old
	pick := func(flag string, apply func()) {
		if given[flag] {
			apply()
		}
	}
	pick("area", func() {
		// DATA_PUMP_DIR follows the area unless it was registered apart.
		if out.Directories[s3bridge.DefaultDirectory] == out.Area {
			delete(out.Directories, s3bridge.DefaultDirectory)
		}
		out.Area = set.Area
	})
	pick("dir", func() {
		for k, v := range set.Directories {
			out.Directories[k] = v
		}
	})
	pick("max-running", func() { out.MaxRunning = set.MaxRunning })
	for _, k := range s3bridge.Kinds() {
		pick(limitFlag(k), func() { out.Limits = withLimit(out.Limits, k, set.Limits[k]) })
	}
	pick("max-files", func() { out.MaxFiles = set.MaxFiles })
	pick("allow-ext", func() { out.AllowedExtensions = set.AllowedExtensions })
	pick("max-upload-size", func() { out.MaxUploadBytes = set.MaxUploadBytes })
	pick("endpoint", func() { out.Endpoint = set.Endpoint })
	pick("region", func() { out.Region = set.Region })
	pick("path-style", func() { out.PathStyle = set.PathStyle })
	pick("auth", func() { out.Auth = set.Auth })
	if out.Roles == nil {
		out.Roles = map[string]string{}
	}
	for k, v := range set.Roles {
		out.Roles[k] = v
	}
	pick("policy", func() { out.Policy = set.Policy })
	pick("bucket", func() { out.Grants = mergeGrants(out.Grants, set.Grants) })
	pick("source-arn", func() { out.SourceARN = set.SourceARN })
	pick("account", func() { out.Account = set.Account })
	pick("allow-public-buckets", func() { out.AllowPublicBuckets = set.AllowPublicBuckets })
	pick("binary", func() { out.Binary = set.Binary })
	pick("credentials-file", func() { out.CredentialsFile = set.CredentialsFile })
	pick("file-mode", func() { out.FileMode = set.FileMode })
	pick("file-group", func() { out.FileGroup = set.FileGroup })
	pick("compat", func() { out.Compat = set.Compat })
	pick("pickup-timeout", func() { out.PickupTimeoutSeconds = set.PickupTimeoutSeconds })
	if out.Binary == "" {
		out.Binary = set.Binary
	}
	return out
}

// mergeGrants replaces the grant of the same feature and bucket, or adds it.
func mergeGrants(old, add []s3bridge.Grant) []s3bridge.Grant {
	out := append([]s3bridge.Grant(nil), old...)
	for _, a := range add {
		replaced := false
		for i, o := range out {
			if o.Feature == a.Feature && o.Bucket == a.Bucket {
				out[i], replaced = a, true
			}
		}
		if !replaced {
			out = append(out, a)
		}
	}
	return out
}

// settingFields flattens settings to "name" → JSON value, with one entry
// per directory object.
func settingFields(s s3bridge.Settings) map[string]string {
	m := map[string]any{}
	b, _ := json.Marshal(s)
	json.Unmarshal(b, &m)
	out := map[string]string{}
	for k, v := range m {
		if dirs, ok := v.(map[string]any); ok && k == "directories" {
			for d, p := range dirs {
				out["directory "+d] = fmt.Sprint(p)
			}
			continue
		}
		j, _ := json.Marshal(v)
		out[k] = string(j)
	}
	return out
}

// settingChanges lists, field by field, what a re-attach changes: "name:
// old → new", directory objects and grants one by one, so that nothing
// merges silently.
func settingChanges(a, b map[string]string) []string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		was, ok1 := a[k]
		now, ok2 := b[k]
		switch {
		case !ok1:
			out = append(out, fmt.Sprintf("%s: (none) → %s", k, now))
		case !ok2:
			out = append(out, fmt.Sprintf("%s: %s → (none)", k, was))
		case was != now:
			out = append(out, fmt.Sprintf("%s: %s → %s", k, was, now))
		}
	}
	return out
}

// compat reads --compat: aws_s3, or none to remove the layer.
func (a *attachFlags) compat() (string, error) {
	switch c := strings.ToLower(a.set.Compat); c {
	case "", "none":
		if a.compatReplace {
			return "", usageErrorf("attach", "--compat-replace goes with --compat aws_s3")
		}
		return "", nil
	case s3bridge.CompatAWSS3:
		return c, nil
	default:
		return "", usageErrorf("attach", "--compat %q: want aws_s3 (RDS PostgreSQL's aws_s3 and aws_commons schemas) or none", a.set.Compat)
	}
}

// attach stores the settings and installs the SQL interface. The aws_s3
// compatibility layer is PostgreSQL's; --compat-replace lets it drop a
// foreign aws_s3 schema.
func (a *attachFlags) attach(ctx context.Context, in instance.Instance, set s3bridge.Settings) error {
	pg, isPG := in.(*postgres.Instance)
	if set.Compat != "" && !isPG {
		return fmt.Errorf("--compat %s: PostgreSQL only (on MariaDB, Aurora's statements run through s3bridge sql or CALL s3bridge.load_data_from_s3)", set.Compat)
	}
	if a.compatReplace {
		return pg.AttachReplacing(ctx, set)
	}
	return in.Attach(ctx, set)
}

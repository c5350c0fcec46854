package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/postgres"
	"github.com/s3bridge/s3bridge/policy"
	"github.com/s3bridge/s3bridge/transfer"
)

func runAttach(ctx context.Context, e *env, args []string) error {
	var (
		c                   common
		set                 s3bridge.Settings
		dirs, roles         multi
		allowExt, maxUpload string
		feature, roleARN    string
	)
	fs := newFlags("attach", e, &c, false)
	fs.StringVar(&set.Area, "area", "", "file area on the database host (RDS SQL Server's D:\\S3\\)")
	fs.Var(&dirs, "dir", "directory object NAME=PATH (repeatable); DATA_PUMP_DIR defaults to the area")
	fs.IntVar(&set.MaxRunning, "max-running", s3bridge.DefaultMaxRunning, "tasks of each kind (transfer, load, export) in progress at once")
	limits := kindLimitFlags(fs)
	fs.IntVar(&set.MaxFiles, "max-files", s3bridge.DefaultMaxFiles, "files allowed in the file area")
	fs.StringVar(&allowExt, "allow-ext", strings.Join(s3bridge.DefaultAllowedExtensions, ","), "extensions that may be downloaded into the area, comma-separated, or *")
	fs.StringVar(&maxUpload, "max-upload-size", "50GB", "largest file an upload may send")
	fs.StringVar(&set.Endpoint, "endpoint", "", "S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)")
	fs.StringVar(&set.Region, "region", "", "default region (buckets' own regions are detected)")
	fs.BoolVar(&set.PathStyle, "path-style", false, "force path-style addressing (automatic for IP and localhost endpoints)")
	fs.StringVar(&set.Auth, "auth", "", "default, basic, session, anonymous or assume_role (keys come from the agent's environment)")
	fs.StringVar(&feature, "feature", "S3_INTEGRATION", "feature the --role-arn is for: S3_INTEGRATION, LOAD or EXPORT")
	fs.StringVar(&roleARN, "role-arn", "", "role the agent assumes through STS for --feature")
	fs.Var(&roles, "role", "FEATURE=ROLE_ARN (repeatable)")
	var (
		policyFile      string
		bucket          string
		prefixes        multi
		kms, skipChecks bool
	)
	fs.StringVar(&policyFile, "policy", "", "IAM policy document s3bridge evaluates before each task (fences the instance even on S3 servers without IAM)")
	fs.StringVar(&bucket, "bucket", "", "grant --feature this bucket (makes the least-privilege policy; fences tasks when no --policy)")
	fs.Var(&prefixes, "prefix", "with --bucket: key prefix the feature may use (repeatable)")
	fs.BoolVar(&kms, "kms", false, "with --bucket: the bucket uses SSE-KMS")
	fs.StringVar(&set.SourceARN, "source-arn", "", "the instance's ARN for aws:SourceArn (default arn:s3bridge:db:REGION:ACCOUNT:db:NAME)")
	fs.StringVar(&set.Account, "account", "", "the instance's account for aws:SourceAccount")
	fs.BoolVar(&skipChecks, "no-check", false, "don't probe granted buckets and roles at attach")
	fs.StringVar(&set.Binary, "binary", "", "s3bridge executable on the database host for table_import_from_s3 (default: this one)")
	fs.StringVar(&set.CredentialsFile, "credentials-file", "", "AWS credentials file the database server's s3bridge reads for table_import_from_s3")
	fs.BoolVar(&set.AllowPublicBuckets, "allow-public-buckets", false, "allow file transfer with buckets open to the public (RDS refuses them)")
	fs.StringVar(&set.FileMode, "file-mode", "", "octal mode of the files s3bridge creates in the area and directories, such as 0640; directories get x where r is set (0750). Default: the agent's umask decides. "+
		"When the database server runs as another OS user (COPY … FROM a downloaded file), put it and the agent in one group and use --file-mode 0640 --file-group GROUP")
	fs.StringVar(&set.FileGroup, "file-group", "", "group (name or ID) given to the files and directories s3bridge creates in the area and directories, such as the database server's; the agent must belong to it (see --file-mode)")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	set.Limits = limits.given(given)
	if set.FileMode != "" {
		mode, err := transfer.ParseFileMode(set.FileMode)
		if err != nil {
			return fmt.Errorf("--file-mode: %w", err)
		}
		set.FileMode = fmt.Sprintf("%04o", uint32(mode))
	}
	if set.FileGroup != "" {
		if _, err := transfer.LookupGroup(set.FileGroup); err != nil {
			return fmt.Errorf("--file-group: %w", err)
		}
	}
	if set.Binary == "" {
		if exe, err := os.Executable(); err == nil {
			set.Binary = exe
		}
	}
	set.Directories = map[string]string{}
	for _, d := range dirs {
		name, path, ok := strings.Cut(d, "=")
		if !ok || name == "" || path == "" {
			return fmt.Errorf("--dir %q: want NAME=PATH", d)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return fmt.Errorf("--dir %s: %w", d, err)
		}
		set.Directories[strings.ToUpper(name)] = abs
	}
	if set.Area != "" {
		abs, err := filepath.Abs(set.Area)
		if err != nil {
			return fmt.Errorf("--area: %w", err)
		}
		set.Area = abs
	}
	set.AllowedExtensions = nil
	for _, x := range strings.Split(allowExt, ",") {
		if x = strings.ToLower(strings.TrimSpace(x)); x != "" {
			if x != "*" && !strings.HasPrefix(x, ".") {
				x = "." + x
			}
			set.AllowedExtensions = append(set.AllowedExtensions, x)
		}
	}
	n, err := parseSize(maxUpload)
	if err != nil {
		return fmt.Errorf("--max-upload-size: %w", err)
	}
	set.MaxUploadBytes = n
	if policyFile != "" {
		data, err := os.ReadFile(policyFile)
		if err != nil {
			return fmt.Errorf("--policy: %w", err)
		}
		// Unknown operators, keys or bad fields fail now, not at 2 a.m.
		if _, err := policy.Parse(policyFile, data); err != nil {
			return fmt.Errorf("--policy: %w", err)
		}
		set.Policy = data
	}
	if bucket != "" {
		if _, err := policy.ParseFeature(feature); err != nil {
			return fmt.Errorf("--feature: %w", err)
		}
		set.Grants = []s3bridge.Grant{{Feature: strings.ToUpper(feature), Bucket: bucket, Prefixes: prefixes, KMS: kms}}
	}
	set.Roles = map[string]string{}
	if roleARN != "" {
		set.Roles[strings.ToUpper(feature)] = roleARN
	}
	for _, r := range roles {
		f, arn, ok := strings.Cut(r, "=")
		if !ok {
			return fmt.Errorf("--role %q: want FEATURE=ROLE_ARN", r)
		}
		set.Roles[strings.ToUpper(f)] = arn
	}
	return withInstance(ctx, &c, func(in instance.Instance) error {
		// Re-attaching changes only what is given: keep the rest.
		if old, err := in.Settings(ctx); err == nil {
			set = merge(old, set, given)
		}
		// Issue 16: PostgreSQL's table_import_from_s3 runs s3-cat on the
		// database host, which must reach the same endpoint.
		var pinned string
		if _, ok := in.(*postgres.Instance); ok && !given["endpoint"] {
			set, pinned = pinEndpoint(set, e.getenv)
		}
		if !skipChecks {
			if err := checkRoles(ctx, e, set); err != nil {
				return err
			}
		}
		if err := in.Attach(ctx, set); err != nil {
			return err
		}
		got, err := in.Settings(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "attached %s: area %s, directories %v, max running %d, max files %d\n",
			in.Name(), got.Area, got.Directories, got.MaxRunning, got.MaxFiles)
		if pinned != "" {
			fmt.Fprintf(e.stdout, "recorded %s for the agents and the database host's s3bridge (--endpoint and --region change it)\n", pinned)
		}
		if len(got.Grants) > 0 && !skipChecks {
			// A missing permission is reported now; attach still succeeds
			// so the operator can fix the bucket policy and re-check.
			if err := checkInstance(ctx, e, in.Name(), got, ""); err != nil {
				fmt.Fprintf(e.stderr, "warning: %v (run s3bridge check --db … after fixing)\n", err)
			}
		}
		return nil
	})
}

func runDetach(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("detach", e, &c, false)
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	return withInstance(ctx, &c, func(in instance.Instance) error {
		if err := in.Detach(ctx); err != nil {
			return err
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
	if out.Binary == "" {
		out.Binary = set.Binary
	}
	return out
}

// parseSize reads 50GB, 512MiB, 1024 (bytes). Decimal and binary units are
// both accepted; RDS's "50 GB" is read as 50 GiB.
func parseSize(s string) (int64, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	units := []struct {
		suffix string
		mult   int64
	}{{"TIB", 1 << 40}, {"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number with an optional unit (KB, MB, GB, TB)", s)
	}
	return n * mult, nil
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

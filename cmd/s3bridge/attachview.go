package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/dustin/go-humanize"

	"github.com/s3bridge/s3bridge"
)

// printSettings prints what attach stored, one setting a line, with what an
// empty value means.
func printSettings(e *env, name string, set s3bridge.Settings, pinned string) error {
	fmt.Fprintf(e.stdout, "attached %s:\n", name)
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(w, "  %s\t%s\n", k, v) }
	row("area", cmp.Or(set.Area, "none: file transfer tasks need attach --area DIR"))
	row("directories", joinMap(set.Directories, "none"))
	row("endpoint", cmp.Or(set.Endpoint, "the agent's environment (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL), else AWS"))
	row("region", cmp.Or(set.Region, "the agent's environment (AWS_REGION), else us-east-1; buckets' own regions are detected"))
	style := "automatic (path style for IP and localhost endpoints)"
	if set.PathStyle {
		style = "path style"
	}
	row("addressing", style)
	row("auth", cmp.Or(set.Auth, "default (the SDK's chain in the agent's environment)"))
	running := fmt.Sprint(set.MaxRunning)
	if len(set.Limits) > 0 {
		var ks []string
		for _, k := range slices.Sorted(maps.Keys(set.Limits)) {
			ks = append(ks, fmt.Sprintf("%s %d", k, set.Limits[k]))
		}
		running += " of each kind (" + strings.Join(ks, ", ") + ")"
	} else {
		running += " of each kind"
	}
	row("max running", running)
	row("max files", fmt.Sprint(set.MaxFiles))
	row("max upload size", humanize.IBytes(uint64(set.MaxUploadBytes)))
	row("allowed extensions", strings.Join(set.AllowedExtensions, " "))
	row("roles", joinMap(set.Roles, "none: the agent's own credentials"))
	var grants []string
	for _, g := range set.Grants {
		where := "s3://" + g.Bucket + "/"
		if len(g.Prefixes) > 0 {
			where = "s3://" + g.Bucket + "/{" + strings.Join(g.Prefixes, ",") + "}"
		}
		grants = append(grants, g.Feature+" "+where)
	}
	row("grants", cmp.Or(strings.Join(grants, "; "), "none"))
	pol := "none: only the S3 server's policies decide"
	switch {
	case len(set.Policy) > 0:
		pol = fmt.Sprintf("attached (%d bytes)", len(set.Policy))
	case len(set.Grants) > 0:
		pol = "generated from the grants"
	}
	row("instance policy", pol)
	if set.FileMode != "" || set.FileGroup != "" {
		row("file mode, group", cmp.Or(set.FileMode, "umask")+", "+cmp.Or(set.FileGroup, "the agent's"))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if pinned != "" {
		fmt.Fprintf(e.stdout, "recorded %s for the agents and the database host's s3bridge (--endpoint and --region change it)\n", pinned)
	}
	return nil
}

func joinMap(m map[string]string, none string) string {
	if len(m) == 0 {
		return none
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return strings.Join(out, " ")
}

package main

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/s3bridge/s3bridge"
)

// pinEndpoint records in set the S3 endpoint this process takes from its
// environment, and the region with it, when the instance names none: the
// database host's s3bridge, which table_import_from_s3 runs as the
// database server's user, has no such environment and would otherwise go
// to AWS while the agent and the CLI go to the endpoint. The SDK's order is
// followed: AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, none when
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true. Path style needs no record:
// it follows from the endpoint (IP and localhost hosts), or from
// --path-style, which is stored as given. It returns what it recorded, for
// attach to say, or "". Attach calls it for PostgreSQL instances only, the
// one kind with a database-host s3bridge; elsewhere an empty endpoint
// still means each agent's environment decides.
func pinEndpoint(set s3bridge.Settings, getenv func(string) string) (s3bridge.Settings, string) {
	if set.Endpoint != "" || strings.EqualFold(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return set, ""
	}
	name, endpoint := "AWS_ENDPOINT_URL_S3", getenv("AWS_ENDPOINT_URL_S3")
	if endpoint == "" {
		name, endpoint = "AWS_ENDPOINT_URL", getenv("AWS_ENDPOINT_URL")
	}
	if endpoint == "" {
		return set, ""
	}
	set.Endpoint = endpoint
	note := fmt.Sprintf("endpoint %s (from %s)", endpoint, name)
	// An endpoint other than AWS tells no region; the one this process
	// signs for is the one that works there.
	if region := cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")); set.Region == "" && region != "" {
		set.Region = region
		note += ", region " + region
	}
	return set, note
}

package s3bridge

import (
	"errors"
	"fmt"
)

// Guard decides whether an S3 action may be performed on a resource (an
// ARN, Location.ARN), before any byte moves; *policy.Guard is the
// instance's own policy. Allow's error wraps ErrAccessDenied and names the
// action, the resource and the deciding statement.
type Guard interface {
	Allow(action, resource string, cond map[string][]string) error
}

// AllowAll is the Guard of an instance without a policy of its own: S3's
// policies alone decide.
type AllowAll struct{}

// Allow allows everything.
func (AllowAll) Allow(string, string, map[string][]string) error { return nil }

// At returns the object key in l's bucket, partition and region: the
// objects under a prefix, the parts of an export.
func (l Location) At(key string) Location {
	l.Key = key
	return l
}

// ByServer names the action and the resource when the S3 server itself
// denied a request, so its AccessDenied reads like a Guard's. Other errors
// are returned as they are.
func ByServer(action string, at Location, err error) error {
	if errors.Is(err, ErrAccessDenied) {
		return fmt.Errorf("%s on %s: denied by the S3 server: %w", action, at.ARN(), err)
	}
	return err
}

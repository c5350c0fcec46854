package s3bridge

import (
	"context"
	"fmt"
	"time"
)

// Deps is what every capability's runner (transfer, load, export) is given
// to reach outside itself, built once in cmd/s3bridge and passed the same
// way to each. S is the capability's own small ObjectStore interface,
// which the S3 client implements. There is no logger: what a task has to
// say goes to its Reporter, which the agent stores in the task's log.
type Deps[S any] struct {
	// Store returns the object store for an instance's settings.
	Store func(ctx context.Context, set Settings) (S, error)
	// Guard returns the instance's policy; nil, or a nil Guard, means S3's
	// own policies alone decide.
	Guard func(set Settings, instance string) (Guard, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Open returns the object store and the guard for a task of instance:
// AllowAll when the instance has no policy of its own.
func (d Deps[S]) Open(ctx context.Context, set Settings, instance string) (S, Guard, error) {
	var none S
	if d.Store == nil {
		return none, nil, fmt.Errorf("no object store is configured")
	}
	store, err := d.Store(ctx, set)
	if err != nil {
		return none, nil, err
	}
	var g Guard = AllowAll{}
	if d.Guard != nil {
		ig, err := d.Guard(set, instance)
		if err != nil {
			return none, nil, fmt.Errorf("instance policy: %w", err)
		}
		if ig != nil {
			g = ig
		}
	}
	return store, g, nil
}

// Clock returns Now, or time.Now when it is unset.
func (d Deps[S]) Clock() func() time.Time {
	if d.Now == nil {
		return time.Now
	}
	return d.Now
}

package export

import (
	"context"
	"fmt"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/bulk"
)

// RunSource runs an export outside the task queue, its query on src: s3bridge
// proxy's SELECT … INTO OUTFILE S3, whose query runs on the client's own
// session. It does what Run does for a task's first attempt (the same
// preflight, part naming, streaming multipart uploads, manifest, overwrite
// and cleanup), under the policy of the instance named instance in set,
// with nothing recorded for a later attempt to resume: there is none.
// The files it writes are tagged as written by this call alone, so an
// earlier export's files at the URI are never taken for its own.
func (r *Runner) RunSource(ctx context.Context, src bulk.Source, p Params, set s3bridge.Settings, instance string, rep s3bridge.Reporter) (s3bridge.Result, error) {
	var none s3bridge.Result
	pl, err := p.resolve()
	if err != nil {
		return none, err
	}
	store, guard, err := r.Deps.Open(ctx, set, instance)
	if err != nil {
		return none, err
	}
	t := Task(p)
	t.DatabaseName, t.Attempt, t.CreatedAt = instance, 1, time.Now()
	if src == nil {
		return none, fmt.Errorf("export: no source to run the query on")
	}
	j := &job{r: r, t: t, set: set, pl: pl, src: src, store: store, rep: rep, guard: guard, now: r.Deps.Clock()}
	return j.run(ctx)
}

package connector

import (
	"fmt"
	"sort"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/bulk"
)

// choice is what a run loads out of what it listed.
type choice struct {
	load []s3bridge.Object // in key order
	// replaces is the ledger's ETag of each changed key being reloaded.
	replaces map[string]string
	loaded   int // in the ledger with the same ETag: skipped
	changed  int // in the ledger with another ETag: reloaded (on_changed: reload)
	kept     int // changed but on_changed: skip
	old      int // older than the look-back window
	deferred int // left for the next run by total_file_count_limit
}

// ledgerView is the part of the ledger a run compares its listing with.
type ledgerView struct {
	entries map[string]bulk.LedgerEntry
	newest  time.Time
	window  time.Duration
}

// choose picks the objects a run loads. Without incremental it takes
// every object listed. With it, an object is skipped when the ledger has
// its key with the same ETag, or when it is older than the look-back
// window behind the newest object the ledger holds (zero: no ledger yet,
// every object counts). A key whose ETag changed is reloaded, skipped or
// an error (onChanged). With a limit the oldest objects are taken first,
// so what is left for the next run is never older than what this run
// records: it stays within the next run's window.
func choose(objs []s3bridge.Object, v ledgerView, incremental bool, onChanged string, limit int) (choice, error) {
	var c choice
	var take []s3bridge.Object
	cutoff := v.newest.Add(-v.window)
	for _, o := range objs {
		if !incremental {
			take = append(take, o)
			continue
		}
		if !v.newest.IsZero() && o.LastModified.Before(cutoff) {
			c.old++
			continue
		}
		e, ok := v.entries[o.Key]
		switch {
		case !ok:
			take = append(take, o)
		case e.ETag == o.ETag:
			c.loaded++
		case onChanged == onChangedSkip:
			c.kept++
		case onChanged == onChangedError:
			return c, fmt.Errorf("%s changed since task %d loaded it (ETag %s, now %s), and in.on_changed is error",
				o.Key, e.TaskID, e.ETag, o.ETag)
		default:
			c.changed++
			if c.replaces == nil {
				c.replaces = map[string]string{}
			}
			c.replaces[o.Key] = e.ETag
			take = append(take, o)
		}
	}
	if limit > 0 && len(take) > limit {
		sort.SliceStable(take, func(i, j int) bool {
			if !take[i].LastModified.Equal(take[j].LastModified) {
				return take[i].LastModified.Before(take[j].LastModified)
			}
			return take[i].Key < take[j].Key
		})
		c.deferred = len(take) - limit
		take = take[:limit]
	}
	sort.Slice(take, func(i, j int) bool { return take[i].Key < take[j].Key })
	c.load = take
	return c, nil
}

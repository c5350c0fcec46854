package main

import (
	"flag"
	"fmt"
	"maps"

	"github.com/s3bridge/s3bridge"
)

// kindLimits are attach's --max-running-KIND flags: one kind's own limit
// on tasks in progress, apart from --max-running.
type kindLimits map[s3bridge.Kind]*int

func kindLimitFlags(fs *flag.FlagSet) kindLimits {
	l := kindLimits{}
	for _, k := range s3bridge.Kinds() {
		if k.Pooled() {
			l[k] = fs.Int(limitFlag(k), 0, fmt.Sprintf("%s tasks in progress at once (default and 0: --max-running)", k))
		}
	}
	return l
}

func limitFlag(k s3bridge.Kind) string { return "max-running-" + string(k) }

// given returns the limits set on the command line; 0 sets none.
func (l kindLimits) given(given map[string]bool) map[s3bridge.Kind]int {
	var out map[s3bridge.Kind]int
	for k, n := range l {
		if given[limitFlag(k)] {
			out = withLimit(out, k, *n)
		}
	}
	return out
}

// withLimit returns a copy of limits with kind k's limit n, or without
// one when n is 0 (the kind follows max_running again).
func withLimit(limits map[s3bridge.Kind]int, k s3bridge.Kind, n int) map[s3bridge.Kind]int {
	out := maps.Clone(limits)
	if out == nil {
		out = map[s3bridge.Kind]int{}
	}
	if n > 0 {
		out[k] = n
	} else {
		delete(out, k)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

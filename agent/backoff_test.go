package agent

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		name   string
		poll   time.Duration
		failed []bool
		want   []time.Duration
	}{
		{"healthy", 200 * ms, []bool{false, false}, []time.Duration{200 * ms, 200 * ms}},
		{"doubles to the bound", 200 * ms, []bool{true, true, true, true, true, true, true},
			[]time.Duration{200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, maxBackoff, maxBackoff}},
		{"a success resets it", time.Second, []bool{true, true, false, true},
			[]time.Duration{time.Second, 2 * time.Second, time.Second, time.Second}},
		{"never below the poll", 10 * time.Second, []bool{true, true}, []time.Duration{10 * time.Second, 10 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b backoff
			for i, failed := range tc.failed {
				if got := b.next(tc.poll, failed); got != tc.want[i] {
					t.Errorf("wait %d (failed %v): got %s, want %s", i, failed, got, tc.want[i])
				}
				if b.failing() != failed {
					t.Errorf("wait %d: failing() = %v, want %v", i, b.failing(), failed)
				}
			}
		})
	}
}

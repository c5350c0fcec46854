package run

import (
	"testing"
	"time"
)

// TestMeter: the rate is over the last 10s or more and falls to 0 as a
// pipeline goes idle; the lag is the last durable commit's; a checkpoint
// that makes nothing new durable keeps the lag and the last file.
func TestMeter(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var m Meter
	if s := m.Stats(t0); s != (Stats{}) {
		t.Fatalf("an empty meter: %+v", s)
	}
	m.durable(t0, 0, time.Time{}, "")
	m.durable(t0.Add(5*time.Second), 5000, t0.Add(4*time.Second), "a/changes/1.avro")
	m.durable(t0.Add(10*time.Second), 5000, t0.Add(9500*time.Millisecond), "a/changes/2.avro")
	m.durable(t0.Add(11*time.Second), 0, time.Time{}, "")
	for _, c := range []struct {
		at   time.Duration
		rate float64
	}{
		{10 * time.Second, 1000}, // 10,000 rows since t0
		{11 * time.Second, 10000 / 11.0},
		{25 * time.Second, 0}, // the samples of the last 10s+ hold no new rows
		{2 * time.Minute, 0},
	} {
		s := m.Stats(t0.Add(c.at))
		if diff := s.RowsPerSecond - c.rate; diff > 0.01 || diff < -0.01 {
			t.Errorf("at %s: %.2f rows/s, want %.2f", c.at, s.RowsPerSecond, c.rate)
		}
		if s.LagSeconds != 0.5 || s.LastFile != "a/changes/2.avro" || s.Rows != 10000 {
			t.Errorf("at %s: %+v", c.at, s)
		}
	}
}

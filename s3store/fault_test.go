package s3store

import (
	"testing"

	"github.com/s3bridge/s3bridge/internal/faultproxy"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestRegionNotGuessedOnServerError: a server failing with 503 fails the
// region lookup, after one round of retries, instead of guessing the
// configured region and caching the guess, which would sign every later
// request for the wrong region once the server is back.
func TestRegionNotGuessedOnServerError(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	p := faultproxy.Start(t, m.Endpoint)
	cfg := minioConfig(m)
	cfg.Endpoint, cfg.Region, cfg.backoff = p.URL, "eu-west-3", noWait
	c := newClient(t, cfg)
	p.Add(faultproxy.Rule{Action: faultproxy.SlowDown()})
	if got, err := c.BucketRegion(t.Context(), bucket); err == nil {
		t.Fatalf("BucketRegion while the server fails = %q, want an error", got)
	}
	if n := p.Count(faultproxy.GetBucketLocation); n != 0 {
		t.Errorf("%d GetBucketLocation requests during the outage, want none", n)
	}
	p.Clear()
	got, err := c.BucketRegion(t.Context(), bucket)
	if err != nil || got != m.Region {
		t.Fatalf("BucketRegion once the server is back = %q, %v; want %q", got, err, m.Region)
	}
}

// TestPublicProbeRetries: the anonymous probes of the public-access check
// retry a 503 as every request does, instead of failing the transfer that
// asked.
func TestPublicProbeRetries(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	p := faultproxy.Start(t, m.Endpoint)
	cfg := minioConfig(m)
	cfg.Endpoint, cfg.backoff = p.URL, noWait
	c := newClient(t, cfg)
	list := p.Add(faultproxy.Rule{Op: faultproxy.ListObjectsV2, Times: 2, Action: faultproxy.SlowDown()})
	get := p.Add(faultproxy.Rule{Op: faultproxy.GetObject, Times: 2, Action: faultproxy.InternalError()})
	why, err := c.PublicReason(t.Context(), bucket)
	if err != nil || why != "" {
		t.Fatalf("PublicReason of a private bucket through two 503s = %q, %v; want \"\", nil", why, err)
	}
	if list.Hits() != 2 || get.Hits() != 2 {
		t.Errorf("faults acted %d and %d times, want 2 each (the probes were not made?)", list.Hits(), get.Hits())
	}
}

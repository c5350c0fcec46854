package main

import (
	"testing"

	"github.com/s3bridge/s3bridge"
)

// TestPinEndpoint: attach records the endpoint (and region) the process
// takes from its environment when the instance names none, in the SDK's
// order, and leaves an endpoint the instance already has.
func TestPinEndpoint(t *testing.T) {
	tests := []struct {
		name                     string
		set                      s3bridge.Settings
		env                      map[string]string
		wantEndpoint, wantRegion string
		wantNote                 bool
	}{
		{"nothing in the environment", s3bridge.Settings{}, nil, "", "", false},
		{"AWS_ENDPOINT_URL", s3bridge.Settings{}, map[string]string{"AWS_ENDPOINT_URL": "http://minio:9000", "AWS_REGION": "eu-west-3"},
			"http://minio:9000", "eu-west-3", true},
		{"the S3 variable first", s3bridge.Settings{}, map[string]string{"AWS_ENDPOINT_URL": "http://a", "AWS_ENDPOINT_URL_S3": "http://s3", "AWS_DEFAULT_REGION": "r"},
			"http://s3", "r", true},
		{"stored region kept", s3bridge.Settings{Region: "mine"}, map[string]string{"AWS_ENDPOINT_URL": "http://a", "AWS_REGION": "r"},
			"http://a", "mine", true},
		{"stored endpoint kept", s3bridge.Settings{Endpoint: "http://stored"}, map[string]string{"AWS_ENDPOINT_URL": "http://a", "AWS_REGION": "r"},
			"http://stored", "", false},
		{"ignored by the SDK", s3bridge.Settings{}, map[string]string{"AWS_ENDPOINT_URL": "http://a", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
			"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, note := pinEndpoint(tt.set, func(k string) string { return tt.env[k] })
			if got.Endpoint != tt.wantEndpoint || got.Region != tt.wantRegion || (note != "") != tt.wantNote {
				t.Errorf("got endpoint %q region %q note %q, want %q %q (note %v)", got.Endpoint, got.Region, note, tt.wantEndpoint, tt.wantRegion, tt.wantNote)
			}
		})
	}
}

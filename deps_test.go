package s3bridge_test

import (
	"context"
	"errors"
	"testing"

	"github.com/s3bridge/s3bridge"
)

type store struct{ name string }

func TestDepsOpen(t *testing.T) {
	open := func(context.Context, s3bridge.Settings) (*store, error) { return &store{"s3"}, nil }
	bad := errors.New("bad policy")
	for _, tt := range []struct {
		name      string
		guard     func(s3bridge.Settings, string) (s3bridge.Guard, error)
		wantAllow bool
		wantErr   error
	}{
		{"no guard func", nil, true, nil},
		{"no policy", func(s3bridge.Settings, string) (s3bridge.Guard, error) { return nil, nil }, true, nil},
		{"policy", func(s3bridge.Settings, string) (s3bridge.Guard, error) { return denyAll{}, nil }, false, nil},
		{"broken policy", func(s3bridge.Settings, string) (s3bridge.Guard, error) { return nil, bad }, false, bad},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := s3bridge.Deps[*store]{Store: open, Guard: tt.guard}
			st, g, err := d.Open(t.Context(), s3bridge.Settings{}, "db")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Open: %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if st.name != "s3" {
				t.Errorf("store %v", st)
			}
			if allowed := g.Allow("s3:GetObject", "arn:aws:s3:::bkt/k", nil) == nil; allowed != tt.wantAllow {
				t.Errorf("guard allows: %v, want %v", allowed, tt.wantAllow)
			}
		})
	}
	if _, _, err := (s3bridge.Deps[*store]{}).Open(t.Context(), s3bridge.Settings{}, "db"); err == nil {
		t.Error("Open without a store: no error")
	}
}

type denyAll struct{}

func (denyAll) Allow(action, resource string, _ map[string][]string) error {
	return s3bridge.ErrAccessDenied
}

package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/instancetest"
	"github.com/s3bridge/s3bridge/instance/sqlite"
)

func TestConformance(t *testing.T) {
	instancetest.Run(t, func(t *testing.T) instance.Instance {
		in, err := sqlite.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "db.sqlite"))
		if err != nil {
			t.Fatal(err)
		}
		return in
	})
}

func TestPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sqlite:///var/lib/app.db", "/var/lib/app.db"},
		{"sqlite://rel/app.db", "rel/app.db"},
		{"sqlite:app.db", "app.db"},
	}
	for _, tc := range tests {
		got, err := sqlite.Path(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Path(%q): got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"postgres://x", "sqlite://", ":"} {
		if _, err := sqlite.Path(bad); err == nil {
			t.Errorf("Path(%q): want an error", bad)
		}
	}
}

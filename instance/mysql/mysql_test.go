package mysql_test

import (
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/instancetest"
	"github.com/s3bridge/s3bridge/instance/mysql"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

func open(t *testing.T) *mysql.Instance {
	t.Helper()
	in, err := mysql.Open(t.Context(), testenv.MariaDB(t))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestConformance(t *testing.T) {
	instancetest.Run(t, func(t *testing.T) instance.Instance { return open(t) })
}

// idleAgent attaches an instance with a long pickup timeout and returns
// it with beat, which records an agent that beats but claims nothing:
// call it before each call (the agent counts as gone 10 s after its last
// beat).
func idleAgent(t *testing.T) (*mysql.Instance, func()) {
	t.Helper()
	in := open(t)
	if err := in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir(), PickupTimeoutSeconds: 300}); err != nil {
		in.Close()
		t.Fatal(err)
	}
	return in, func() {
		if err := in.Beat(t.Context(), s3bridge.AgentInfo{ID: "idle", Host: "h", Version: "v", StartedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/bulk/bulktest"
	"github.com/s3bridge/s3bridge/instance/sqlite"
)

func bulkHarness() bulktest.Harness {
	return bulktest.Harness{
		Open: func(t *testing.T) (instance.Instance, *sql.DB) {
			in, err := sqlite.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "db.sqlite"))
			if err != nil {
				t.Fatal(err)
			}
			if err := in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir()}); err != nil {
				t.Fatal(err)
			}
			return in, in.DB()
		},
		Table:   `CREATE TABLE t (id INTEGER, name TEXT)`,
		History: func(instance.Instance) string { return `SELECT count(*) FROM "s3bridge_load_history"` },
	}
}

func TestSink(t *testing.T)   { bulktest.RunSink(t, bulkHarness()) }
func TestSource(t *testing.T) { bulktest.RunSource(t, bulkHarness()) }

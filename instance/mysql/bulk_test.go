package mysql_test

import (
	"database/sql"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/bulk/bulktest"
	"github.com/s3bridge/s3bridge/instance/mysql"
)

func bulkHarness() bulktest.Harness {
	return bulktest.Harness{
		Open: func(t *testing.T) (instance.Instance, *sql.DB) {
			in := open(t)
			if err := in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir()}); err != nil {
				t.Fatal(err)
			}
			return in, in.DB()
		},
		Table: `CREATE TABLE t (id INT, name TEXT)`,
		History: func(in instance.Instance) string {
			return "SELECT count(*) FROM `" + in.(*mysql.Instance).Schema() + "`.load_history"
		},
	}
}

func TestSink(t *testing.T)   { bulktest.RunSink(t, bulkHarness()) }
func TestSource(t *testing.T) { bulktest.RunSource(t, bulkHarness()) }

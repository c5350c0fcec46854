package tasktest

import (
	"path/filepath"
	"testing"

	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/mysql"
	"github.com/s3bridge/s3bridge/instance/postgres"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// Database is one kind of instance a capability's tests run on.
type Database struct {
	Name string
	// Open returns a fresh, unattached instance of the kind for one test:
	// a SQLite file in the test's directory, or a database of its own on
	// the test PostgreSQL or MariaDB.
	Open func(t *testing.T) instance.Instance
}

// Databases are the three kinds, in the order capability tests run them:
// SQLite, PostgreSQL, MariaDB.
func Databases() []Database {
	return []Database{
		{"sqlite", func(t *testing.T) instance.Instance {
			in, err := sqlite.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
			return opened(t, in, err)
		}},
		{"postgres", func(t *testing.T) instance.Instance {
			in, err := postgres.Open(t.Context(), testenv.Postgres(t))
			return opened(t, in, err)
		}},
		{"mariadb", func(t *testing.T) instance.Instance {
			in, err := mysql.Open(t.Context(), testenv.MariaDB(t))
			return opened(t, in, err)
		}},
	}
}

func opened(t *testing.T, in instance.Instance, err error) instance.Instance {
	t.Helper()
	if err != nil {
		t.Fatalf("open the instance: %v", err)
	}
	return in
}

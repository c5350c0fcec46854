package mysql_test

import (
	"testing"

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

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Attached reports whether s3bridge is attached to the SQLite file raw
// names, without changing the file: Open, for a database s3bridge owns,
// switches it to WAL and gives an empty file a header, which an
// application's database that s3bridge was never attached to must not get
// from a read-only command. It asks over a read-only connection with no
// pragmas; a file that doesn't exist is not attached and is not created.
func Attached(ctx context.Context, raw string) (bool, error) {
	p, err := Path(raw)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	db, err := sql.Open("sqlite", "file:"+p+"?mode=ro")
	if err != nil {
		return false, fmt.Errorf("open sqlite %s read-only: %w", p, err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, dialect.Attached).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite %s: look for s3bridge's tables: %w", p, err)
	}
	return n > 0, nil
}

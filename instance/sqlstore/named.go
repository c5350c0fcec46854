package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/s3bridge/s3bridge"
)

// named reads the row of a named object (a connector, a pipeline) from
// table: ErrNotFound when there is none. what names its kind in errors.
func named[T any](ctx context.Context, s *Store, what, table, columns, name string, scan func(scanner) (T, error)) (T, error) {
	v, err := scan(s.db.QueryRowContext(ctx, s.q(`SELECT `+columns+` FROM `+table+` WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("%s %s: %w", what, name, s3bridge.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("read %s %s on %s: %w", what, name, s.name, err)
	}
	return v, nil
}

// allNamed reads every named object of table, by name.
func allNamed[T any](ctx context.Context, s *Store, what, table, columns string, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+columns+` FROM `+table+` ORDER BY name`))
	if err != nil {
		return nil, fmt.Errorf("list %ss on %s: %w", what, s.name, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list %ss on %s: %w", what, s.name, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

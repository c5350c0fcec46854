package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrOtherServer means the database is a copy (a replica, a restore) of
// the server s3bridge was attached to: its tasks are that server's, and
// are run there.
var ErrOtherServer = errors.New("s3bridge serves only the server it was attached to (if this one is the primary now, attach it again)")

// checkServer runs Dialect.ServerCheck and returns ErrOtherServer, with
// the dialect's reason, when this server is not the attached one.
func (s *Store) checkServer(ctx context.Context) error {
	if s.d.ServerCheck == "" {
		return nil
	}
	var why sql.NullString
	err := s.db.QueryRowContext(ctx, s.q(s.d.ServerCheck)).Scan(&why)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check which server %s is: %w", s.name, err)
	}
	if why.Valid && why.String != "" {
		return fmt.Errorf("%s: %w", why.String, ErrOtherServer)
	}
	return nil
}

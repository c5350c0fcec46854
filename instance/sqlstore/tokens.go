package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/s3bridge/s3bridge"
)

// API tokens (issue 12): one row per token in {tokens}, with its name, its
// role and the SHA-256 of the secret, which is shown once when the token
// is made and kept nowhere. A revoked token's row is deleted.

// Token is a stored API token.
type Token struct {
	Name string
	// Role is admin, operator or viewer (package token).
	Role string
	// Hash is the SHA-256 of the secret, in hex.
	Hash      string
	CreatedAt time.Time
	// ExpiresAt is nil for a token that never expires.
	ExpiresAt *time.Time
}

// Expired reports whether the token has expired at now.
func (t Token) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

const tokenColumns = `name, role, token_hash, created_at, expires_at`

func (s *Store) tokens() string { return s.d.Table("tokens") }

func scanToken(r scanner) (Token, error) {
	var (
		t       Token
		expires sql.NullTime
	)
	err := r.Scan(&t.Name, &t.Role, &t.Hash, &t.CreatedAt, &expires)
	t.CreatedAt = t.CreatedAt.UTC()
	t.ExpiresAt = utcTime(expires)
	return t, err
}

// CreateToken stores t, or returns ErrExists when a token has its name.
// CreatedAt is set here.
func (s *Store) CreateToken(ctx context.Context, t Token) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM `+s.tokens()+` WHERE name = ?`), t.Name).Scan(&n); err != nil {
			return fmt.Errorf("create token %s on %s: %w", t.Name, s.name, err)
		}
		if n > 0 {
			return fmt.Errorf("token %s: %w", t.Name, s3bridge.ErrExists)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO `+s.tokens()+` (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?)`),
			t.Name, t.Role, t.Hash, s.now(), nullTime(t.ExpiresAt))
		if err != nil {
			return fmt.Errorf("create token %s on %s: %w", t.Name, s.name, err)
		}
		return nil
	})
}

// Tokens returns every stored token by name, expired ones included.
func (s *Store) Tokens(ctx context.Context) ([]Token, error) {
	return allNamed(ctx, s, "token", s.tokens(), tokenColumns, scanToken)
}

// TokenByHash returns the token whose secret has the SHA-256 hash, or
// ErrNotFound. It does not look at the expiry: Token.Expired does.
func (s *Store) TokenByHash(ctx context.Context, hash string) (Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, s.q(`SELECT `+tokenColumns+` FROM `+s.tokens()+` WHERE token_hash = ?`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("token: %w", s3bridge.ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("look up a token on %s: %w", s.name, err)
	}
	return t, nil
}

// RevokeToken deletes a token, or returns ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, name string) error {
	return s.one(ctx, "revoke token "+name, `DELETE FROM `+s.tokens()+` WHERE name = ?`, name)
}

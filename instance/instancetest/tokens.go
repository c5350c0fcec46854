package instancetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
)

// tokenStore is the API tokens' part of an instance.
type tokenStore interface {
	CreateToken(ctx context.Context, t sqlstore.Token) error
	Tokens(ctx context.Context) ([]sqlstore.Token, error)
	TokenByHash(ctx context.Context, hash string) (sqlstore.Token, error)
	RevokeToken(ctx context.Context, name string) error
}

// testTokens: a token is stored by name with its hash and role, found by
// its hash, listed, refused a second time under the same name, and gone
// once revoked; its expiry survives the round trip.
func testTokens(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	ts, ok := in.(tokenStore)
	if !ok {
		t.Fatalf("%T does not store tokens", in)
	}
	hashA := "a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3"
	hashB := "b3a8e0e1f9ab1bfe3a36f231f676f78bb30a519d2b21e6c530c0eee8ebb4a5d0"
	expires := time.Now().UTC().Add(90 * 24 * time.Hour).Truncate(time.Second)
	if err := ts.CreateToken(ctx, sqlstore.Token{Name: "ci", Role: "operator", Hash: hashA, ExpiresAt: &expires}); err != nil {
		t.Fatal(err)
	}
	if err := ts.CreateToken(ctx, sqlstore.Token{Name: "Grafana", Role: "viewer", Hash: hashB}); err != nil {
		t.Fatal(err)
	}
	if err := ts.CreateToken(ctx, sqlstore.Token{Name: "ci", Role: "admin", Hash: "c" + hashA[1:]}); !errors.Is(err, s3bridge.ErrExists) {
		t.Errorf("second token named ci: %v, want ErrExists", err)
	}
	got, err := ts.TokenByHash(ctx, hashA)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "ci" || got.Role != "operator" || got.Hash != hashA || got.ExpiresAt == nil || !got.ExpiresAt.Equal(expires) ||
		got.CreatedAt.IsZero() || time.Since(got.CreatedAt) > time.Minute {
		t.Errorf("token by hash: %+v (expires want %s)", got, expires)
	}
	if got.Expired(time.Now()) || !got.Expired(expires) {
		t.Errorf("Expired: %v now, %v at its expiry", got.Expired(time.Now()), got.Expired(expires))
	}
	if b, err := ts.TokenByHash(ctx, hashB); err != nil || b.ExpiresAt != nil || b.Expired(time.Now().Add(100*365*24*time.Hour)) {
		t.Errorf("a token without expiry: %+v, %v", b, err)
	}
	if _, err := ts.TokenByHash(ctx, "0"+hashA[1:]); !errors.Is(err, s3bridge.ErrNotFound) {
		t.Errorf("unknown hash: %v, want ErrNotFound", err)
	}
	all, err := ts.Tokens(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("list: %+v, %v", all, err)
	}
	if err := ts.RevokeToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.TokenByHash(ctx, hashA); !errors.Is(err, s3bridge.ErrNotFound) {
		t.Errorf("a revoked token: %v, want ErrNotFound", err)
	}
	if err := ts.RevokeToken(ctx, "ci"); !errors.Is(err, s3bridge.ErrNotFound) {
		t.Errorf("revoke twice: %v, want ErrNotFound", err)
	}
	if all, _ := ts.Tokens(ctx); len(all) != 1 || all[0].Name != "Grafana" {
		t.Errorf("list after revoke: %+v", all)
	}
}

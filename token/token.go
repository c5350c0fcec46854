// Package token makes and checks the API tokens of s3bridge serve: a
// token is 32 random bytes, shown once when it is made; the instance keeps
// only its SHA-256, with a name and a role. Roles are ordered: a viewer
// reads, an operator also creates and cancels tasks and runs connectors,
// an admin also manages connectors, pipelines and tokens.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Role is what a token may do.
type Role string

// The roles, from least to most.
const (
	Viewer   Role = "viewer"
	Operator Role = "operator"
	Admin    Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case Viewer:
		return 1
	case Operator:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// ParseRole reads a role name, refusing any other word.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.rank() == 0 {
		return "", fmt.Errorf("role %q: want admin, operator or viewer", s)
	}
	return r, nil
}

// Allows reports whether r may do what need may: an unknown role allows
// nothing.
func (r Role) Allows(need Role) bool {
	return r.rank() > 0 && r.rank() >= need.rank()
}

// Prefix starts every token, so that a token leaked into a log or a
// repository can be found by secret scanners.
const Prefix = "s3b_"

// New returns a fresh token: Prefix and 32 random bytes, base64url.
func New() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a token: %w", err)
	}
	return Prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// Hash is what the instance keeps of a token: its SHA-256, in hex. A token
// has 256 random bits, so a plain hash is enough: there is no password to
// guess.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Equal compares two hashes in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$`)

// CheckName refuses a token name that is empty, too long, or has
// characters other than letters, digits and . _ @ -.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("token name %q: want 1 to 100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", name)
	}
	return nil
}

// ParseExpiry reads a token's lifetime: a Go duration (36h, 90m) or a
// number of days (90d); "" or "0" for a token that never expires.
func ParseExpiry(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 100*365 {
			return 0, fmt.Errorf("expiry %q: want a number of days such as 90d, or a duration such as 36h", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("expiry %q: want a number of days such as 90d, or a duration such as 36h", s)
	}
	return d, nil
}

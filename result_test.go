package s3bridge_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/s3bridge/s3bridge"
)

// stated is a database error that carries its SQLSTATE.
type stated struct{ code string }

func (e stated) Error() string    { return "database error" }
func (e stated) SQLState() string { return e.code }

func TestErrorCode(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("load s3://b/k line 3: %w", err) }
	pgDenied := &pgconn.PgError{Code: "42501", Message: "permission denied for table t"}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"no error", nil, ""},
		{"policy denial", wrap(fmt.Errorf("s3:GetObject on arn:aws:s3:::b/k: explicitDeny: %w", s3bridge.ErrAccessDenied)), s3bridge.CodeAccessDenied},
		{"S3 server's denial", s3bridge.ByServer("s3:GetObject", s3bridge.Location{Bucket: "b", Key: "k"}, s3bridge.ErrAccessDenied), s3bridge.CodeAccessDenied},
		{"database denial marked denied", wrap(errors.Join(s3bridge.ErrAccessDenied, pgDenied)), s3bridge.CodeAccessDenied},
		{"missing object", wrap(s3bridge.ErrNotFound), s3bridge.CodeNotFound},
		{"existing file", wrap(s3bridge.ErrExists), s3bridge.CodeExists},
		{"limit", wrap(s3bridge.ErrLimit), s3bridge.CodeLimit},
		{"outside the area", wrap(s3bridge.ErrOutsideDirectory), s3bridge.CodeOutsideDirectory},
		{"lease lost", wrap(s3bridge.ErrLeaseLost), s3bridge.CodeLeaseLost},
		{"not attached", s3bridge.ErrNotAttached, s3bridge.CodeNotAttached},
		{"cancelled", wrap(context.Canceled), s3bridge.CodeCancelled},
		{"expired credentials", wrap(fmt.Errorf("s3: get object s3://b/k: %w", errors.Join(s3bridge.ErrAccessDenied, s3bridge.ErrCredentialsExpired))), s3bridge.CodeCredentialsExpired},
		{"connection lost", wrap(fmt.Errorf("copy: %w", s3bridge.ErrConnectionLost)), s3bridge.CodeConnectionLost},
		{"connection lost, with its SQLSTATE", wrap(errors.Join(s3bridge.ErrConnectionLost, &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"})), s3bridge.CodeConnectionLost},
		{"cancel that ended the session", wrap(errors.Join(context.Canceled, s3bridge.ErrConnectionLost)), s3bridge.CodeCancelled},
		{"PostgreSQL's own error", wrap(&pgconn.PgError{Code: "22012", Message: "division by zero"}), "22012"},
		{"PostgreSQL's denial, unmarked", wrap(pgDenied), "42501"},
		{"a SQLSTATE of another driver", wrap(stated{"23505"}), "23505"},
		{"not a SQLSTATE", wrap(stated{"nope!"}), s3bridge.CodeError},
		{"lower-case SQLSTATE", wrap(stated{"2200a"}), s3bridge.CodeError},
		// Text never decides: these only say so.
		{"message says access denied", errors.New("access denied (SQLSTATE 42501)"), s3bridge.CodeError},
		{"message says not found", errors.New("object not found"), s3bridge.CodeError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := s3bridge.ErrorCode(tt.err); got != tt.want {
				t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// TestErrorCodesAreNotSQLStates: a class never reads as a SQLSTATE, which
// the SQL functions tell apart by case (digits and upper-case letters).
func TestErrorCodesAreNotSQLStates(t *testing.T) {
	for _, c := range []string{s3bridge.CodeAccessDenied, s3bridge.CodeCredentialsExpired, s3bridge.CodeNotFound, s3bridge.CodeExists, s3bridge.CodeLimit,
		s3bridge.CodeOutsideDirectory, s3bridge.CodeLeaseLost, s3bridge.CodeNotAttached, s3bridge.CodeConnectionLost, s3bridge.CodeCancelled, s3bridge.CodeError} {
		for _, r := range c {
			if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				t.Errorf("class %q has %q: it could be taken for a SQLSTATE", c, r)
			}
		}
	}
}

// TestErrorCodesDocumented: docs/cli.md, which scripts branch by, names
// every error code a task can store.
func TestErrorCodesDocumented(t *testing.T) {
	doc, err := os.ReadFile("docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{s3bridge.CodeAccessDenied, s3bridge.CodeCredentialsExpired, s3bridge.CodeNotFound, s3bridge.CodeExists, s3bridge.CodeLimit,
		s3bridge.CodeOutsideDirectory, s3bridge.CodeLeaseLost, s3bridge.CodeNotAttached, s3bridge.CodeConnectionLost, s3bridge.CodeCancelled, s3bridge.CodeError} {
		if !strings.Contains(string(doc), "`"+c+"`") {
			t.Errorf("docs/cli.md does not list the error code `%s`", c)
		}
	}
}

func TestLocationAt(t *testing.T) {
	loc, err := s3bridge.ParseURI("arn:aws-cn:s3:::bkt/prefix/")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ key, want string }{
		{"prefix/part_00000", "arn:aws-cn:s3:::bkt/prefix/part_00000"},
		{"", "arn:aws-cn:s3:::bkt"},
	} {
		if got := loc.At(tt.key).ARN(); got != tt.want {
			t.Errorf("At(%q).ARN() = %q, want %q", tt.key, got, tt.want)
		}
	}
	err = s3bridge.ByServer("s3:PutObject", loc.At("k"), fmt.Errorf("put: %w", s3bridge.ErrAccessDenied))
	if want := "s3:PutObject on arn:aws-cn:s3:::bkt/k: denied by the S3 server: put: access denied"; err.Error() != want || !errors.Is(err, s3bridge.ErrAccessDenied) {
		t.Errorf("ByServer: %v, want %q wrapping ErrAccessDenied", err, want)
	}
	if other := errors.New("timeout"); s3bridge.ByServer("s3:PutObject", loc, other) != other {
		t.Error("ByServer changed an error that is not a denial")
	}
}

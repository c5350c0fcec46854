package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/token"
)

// The API tokens' commands (issue 12): serve and agent --http accept a
// token stored in any instance they serve.

func tokenCreateCommand() command {
	return command{"token create", "--db URL --name NAME --role admin|operator|viewer [--expires 90d] [--json]",
		"make an API token for serve: it is printed once, the instance keeps only its SHA-256", nil,
		"s3bridge token create --db " + exampleDB + " --name grafana --role viewer --expires 90d", runTokenCreate}
}

func tokenListCommand() command {
	return command{"token list", "--db URL [--json]", "list the API tokens: name, role, created, expires (never a secret)", nil,
		"s3bridge token list --db " + exampleDB, runTokenList}
}

func tokenRevokeCommand() command {
	return command{"token revoke", "--db URL [--json] NAME", "revoke an API token: requests with it are refused from now on",
		[]arg{{"NAME", "the token's name"}}, "s3bridge token revoke --db " + exampleDB + " grafana", runTokenRevoke}
}

// storedTokens is what the token commands need of an instance
// (sqlstore.Store has it).
type storedTokens interface {
	CreateToken(ctx context.Context, t sqlstore.Token) error
	Tokens(ctx context.Context) ([]sqlstore.Token, error)
	RevokeToken(ctx context.Context, name string) error
}

func withTokens(ctx context.Context, c *common, fn func(ts storedTokens) error) error {
	return withInstance(ctx, c, func(in instance.Instance) error {
		ts, ok := in.(storedTokens)
		if !ok {
			return fmt.Errorf("instance %s can't store tokens", in.Name())
		}
		return fn(ts)
	})
}

// tokenView is a token as the commands print it: never its secret but
// when it is made.
type tokenView struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	Expired   bool       `json:"expired"`
	// Token is the secret, set by create alone.
	Token string `json:"token,omitempty"`
}

func viewToken(t sqlstore.Token, now time.Time) tokenView {
	return tokenView{Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, Expired: t.Expired(now)}
}

func runTokenCreate(ctx context.Context, e *env, args []string) error {
	var (
		c              common
		name, roleName string
		expires        string
	)
	fs := newFlags("token create", e, &c, withJSON)
	fs.StringVar(&name, "name", "", "the token's `NAME`, unique in the instance")
	fs.StringVar(&roleName, "role", "", "`ROLE`: viewer reads; operator also creates and cancels tasks and runs connectors; admin also manages connectors, pipelines and tokens")
	fs.StringVar(&expires, "expires", "", "the token's lifetime: `90d`, 36h… (default: never)")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	if name == "" {
		return usageErrorf("token create", "--name is required")
	}
	if err := token.CheckName(name); err != nil {
		return usageErrorf("token create", "--name: %w", err)
	}
	role, err := token.ParseRole(roleName)
	if err != nil {
		return usageErrorf("token create", "--role: %w", err)
	}
	life, err := token.ParseExpiry(expires)
	if err != nil {
		return usageErrorf("token create", "--expires: %w", err)
	}
	return withTokens(ctx, &c, func(ts storedTokens) error {
		secret, err := token.New()
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		st := sqlstore.Token{Name: name, Role: string(role), Hash: token.Hash(secret)}
		if life > 0 {
			at := now.Add(life).Truncate(time.Second)
			st.ExpiresAt = &at
		}
		if err := ts.CreateToken(ctx, st); err != nil {
			return err
		}
		st.CreatedAt = now
		if c.json {
			v := viewToken(st, now)
			v.Token = secret
			return writeJSON(e.stdout, v)
		}
		// The secret alone on stdout, for a script to capture; what it is
		// on stderr.
		fmt.Fprintf(e.stderr, "token %s (%s) created; it is shown only now, the instance keeps only its hash:\n", name, role)
		fmt.Fprintln(e.stdout, secret)
		return nil
	})
}

func runTokenList(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("token list", e, &c, withJSON)
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	return withTokens(ctx, &c, func(ts storedTokens) error {
		list, err := ts.Tokens(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		views := []tokenView{}
		for _, t := range list {
			views = append(views, viewToken(t, now))
		}
		if c.json {
			return writeJSON(e.stdout, views)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "Name\tRole\tCreated\tExpires")
		for _, v := range views {
			exp := "never"
			if v.ExpiresAt != nil {
				exp = v.ExpiresAt.Format(time.RFC3339)
				if v.Expired {
					exp += " (expired)"
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", v.Name, v.Role, v.CreatedAt.Format(time.RFC3339), exp)
		}
		return w.Flush()
	})
}

func runTokenRevoke(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("token revoke", e, &c, withJSON)
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	return withTokens(ctx, &c, func(ts storedTokens) error {
		if err := ts.RevokeToken(ctx, pos[0]); err != nil {
			return err
		}
		if c.json {
			return writeJSON(e.stdout, map[string]string{"revoked": pos[0]})
		}
		fmt.Fprintf(e.stdout, "token %s revoked\n", pos[0])
		return nil
	})
}

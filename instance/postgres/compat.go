package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/statement"
)

// compatPrefix starts the names of the functions*.sql files installed
// only when the settings ask for a compatibility layer (attach --compat).
const compatPrefix = "functions_compat"

// compatSchemas are the schemas attach --compat aws_s3 installs: RDS's
// own names, which s3bridge owns only when it created them.
var compatSchemas = []string{"aws_commons", "aws_s3"}

// ErrForeignCompat is returned by Attach when a database already has an
// aws_s3 or aws_commons schema that this s3bridge schema didn't install
// (RDS's dump, chimpler/postgres-aws-s3), and replacing it wasn't asked.
var ErrForeignCompat = errors.New("schema exists and was not installed by s3bridge")

// coreFS hides the compat files from the functions*.sql glob: every
// attach installs the core, the compat files only on request.
type coreFS struct{ fs.ReadDirFS }

func (c coreFS) ReadDir(name string) ([]fs.DirEntry, error) {
	es, err := c.ReadDirFS.ReadDir(name)
	return slices.DeleteFunc(es, func(e fs.DirEntry) bool { return strings.HasPrefix(e.Name(), compatPrefix) }), err
}

// compat installs and drops the aws_s3/aws_commons schemas of one
// s3bridge schema. The comment on each schema (mark) says which s3bridge
// schema owns it.
type compat struct {
	s       string // the s3bridge schema, quoted
	mark    string // the schemas' comment, as a SQL literal
	script  []string
	replace bool // drop a foreign aws_s3/aws_commons instead of refusing
}

func newCompat(schema string, vars map[string]string, replace bool) compat {
	s := pgx.Identifier{schema}.Sanitize()
	mark := statement.QuoteLiteralPG("s3bridge attach --compat aws_s3 (schema " + schema + ")")
	v := map[string]string{"mark": mark}
	for k, x := range vars {
		v[k] = x
	}
	return compat{
		s: s, mark: mark, replace: replace,
		script: sqlstore.Script(sqlstore.ScriptFiles(functionsFS, compatPrefix+"*.sql"), v),
	}
}

// install brings the compat schemas in line with the stored settings:
// installed (or upgraded) for compat "aws_s3", dropped when it is off.
func (c compat) install(ctx context.Context, tx *sql.Tx) error {
	var want string
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(value::jsonb->>'compat', '') FROM `+c.s+`.settings WHERE name = 'settings'`).Scan(&want); err != nil {
		return fmt.Errorf("read compat setting: %w", err)
	}
	if want == "" {
		return c.drop(ctx, tx)
	}
	if want != s3bridge.CompatAWSS3 {
		return fmt.Errorf("compat %q: want %s", want, s3bridge.CompatAWSS3)
	}
	if err := c.clear(ctx, tx); err != nil {
		return err
	}
	for _, stmt := range c.script {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("install aws_s3 compat: %w", err)
		}
	}
	return nil
}

// clear refuses, or with replace drops, aws_s3/aws_commons schemas that
// are not this s3bridge schema's, and extensions of those names.
func (c compat) clear(ctx context.Context, tx *sql.Tx) error {
	for _, name := range compatSchemas {
		var foreign bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = $1
				AND coalesce(pg_catalog.obj_description(n.oid, 'pg_namespace'), '') <> `+c.mark+`)
			OR EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = $1)`, name).Scan(&foreign)
		if err != nil {
			return fmt.Errorf("look for schema %s: %w", name, err)
		}
		if !foreign {
			continue
		}
		if !c.replace {
			return fmt.Errorf("--compat aws_s3: the database has a schema or extension %s (an aws_s3 extension, or another s3bridge schema's): %w; "+
				"drop it, or attach --compat-replace to drop it with everything that depends on it", name, ErrForeignCompat)
		}
		id := pgx.Identifier{name}.Sanitize()
		for _, q := range []string{"DROP EXTENSION IF EXISTS " + id + " CASCADE", "DROP SCHEMA IF EXISTS " + id + " CASCADE"} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("replace %s: %w", name, err)
			}
		}
	}
	return nil
}

// drop removes the compat schemas this s3bridge schema installed, object
// by object without CASCADE: an object of the caller's that uses them
// (a column of type aws_commons._s3_uri_1) stops the detach with
// PostgreSQL's own message rather than going with it.
func (c compat) drop(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `DO $$ DECLARE r record; BEGIN
		FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname IN ('aws_s3', 'aws_commons') AND pg_catalog.obj_description(n.oid, 'pg_namespace') = `+c.mark+`
		LOOP EXECUTE 'DROP FUNCTION ' || r.sig; END LOOP;
		FOR r IN SELECT n.nspname FROM pg_catalog.pg_namespace n
			WHERE n.nspname IN ('aws_s3', 'aws_commons') AND pg_catalog.obj_description(n.oid, 'pg_namespace') = `+c.mark+`
			ORDER BY n.nspname DESC
		LOOP
			IF r.nspname = 'aws_commons' THEN
				DROP TYPE IF EXISTS aws_commons._s3_uri_1, aws_commons._aws_credentials_1;
			END IF;
			EXECUTE format('DROP SCHEMA %I', r.nspname);
		END LOOP; END $$`)
	if err != nil {
		return fmt.Errorf("drop aws_s3 compat: %w", err)
	}
	return nil
}

// AttachReplacing is Attach that, for settings with Compat, drops an
// aws_s3 or aws_commons schema (or extension) s3bridge didn't install
// instead of failing with ErrForeignCompat (attach --compat-replace).
func (in *Instance) AttachReplacing(ctx context.Context, set s3bridge.Settings) error {
	return sqlstore.New(in.DB(), in.dialect(true), in.Name()).Attach(ctx, set)
}

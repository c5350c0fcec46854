package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Errors a server with the binary log on gives to CREATE FUNCTION of a
// function that writes while log_bin_trust_function_creators is OFF.
const (
	errUnsafeRoutine     = 1418 // ER_BINLOG_UNSAFE_ROUTINE
	errRoutineNeedsSuper = 1419 // ER_BINLOG_CREATE_ROUTINE_NEED_SUPER (MySQL)
)

// install runs the SQL interface's scripts in tx, records which server
// s3bridge is attached to, and adds the function forms where the server
// allows them. It returns what it installed and why, for attach to print.
func (in *Instance) install(ctx context.Context, tx *sql.Tx, functions, forms []string) (string, error) {
	if err := run(ctx, tx, functions); err != nil {
		return "", err
	}
	if err := in.recordServer(ctx, tx); err != nil {
		return "", err
	}
	var (
		logBin, trust bool
		format        string
	)
	if err := tx.QueryRowContext(ctx, `SELECT @@log_bin, @@log_bin_trust_function_creators, @@binlog_format`).Scan(&logBin, &trust, &format); err != nil {
		return "", fmt.Errorf("read the binary log settings: %w", err)
	}
	procedures := fmt.Sprintf("procedures (CALL %s.upload_to_s3(…) returns the task id)", in.schema)
	if logBin && !trust {
		return in.proceduresOnly(ctx, tx, forms, procedures)
	}
	if err := run(ctx, tx, forms); err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) && (me.Number == errUnsafeRoutine || me.Number == errRoutineNeedsSuper) {
			// Refused after all: the setting changed meanwhile, or the
			// server (MySQL) wants SUPER as well.
			return in.proceduresOnly(ctx, tx, forms, procedures)
		}
		return "", err
	}
	why := "the binary log is off"
	if logBin {
		why = "log_bin_trust_function_creators is ON"
		if strings.EqualFold(format, "STATEMENT") {
			why += "; with binlog_format STATEMENT a replica evaluates a function form's statement again, the procedures' rows it receives as values"
		}
	}
	return fmt.Sprintf("SQL interface: %s and their function forms (SELECT %s.upload_to_s3(…)), as %s",
		procedures, in.schema, why), nil
}

// proceduresOnly removes the function forms an earlier attach may have
// installed: they would call routines this release replaced.
func (in *Instance) proceduresOnly(ctx context.Context, tx *sql.Tx, forms []string, procedures string) (string, error) {
	if err := run(ctx, tx, drops(forms)); err != nil {
		return "", err
	}
	return fmt.Sprintf("SQL interface: %s; not their function forms (SELECT %s.upload_to_s3(…)): the binary log is on "+
		"and log_bin_trust_function_creators is OFF, so the server refuses functions that write (error 1418). "+
		"The procedures need no setting changed; that one is the DBA's to make", procedures, in.schema), nil
}

// recordServer stores the @@server_id of the server attached to, so that a
// replica or a restored copy, which holds the same row but has another
// server_id, can tell it is not that server (Dialect.ServerCheck). The
// value is read first and written as a value: a statement-format binary
// log would have a replica evaluate @@server_id itself.
func (in *Instance) recordServer(ctx context.Context, tx *sql.Tx) error {
	var id string
	if err := tx.QueryRowContext(ctx, `SELECT @@server_id`).Scan(&id); err != nil {
		return fmt.Errorf("read the server_id: %w", err)
	}
	q := `INSERT INTO ` + quote(in.schema) + `.settings (name, value) VALUES ('server_id', ?) ON DUPLICATE KEY UPDATE value = ?`
	if _, err := tx.ExecContext(ctx, q, id, id); err != nil {
		return fmt.Errorf("record the server_id: %w", err)
	}
	return nil
}

// InstallNote says which forms of the SQL interface the last Attach
// installed and why: procedures always, the SELECT forms of those that
// write only where the server allows such functions.
func (in *Instance) InstallNote() string { return in.note }

// run executes statements in order, naming the one that fails.
func run(ctx context.Context, tx *sql.Tx, stmts []string) error {
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%.60s…: %w", strings.TrimSpace(stripComments(stmt)), err)
		}
	}
	return nil
}

// drops returns the DROP statements of a script.
func drops(stmts []string) []string {
	var out []string
	for _, stmt := range stmts {
		if strings.HasPrefix(strings.TrimSpace(stripComments(stmt)), "DROP") {
			out = append(out, stmt)
		}
	}
	return out
}

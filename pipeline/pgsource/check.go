package pgsource

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/s3bridge/s3bridge/pipeline"
)

// Problem is a prerequisite that is not met, with how to fix it.
type Problem = pipeline.Problem

// Check lists what stops the pipeline from running on this server, or
// weakens its files, with the exact fix for each: wal_level, free
// replication slots and WAL senders, the REPLICATION attribute, the right to
// create the publication, and captured tables without a usable replica
// identity. An empty list means ready. An error means Check itself could
// not run.
func (s *Source) Check(ctx context.Context, pub Publication) ([]Problem, error) {
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	q := func(sql string, args ...string) ([][][]byte, error) {
		params := make([][]byte, len(args))
		for i, a := range args {
			params[i] = []byte(a)
		}
		res := conn.ExecParams(ctx, sql, params, nil, nil, nil).Read()
		if res.Err != nil {
			return nil, fmt.Errorf("check prerequisites: %w", res.Err)
		}
		return res.Rows, nil
	}
	var problems []Problem
	rows, err := q(`SELECT current_setting('wal_level'),
		current_setting('max_replication_slots')::int - (SELECT count(*) FROM pg_catalog.pg_replication_slots),
		current_setting('max_wal_senders')::int - (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'walsender'),
		r.rolsuper, r.rolreplication, current_user,
		pg_catalog.has_database_privilege(current_database(), 'CREATE'),
		(SELECT database FROM pg_catalog.pg_replication_slots WHERE slot_name = $1)
		FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`, s.name)
	if err != nil {
		return nil, err
	}
	row := rows[0]
	walLevel, user := string(row[0]), string(row[5])
	freeSlots, _ := strconv.Atoi(string(row[1]))
	freeSenders, _ := strconv.Atoi(string(row[2]))
	super, repl, canCreate, slotExists := string(row[3]) == "t", string(row[4]) == "t", string(row[6]) == "t", row[7] != nil
	if slotDB := string(row[7]); slotExists && slotDB != s.cfg.Database {
		// Slot names are the server's: another database's pipeline of
		// the same name has it.
		problems = append(problems, Problem{Blocking: true,
			What: fmt.Sprintf("replication slot %s exists already, for database %s: slot names are the server's, so a pipeline of that name captures another database", s.name, slotDB),
			Fix:  fmt.Sprintf("pick another pipeline name, or, if nothing uses it any more: SELECT pg_drop_replication_slot('%s');", s.name)})
	}
	if walLevel != "logical" {
		problems = append(problems, Problem{Blocking: true,
			What: fmt.Sprintf("wal_level is %s; logical replication needs logical", walLevel),
			Fix:  "run ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (a reload is not enough)"})
	}
	if freeSlots < 1 && !slotExists {
		problems = append(problems, Problem{Blocking: true,
			What: "no free replication slot (max_replication_slots is used up)",
			Fix:  "drop unused slots (SELECT slot_name FROM pg_replication_slots WHERE NOT active) or raise it: ALTER SYSTEM SET max_replication_slots = <current + 1>; then restart PostgreSQL"})
	}
	if freeSenders < 1 {
		problems = append(problems, Problem{Blocking: true,
			What: "no free WAL sender (max_wal_senders is used up)",
			Fix:  "ALTER SYSTEM SET max_wal_senders = <current + 1>; then restart PostgreSQL"})
	}
	if !super && !repl {
		problems = append(problems, Problem{Blocking: true,
			What: fmt.Sprintf("role %s has neither the REPLICATION attribute nor superuser", user),
			Fix:  fmt.Sprintf("as a superuser: ALTER ROLE %s REPLICATION;", pgx.Identifier{user}.Sanitize())})
	}
	if pub.AllTables && !super {
		problems = append(problems, Problem{Blocking: true,
			What: "a publication FOR ALL TABLES needs superuser",
			Fix:  "list the tables instead of all tables, or run as a superuser"})
	}
	if !pub.AllTables && !canCreate && !super {
		problems = append(problems, Problem{Blocking: true,
			What: fmt.Sprintf("role %s may not create a publication in this database", user),
			Fix:  fmt.Sprintf("GRANT CREATE ON DATABASE %s TO %s;", pgx.Identifier{s.cfg.Database}.Sanitize(), pgx.Identifier{user}.Sanitize())})
	}
	tp, err := s.checkTables(ctx, conn, pub, super)
	if err != nil {
		return nil, err
	}
	return append(problems, tp...), nil
}

// checkTables names captured tables that are missing, not owned by the
// user (a publication needs ownership), or whose replica identity gives no
// full before image.
func (s *Source) checkTables(ctx context.Context, conn *pgconn.PgConn, pub Publication, super bool) ([]Problem, error) {
	sql := `SELECT n.nspname, c.relname, c.relreplident,
			EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
			pg_catalog.pg_has_role(c.relowner, 'USAGE')
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`
	res := conn.ExecParams(ctx, sql, nil, nil, nil, nil).Read()
	if res.Err != nil {
		return nil, fmt.Errorf("check tables: %w", res.Err)
	}
	type info struct {
		ident        byte
		hasPK, owned bool
	}
	found := map[Table]info{}
	var order []Table
	for _, r := range res.Rows {
		t := Table{Schema: string(r[0]), Name: string(r[1])}
		found[t] = info{ident: r[2][0], hasPK: string(r[3]) == "t", owned: string(r[4]) == "t"}
		order = append(order, t)
	}
	wanted := order
	if !pub.AllTables {
		wanted = pub.Tables
	}
	var problems []Problem
	for _, t := range wanted {
		t := t
		name := pgx.Identifier{t.Schema, t.Name}.Sanitize()
		in, ok := found[t]
		switch {
		case !ok:
			problems = append(problems, Problem{Blocking: true, Table: &t,
				What: "table " + name + " does not exist", Fix: "create it or leave it out of the pipeline"})
			continue
		case !in.owned && !super && !pub.AllTables:
			problems = append(problems, Problem{Blocking: true, Table: &t,
				What: "table " + name + " is not owned by the pipeline's role; adding it to a publication needs ownership",
				Fix:  "ALTER TABLE " + name + " OWNER TO <the pipeline's role>; or run as a superuser"})
		}
		fix := "ALTER TABLE " + name + " REPLICA IDENTITY FULL; (or create the pipeline with --replica-identity-full)"
		switch {
		case in.ident == 'n' || in.ident == 'd' && !in.hasPK:
			problems = append(problems, Problem{Blocking: true, Table: &t,
				What: "table " + name + " has no primary key and no replica identity: once published, its UPDATEs and DELETEs fail at the source",
				Fix:  fix})
		case in.ident == 'd' || in.ident == 'i':
			problems = append(problems, Problem{Table: &t,
				What: "table " + name + " has REPLICA IDENTITY DEFAULT: updates and deletes carry only the key columns as before image, and unchanged TOASTed values are listed as unchanged rather than carried",
				Fix:  fix})
		}
	}
	return problems, nil
}

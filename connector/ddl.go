package connector

import (
	"fmt"
	"strings"
)

// columnTypesOf maps the config's types to each database's natural one.
var columnTypesOf = map[string]map[string]string{
	dialectPostgres: {TypeLong: "bigint", TypeDouble: "double precision", TypeBoolean: "boolean",
		TypeTimestamp: "timestamptz", TypeJSON: "jsonb", TypeString: "text"},
	dialectMySQL: {TypeLong: "BIGINT", TypeDouble: "DOUBLE", TypeBoolean: "BOOLEAN",
		TypeTimestamp: "DATETIME(6)", TypeJSON: "JSON", TypeString: "LONGTEXT"},
	dialectSQLite: {TypeLong: "INTEGER", TypeDouble: "REAL", TypeBoolean: "INTEGER",
		TypeTimestamp: "TEXT", TypeJSON: "TEXT", TypeString: "TEXT"},
}

// CreateTableSQL is the CREATE TABLE IF NOT EXISTS of the config's columns
// for a dialect (postgres, mysql, sqlite): --auto-create-table. Timestamps
// are stored in UTC (MariaDB's DATETIME and SQLite's ISO 8601 text carry
// no zone).
func CreateTableSQL(dialect, schema, table string, cols []Column) (string, error) {
	return createTable(dialect, schema, table, cols, "")
}

// createTable is CreateTableSQL with the column notNull NOT NULL.
func createTable(dialect, schema, table string, cols []Column, notNull string) (string, error) {
	types, ok := columnTypesOf[dialect]
	if !ok {
		return "", fmt.Errorf("auto-create table: no column types for database %q", dialect)
	}
	if len(cols) == 0 {
		return "", fmt.Errorf("auto-create table %s: the config has no columns", table)
	}
	q := quoter(dialect)
	name := q(table)
	if schema != "" {
		name = q(schema) + "." + name
	}
	defs := make([]string, len(cols))
	for i, c := range cols {
		t, ok := types[c.Type]
		if !ok {
			return "", fmt.Errorf("auto-create table %s: column %s has type %q", table, c.Name, c.Type)
		}
		defs[i] = q(c.Name) + " " + t
		if c.Name == notNull {
			defs[i] += " NOT NULL"
		}
	}
	if notNull != "" && columnIndex(cols, notNull) < 0 {
		return "", fmt.Errorf("auto-create table %s: time column %q is not among its columns", table, notNull)
	}
	return "CREATE TABLE IF NOT EXISTS " + name + " (" + strings.Join(defs, ", ") + ")", nil
}

func quoter(dialect string) func(string) string {
	quote := `"`
	if dialect == dialectMySQL {
		quote = "`"
	}
	return func(s string) string { return quote + strings.ReplaceAll(s, quote, quote+quote) + quote }
}

// CreateTableStatements is --auto-create-table: CreateTableSQL, and with a
// time column (out.time_column) that column NOT NULL and an index on it,
// the way Treasure Data partitions a table by time.
func CreateTableStatements(dialect, schema, table string, cols []Column, timeColumn string) ([]string, error) {
	create, err := createTable(dialect, schema, table, cols, timeColumn)
	if err != nil || timeColumn == "" {
		return []string{create}, err
	}
	q := quoter(dialect)
	on, index := q(table), q(table+"_"+timeColumn+"_idx")
	// The index lives in its table's schema: PostgreSQL and MariaDB
	// qualify the table, SQLite the index.
	switch {
	case schema == "":
	case dialect == dialectSQLite:
		index = q(schema) + "." + index
	default:
		on = q(schema) + "." + on
	}
	return []string{create, "CREATE INDEX IF NOT EXISTS " + index + " ON " + on + " (" + q(timeColumn) + ")"}, nil
}

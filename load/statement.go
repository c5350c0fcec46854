package load

import (
	"fmt"
	"strings"

	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/statement"
)

// FromStatement turns an Aurora LOAD statement into load parameters. MariaDB
// runs the statement's clauses natively; elsewhere a clause without an
// equivalent is refused by name, never ignored.
func FromStatement(st *statement.Load, text string, native bool) (Params, error) {
	p := Params{Source: strings.ToLower(st.Source.String()), URI: st.URI, Schema: st.Schema, Table: st.Table,
		Duplicates: string(st.OnDuplicate)}
	if native {
		p.Statement = text
	} else {
		switch {
		case len(st.Set) > 0:
			return p, fmt.Errorf("sql: SET %s = … needs MariaDB/MySQL; load the raw columns and transform in SQL", st.Set[0].Column)
		case len(st.Partitions) > 0:
			return p, fmt.Errorf("sql: PARTITION (…) is MySQL's; load the table itself")
		}
	}
	for _, t := range st.Targets {
		if t.Var {
			if !native {
				return p, fmt.Errorf("sql: user variable @%s in the column list needs MariaDB/MySQL", t.Name)
			}
			continue
		}
		p.Columns = append(p.Columns, t.Name)
	}
	fields, lines := st.Effective()
	o := format.Options{Charset: st.Charset, IgnoreLines: int(st.IgnoreLines),
		FieldsTerminatedBy: fields.TerminatedBy, LinesTerminatedBy: lines.TerminatedBy, LinesStartingBy: lines.StartingBy}
	switch {
	case st.XML:
		o = format.Options{Format: "xml", Charset: st.Charset, IgnoreLines: int(st.IgnoreLines), RowsIdentifiedBy: st.RowsIdentifiedBy}
	case fields.EnclosedBy != "":
		o.Format, o.FieldsEnclosedBy, o.FieldsEscapedBy = "csv", fields.EnclosedBy, fields.EscapedBy
		o.LazyQuotes = true // MySQL reads stray quotes literally
	default:
		o.Format, o.FieldsEscapedBy, o.NoEscape = "text", fields.EscapedBy, fields.EscapedSet && fields.EscapedBy == ""
	}
	p.Options = o
	return p, nil
}

// fromStatementText fills parameters that only carry an Aurora statement
// (MariaDB's CALL s3bridge.load_data_from_s3 stores just the text).
func (p *Params) fromStatementText() error {
	st, err := statement.ParseLoad(p.Statement)
	if err != nil {
		return err
	}
	full, err := FromStatement(st, p.Statement, true)
	if err != nil {
		return err
	}
	full.SkipBadRows, full.MaxDecompressed = p.SkipBadRows, p.MaxDecompressed
	full.Caller, full.CallerRole = p.Caller, p.CallerRole
	*p = full
	return nil
}

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge"
)

// kindOf is an SQL expression for a task row's kind (s3bridge.Kind), from
// the kind table. A type the table doesn't know is a transfer, as
// TaskType.Kind says. The literals are the table's own constants.
func kindOf() string {
	var b strings.Builder
	b.WriteString("CASE task_type")
	for _, k := range s3bridge.Kinds() {
		for _, t := range k.Types() {
			b.WriteString(" WHEN '" + string(t) + "' THEN '" + string(k) + "'")
		}
	}
	b.WriteString(" ELSE '" + string(s3bridge.KindTransfer) + "' END")
	return b.String()
}

// fullKinds returns the pooled kinds that already run as many tasks as
// their limit allows: a claim takes no task of theirs. A task holds its
// slot while its lease runs, cancel requested or not.
func (s *Store) fullKinds(ctx context.Context, tx *sql.Tx, set s3bridge.Settings, now time.Time) ([]any, error) {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT `+kindOf()+`, count(*) FROM {tasks}
		WHERE lifecycle IN ('IN_PROGRESS', 'CANCEL_REQUESTED') AND lease_until >= ? GROUP BY `+kindOf()), now)
	if err != nil {
		return nil, fmt.Errorf("count running tasks: %w", err)
	}
	defer rows.Close()
	running := map[s3bridge.Kind]int{}
	for rows.Next() {
		var (
			k string
			n int
		)
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("count running tasks: %w", err)
		}
		running[s3bridge.Kind(k)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count running tasks: %w", err)
	}
	var full []any
	for _, k := range s3bridge.Kinds() {
		if k.Pooled() && running[k] >= set.Limit(k) {
			full = append(full, string(k))
		}
	}
	return full, nil
}

// notIn is the condition leaving out the tasks of kinds, with one
// placeholder each, or "" for no kind.
func notIn(kinds []any) string {
	if len(kinds) == 0 {
		return ""
	}
	return " AND " + kindOf() + " NOT IN (?" + strings.Repeat(", ?", len(kinds)-1) + ")"
}

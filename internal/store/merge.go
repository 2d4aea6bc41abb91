package store

import (
	"context"
	"fmt"
	"strings"
)

// Merge describes an upsert from a staging table into a real table whose
// columns have the same names, plus recorded_at and updated_at.
type Merge struct {
	Stage   string   // staging table
	Target  string   // real table
	Key     []string // conflict key columns
	Columns []string // the other columns, copied and compared
	Where   string   // optional filter on the staged rows (alias s)
	Now     int64    // unix seconds for recorded_at / updated_at
}

// MergeStaged inserts the staged rows, updating rows whose key exists only
// when a value differs, so re-importing the same data changes nothing (not
// even updated_at). It returns the rows inserted or changed.
func MergeStaged(ctx context.Context, q Querier, m Merge) (int64, error) {
	all := append(append([]string(nil), m.Key...), m.Columns...)
	var sel, set, diff []string
	for _, c := range all {
		sel = append(sel, "s."+c)
	}
	for _, c := range m.Columns {
		set = append(set, c+" = excluded."+c)
		diff = append(diff, m.Target+"."+c+" IS DISTINCT FROM excluded."+c)
	}
	where := ""
	if m.Where != "" {
		where = " WHERE " + m.Where
	} else {
		// SQLite needs a WHERE to tell INSERT … SELECT … ON CONFLICT apart from a join.
		where = " WHERE true"
	}
	query := "INSERT INTO " + m.Target + " (" + strings.Join(all, ", ") + ", recorded_at, updated_at) SELECT " +
		strings.Join(sel, ", ") + ", CAST($1 AS BIGINT), CAST($1 AS BIGINT) FROM " + m.Stage + " s" + where +
		" ON CONFLICT (" + strings.Join(m.Key, ", ") + ")"
	if len(m.Columns) == 0 {
		query += " DO NOTHING"
	} else {
		query += " DO UPDATE SET " + strings.Join(set, ", ") + ", updated_at = excluded.updated_at WHERE " + strings.Join(diff, " OR ")
	}
	res, err := q.ExecContext(ctx, query, m.Now)
	if err != nil {
		return 0, fmt.Errorf("merge into %s: %w", m.Target, err)
	}
	return res.RowsAffected()
}

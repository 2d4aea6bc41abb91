package store

import (
	"database/sql"
	"fmt"
	"strings"
)

// Keyset returns, for a listing ordered by col and then by the unique idCol,
// the condition that selects the rows after a cursor (with its arguments
// appended to args) and the ORDER BY list. A nil or empty afterID means the
// first page; afterKey is the cursor row's col value (unused when col is
// idCol). A row value comparison states it in one term that SQLite and
// PostgreSQL both evaluate with the index.
func Keyset(col, idCol string, desc bool, afterKey, afterID any, args []any) (cond, order string, _ []any) {
	cmp, dir := ">", "ASC"
	if desc {
		cmp, dir = "<", "DESC"
	}
	order = col + " " + dir + ", " + idCol + " " + dir
	if col == idCol {
		order = idCol + " " + dir
	}
	switch {
	case afterID == nil || afterID == "":
		return "true", order, args
	case col == idCol:
		args = append(args, afterID)
		return fmt.Sprintf("%s %s $%d", idCol, cmp, len(args)), order, args
	}
	args = append(args, afterKey, afterID)
	return fmt.Sprintf("(%s, %s) %s ($%d, $%d)", col, idCol, cmp, len(args)-1, len(args)), order, args
}

// PageLimit is the page size a listing uses when the caller asks for none.
func PageLimit(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}

// Collect scans every row with scan and closes rows.
func Collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Conditions collects the filters of a listing query, numbering their
// placeholders in order.
type Conditions struct {
	where []string
	args  []any
}

// Add appends a condition whose one %d is the placeholder of v.
func (c *Conditions) Add(cond string, v any) {
	c.args = append(c.args, v)
	c.where = append(c.where, fmt.Sprintf(cond, len(c.args)))
}

// Page returns the WHERE, ORDER BY and LIMIT of a keyset page over the
// conditions (see [Keyset] for the cursor) and the query's arguments.
func (c *Conditions) Page(col, idCol string, desc bool, afterKey, afterID any, limit int) (string, []any) {
	cond, order, args := Keyset(col, idCol, desc, afterKey, afterID, c.args)
	where := append(c.where[:len(c.where):len(c.where)], cond)
	args = append(args, PageLimit(limit))
	return fmt.Sprintf(" WHERE %s ORDER BY %s LIMIT $%d", strings.Join(where, " AND "), order, len(args)), args
}

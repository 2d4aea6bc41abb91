package cli

import (
	"context"
	"io"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// writeList prints a list as writeRecords does: a line of the table per
// element (the cells row makes of it), or the list itself as JSON (an
// empty array rather than null).
func writeList[T any](w io.Writer, format string, header []string, list []T, row func(T) []any) error {
	records := make([][]any, len(list))
	for i, x := range list {
		records[i] = row(x)
	}
	return writeRecords(w, tableOr(format), header, records, orEmptyList(list), "")
}

// runList is the whole of a plain list command: it opens the database,
// reads the list with load and prints it with writeList.
func runList[T any](ctx context.Context, g *Globals, format string, header []string,
	load func(context.Context, store.Querier) ([]T, error), row func(T) []any) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := load(ctx, db)
	if err != nil {
		return err
	}
	return writeList(g.stdout, format, header, list, row)
}

package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// NoteSorts are the fields timeline entries can be listed by.
var NoteSorts = []string{"occurred_at", "note_id"}

// NoteFilter selects a page of timeline entries for [SearchNotes].
type NoteFilter struct {
	AccountID   string // only this account's entries
	Kind        string // only entries of this kind
	AuthorEmail string // only entries by this author

	Sort     string // one of NoteSorts; default occurred_at
	Desc     bool
	AfterKey any    // [Note.SortKey] of the last entry of the previous page
	AfterID  string // and its note_id
	Limit    int    // default 100
}

// SortKey is the entry's value of a sort field, as a cursor carries it.
func (n Note) SortKey(sort string) any {
	if sort == "note_id" {
		return n.ID
	}
	return n.OccurredAt.Unix()
}

// UpsertNote creates or replaces a timeline entry with a given id (AddNote
// makes up the id). An empty kind is "note"; a zero OccurredAt is now.
func UpsertNote(ctx context.Context, q store.Querier, n Note) (Note, error) {
	if n.Kind == "" {
		n.Kind = "note"
	}
	switch {
	case n.ID == "":
		return n, errors.New("upsert note: empty note_id")
	case !slices.Contains(NoteKinds, n.Kind):
		return n, fmt.Errorf("upsert note %s: kind %q is not one of %s", n.ID, n.Kind, strings.Join(NoteKinds, ", "))
	case strings.TrimSpace(n.Body) == "":
		return n, fmt.Errorf("upsert note %s: empty body", n.ID)
	case n.AccountID == "":
		return n, fmt.Errorf("upsert note %s: no account", n.ID)
	}
	if n.OccurredAt.IsZero() {
		n.OccurredAt = time.Now().UTC().Truncate(time.Second)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO notes (note_id, account_id, kind, body, author_email, occurred_at, recorded_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		ON CONFLICT (note_id) DO UPDATE SET account_id = excluded.account_id, kind = excluded.kind, body = excluded.body,
			author_email = excluded.author_email, occurred_at = excluded.occurred_at, updated_at = excluded.updated_at`,
		n.ID, n.AccountID, n.Kind, n.Body, n.AuthorEmail, n.OccurredAt.Unix(), store.Now())
	if err != nil {
		return n, fmt.Errorf("upsert note %s: %w", n.ID, err)
	}
	return n, nil
}

const noteColumns = `note_id, account_id, kind, body, author_email, occurred_at`

func scanNote(sc interface{ Scan(...any) error }) (Note, error) {
	var n Note
	var at int64
	if err := sc.Scan(&n.ID, &n.AccountID, &n.Kind, &n.Body, &n.AuthorEmail, &at); err != nil {
		return n, err
	}
	n.OccurredAt = time.Unix(at, 0).UTC()
	return n, nil
}

// GetNote returns one timeline entry, or ErrNotFound.
func GetNote(ctx context.Context, q store.Querier, id string) (Note, error) {
	n, err := scanNote(q.QueryRowContext(ctx, `SELECT `+noteColumns+` FROM notes WHERE note_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return n, fmt.Errorf("note %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return n, fmt.Errorf("get note %s: %w", id, err)
	}
	return n, nil
}

// SearchNotes returns a page of timeline entries.
func SearchNotes(ctx context.Context, q store.Querier, f NoteFilter) ([]Note, error) {
	col, err := sortColumn(f.Sort, NoteSorts)
	if err != nil {
		return nil, fmt.Errorf("search notes: %w", err)
	}
	cond, order, args := store.Keyset(col, "note_id", f.Desc, f.AfterKey, f.AfterID, []any{f.AccountID, f.Kind, f.AuthorEmail})
	args = append(args, store.PageLimit(f.Limit))
	rows, err := q.QueryContext(ctx, `SELECT `+noteColumns+` FROM notes
		WHERE ($1 = '' OR account_id = $1) AND ($2 = '' OR kind = $2) AND ($3 = '' OR author_email = $3) AND `+cond+`
		ORDER BY `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("search notes: %w", err)
	}
	out, err := store.Collect(rows, scanNote)
	if err != nil {
		return nil, fmt.Errorf("search notes: %w", err)
	}
	return out, nil
}

// DeleteNote removes a timeline entry, or returns ErrNotFound.
func DeleteNote(ctx context.Context, q store.Querier, id string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM notes WHERE note_id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete note %s: %w", id, err)
	}
	return affectedOne(res, "delete note "+id)
}

// Package audit owns the audit log: who changed what, when, and how the
// object looked before and after, for every change made through the API,
// the UI or the command line.
//
// Callers record an entry in the same transaction as the change it
// describes, so there is never a change without its entry or an entry for
// a change that was rolled back.
package audit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/user"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Actions.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
	ActionRevoke = "revoke"
	ActionImport = "import"
	ActionLogin  = "login"
)

// Entry is one recorded change.
type Entry struct {
	ID         string          `json:"audit_id"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`       // "user:ann@example.com", "apikey:key_…", "cli:ann"
	Action     string          `json:"action"`      // create, update, delete, revoke, import
	ObjectType string          `json:"object_type"` // account, contact, subscription_period, ticket, ...
	ObjectID   string          `json:"object_id"`
	Before     json.RawMessage `json:"before"` // null for a creation
	After      json.RawMessage `json:"after"`  // null for a deletion
}

// Actor names for the three kinds of callers.

// UserActor names a signed-in user (password or session).
func UserActor(email string) string { return "user:" + email }

// KeyActor names an API key.
func KeyActor(keyID string) string { return "apikey:" + keyID }

// CLIActor names whoever runs the kizuna command: "cli:" and the
// operating-system user, which is the best the CLI knows (it has direct
// access to the database, so it is trusted with no login).
func CLIActor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return "cli:" + name
}

// newID returns an id that sorts in creation order: the time in
// microseconds (13 hex digits last until the year 2255) and random bits to
// keep ids written in the same microsecond, by several servers, apart.
func newID(now time.Time) string {
	var b [5]byte
	rand.Read(b[:])
	return fmt.Sprintf("au_%013x%s", now.UnixMicro(), hex.EncodeToString(b[:]))
}

func marshal(v any) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if v == nil {
			return nil, nil
		}
		return string(v), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return nil, nil
	}
	return string(b), nil
}

// Record writes one entry; before and after are encoded as JSON (nil for
// none). Run it in the transaction that makes the change.
func Record(ctx context.Context, q store.Querier, actor, action, objectType, objectID string, before, after any) error {
	b, err := marshal(before)
	if err != nil {
		return fmt.Errorf("audit %s %s %s: encode before: %w", action, objectType, objectID, err)
	}
	a, err := marshal(after)
	if err != nil {
		return fmt.Errorf("audit %s %s %s: encode after: %w", action, objectType, objectID, err)
	}
	now := time.Now()
	_, err = q.ExecContext(ctx, `INSERT INTO audit_log (audit_id, at, actor, action, object_type, object_id, before_json, after_json)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, newID(now), now.Unix(), actor, action, objectType, objectID, b, a)
	if err != nil {
		return fmt.Errorf("audit %s %s %s: %w", action, objectType, objectID, err)
	}
	return nil
}

// ImportCounts is what the log keeps of a CSV import: its counts, not its
// rows. One entry per import, because an import of a million rows would
// otherwise write a million entries (and the file itself is the record of
// what it held). csvimport.Result has these fields and more.
type ImportCounts struct {
	Kind            string `json:"kind"`
	File            string `json:"file"`
	Rows            int64  `json:"rows"`
	Inserted        int64  `json:"inserted"`
	Updated         int64  `json:"updated"`
	Unchanged       int64  `json:"unchanged"`
	Invalid         int64  `json:"invalid"`
	CreatedAccounts int64  `json:"created_accounts"`
}

// RecordImport records a committed CSV import: action "import", object type
// "import", object id the kind (so ?object_type=import&object_id=tickets
// lists the ticket imports), after = the counts. result is a
// *csvimport.Result (anything with ImportCounts' JSON fields); an import that
// wrote nothing (rejected, or nil) is not recorded, since it changed nothing.
func RecordImport(ctx context.Context, q store.Querier, actor string, result any) error {
	if result == nil {
		return nil
	}
	b, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("audit import: %w", err)
	}
	var r struct {
		ImportCounts
		Committed bool `json:"committed"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("audit import: %w", err)
	}
	if !r.Committed || r.Kind == "" {
		return nil
	}
	return Record(ctx, q, actor, ActionImport, "import", r.Kind, nil, r.ImportCounts)
}

// Filter selects entries for [List].
type Filter struct {
	ObjectType string // only entries about objects of this type
	ObjectID   string // and this id
	Actor      string // only entries by this actor
	After      string // the audit_id of the last entry of the previous page
	Limit      int    // at most this many (default 100, at most 1000)
	Oldest     bool   // oldest first (default newest first)
}

// ErrBadCursor is returned for an After that is not an audit id.
var ErrBadCursor = errors.New("not an audit cursor")

// List returns entries, newest first unless f.Oldest.
func List(ctx context.Context, q store.Querier, f Filter) ([]Entry, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	if f.After != "" && !strings.HasPrefix(f.After, "au_") {
		return nil, ErrBadCursor
	}
	cmp, order := "<", "DESC"
	if f.Oldest {
		cmp, order = ">", "ASC"
	}
	rows, err := q.QueryContext(ctx, `SELECT audit_id, at, actor, action, object_type, object_id, before_json, after_json
		FROM audit_log
		WHERE ($1 = '' OR object_type = $1) AND ($2 = '' OR object_id = $2) AND ($3 = '' OR actor = $3)
		AND ($4 = '' OR audit_id `+cmp+` $4)
		ORDER BY audit_id `+order+` LIMIT $5`, f.ObjectType, f.ObjectID, f.Actor, f.After, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at int64
		var before, afterJSON sql.NullString
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.ObjectType, &e.ObjectID, &before, &afterJSON); err != nil {
			return nil, fmt.Errorf("list audit log: %w", err)
		}
		e.At = time.Unix(at, 0).UTC()
		e.Before, e.After = rawJSON(before), rawJSON(afterJSON)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	return out, nil
}

func rawJSON(s sql.NullString) json.RawMessage {
	if !s.Valid {
		return json.RawMessage("null")
	}
	return json.RawMessage(s.String)
}

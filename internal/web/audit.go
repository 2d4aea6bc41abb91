package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/audit"
)

// auditEntry is an audit log entry as the API returns it.
type auditEntry struct {
	ID         string          `json:"audit_id"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor" doc:"Who: user:EMAIL, apikey:KEY_ID or cli:OS_USER."`
	Action     string          `json:"action" doc:"create, update, delete, revoke or import."`
	ObjectType string          `json:"object_type" doc:"account, contact, subscription_period, ticket, survey_response, note, handoff, user, api_key or import."`
	ObjectID   string          `json:"object_id" doc:"The object's key; parts of a composite key are joined by /."`
	Before     json.RawMessage `json:"before" doc:"The object before the change; null for a creation."`
	After      json.RawMessage `json:"after" doc:"The object after the change; null for a deletion."`
}

type listAuditInput struct {
	ObjectType string `query:"object_type" doc:"Only changes of objects of this type."`
	ObjectID   string `query:"object_id" doc:"Only changes of the object with this id (with object_type)."`
	Actor      string `query:"actor" doc:"Only changes by this actor."`
	Order      string `query:"order" enum:"newest,oldest" default:"newest" doc:"Newest first (default) or oldest first."`
	PageParams
}

type auditPage struct {
	Entries    []auditEntry `json:"entries"`
	NextCursor string       `json:"next_cursor,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
}

type auditPageOutput struct{ Body auditPage }

func registerAudit(s *Server, api huma.API) {
	register(api, needAudit, huma.Operation{
		OperationID: "list-audit", Method: http.MethodGet, Path: "/audit", Tags: []string{"Audit log"},
		Summary: "Read the audit log",
		Description: "Every change made through the API, the UI or the command line: who, what, when, and the object " +
			"before and after. A CSV import is one entry with its counts.",
	}, func(ctx context.Context, in *listAuditInput) (*auditPageOutput, error) {
		entries, err := audit.List(ctx, s.db, audit.Filter{ObjectType: in.ObjectType, ObjectID: in.ObjectID,
			Actor: in.Actor, After: in.After, Limit: in.Limit + 1, Oldest: in.Order == "oldest"})
		if errors.Is(err, audit.ErrBadCursor) {
			return nil, huma.Error400BadRequest("query parameter after: not a cursor of the audit log",
				&huma.ErrorDetail{Message: "not a cursor of the audit log", Location: "query.after", Value: in.After})
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := auditPage{Entries: make([]auditEntry, 0, len(entries))}
		if len(entries) > in.Limit {
			entries = entries[:in.Limit]
			out.NextCursor = entries[len(entries)-1].ID
		}
		for _, e := range entries {
			out.Entries = append(out.Entries, auditEntry(e))
		}
		return &auditPageOutput{Body: out}, nil
	})
}

// deleteRecorded deletes one object in a transaction with its audit
// entry: get reads what it was (and refuses the delete with its error, such
// as not found), del removes it, and the entry keeps what get read.
func (s *Server) deleteRecorded(ctx context.Context, objectType, id string, get func(*sql.Tx) (any, error), del func(*sql.Tx) error) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := get(tx)
		if err != nil {
			return err
		}
		if err := del(tx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionDelete, objectType, id, before, nil)
	})
}

// createRecorded writes a new object in a transaction with its audit entry,
// so an object never exists without the record of who made it.
func createRecorded[T any](ctx context.Context, s *Server, objectType string, id func(T) string, create func(*sql.Tx) (T, error)) (T, error) {
	var out T
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if out, err = create(tx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionCreate, objectType, id(out), nil, out)
	})
	return out, err
}

// updateRecorded replaces one object in a transaction with its audit entry:
// get reads what it was (refusing with its error, such as not found), update
// writes the new version given the old, and the entry keeps both.
func updateRecorded[B, T any](ctx context.Context, s *Server, objectType, id string, get func(*sql.Tx) (B, error), update func(*sql.Tx, B) (T, error)) (T, error) {
	var out T
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := get(tx)
		if err != nil {
			return err
		}
		if out, err = update(tx, before); err != nil {
			return err
		}
		return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionUpdate, objectType, id, before, out)
	})
	return out, err
}

package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// NoteFields are the writable fields of a timeline entry: the body of PUT and POST.
type NoteFields struct {
	AccountID   string `json:"account_id" minLength:"1" doc:"The account, which must exist."`
	Kind        string `json:"kind,omitempty" enum:"note,call,meeting,email" doc:"note (the default), call, meeting or email."`
	Body        string `json:"body" minLength:"1" maxLength:"100000" doc:"What happened, what was said."`
	AuthorEmail string `json:"author_email,omitempty" maxLength:"320" doc:"Who wrote it; default the user making the request."`
	OccurredAt  string `json:"occurred_at,omitempty" doc:"When it happened: YYYY-MM-DD or an RFC 3339 date-time; default now."`
}

// NoteRecord is one timeline entry of a bulk call.
type NoteRecord struct {
	NoteID string `json:"note_id" minLength:"1" maxLength:"255"`
	NoteFields
}

var notes = &resource[account.Note, NoteFields, account.Note, NoteRecord]{
	plural: "notes", object: "note", tag: "Notes", write: needActivity,
	keys: []string{"note_id"}, keyDocs: []string{"The entry's id."},
	load: func(ctx context.Context, q store.Querier, key []string) (account.Note, error) {
		return account.GetNote(ctx, q, key[0])
	},
	fields: func(n account.Note) NoteFields {
		return NoteFields{AccountID: n.AccountID, Kind: n.Kind, Body: n.Body, AuthorEmail: n.AuthorEmail, OccurredAt: formatTime(n.OccurredAt)}
	},
	check: func(ctx context.Context, c *checker, key []string, f *NoteFields) {
		c.required("account_id", f.AccountID)
		c.requireAccount(ctx, "account_id", f.AccountID)
		c.required("body", f.Body)
		if f.Kind == "" {
			f.Kind = "note"
		}
		if !slices.Contains(account.NoteKinds, f.Kind) {
			c.fail("kind", f.Kind, "must be one of %s", strings.Join(account.NoteKinds, ", "))
		}
		if f.AuthorEmail == "" {
			f.AuthorEmail = c.p.email()
		}
		c.email("author_email", &f.AuthorEmail)
		if strings.TrimSpace(f.OccurredAt) == "" {
			f.OccurredAt = formatTime(time.Now())
		}
		c.time("occurred_at", &f.OccurredAt, true)
	},
	save: func(ctx context.Context, q store.Querier, key []string, f NoteFields) error {
		at, err := parseTime(f.OccurredAt)
		if err != nil {
			return &fieldError{"occurred_at", err.Error()}
		}
		_, err = account.UpsertNote(ctx, q, account.Note{ID: key[0], AccountID: f.AccountID, Kind: f.Kind, Body: f.Body,
			AuthorEmail: f.AuthorEmail, OccurredAt: at})
		return err
	},
	remove: func(ctx context.Context, q store.Querier, key []string) error {
		return account.DeleteNote(ctx, q, key[0])
	},
	present: func(ctx context.Context, q store.Querier, n account.Note) (account.Note, error) { return n, nil },
	split: func(r NoteRecord) ([]string, NoteFields) {
		return []string{r.NoteID}, r.NoteFields
	},
}

type listNotesInput struct {
	PageParams
	AccountID   string `query:"account_id" doc:"Only this account's entries."`
	Kind        string `query:"kind" enum:"note,call,meeting,email" doc:"Only entries of this kind."`
	AuthorEmail string `query:"author_email" doc:"Only entries by this author."`
	Sort        string `query:"sort" enum:"occurred_at,-occurred_at,note_id,-note_id" default:"-occurred_at" doc:"Order: a field, descending with a leading -. Newest first by default."`
}

type notePage struct {
	Notes      []account.Note `json:"notes"`
	NextCursor string         `json:"next_cursor,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
}

type notePageOutput struct{ Body notePage }

type createNoteInput struct {
	Body NoteFields
}

type createNoteOutput struct {
	Location string `header:"Location" doc:"The new entry's URL."`
	Body     account.Note
}

func registerNotes(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "list-notes", Method: http.MethodGet, Path: "/notes", Tags: []string{"Notes"},
		Summary: "List timeline entries", Description: "A page of notes, calls, meetings and emails of accounts' activity timelines.",
	}, func(ctx context.Context, in *listNotesInput) (*notePageOutput, error) {
		l, err := newListing(in.PageParams, in.Sort, "note_id", "occurred_at")
		if err != nil {
			return nil, err
		}
		list, err := account.SearchNotes(ctx, s.db, account.NoteFilter{AccountID: in.AccountID, Kind: in.Kind,
			AuthorEmail: in.AuthorEmail, Sort: l.sort, Desc: l.desc, AfterKey: l.afterKey, AfterID: l.afterID, Limit: l.fetch()})
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		list, next := page(l, list, "note_id", func(n account.Note) (any, string) { return n.SortKey(l.sort), n.ID })
		return &notePageOutput{Body: notePage{Notes: orEmpty(list), NextCursor: next}}, nil
	})
	register(api, notes.write, huma.Operation{
		OperationID: "create-note", Method: http.MethodPost, Path: "/notes", Tags: []string{"Notes"},
		Summary: "Add a timeline entry", Description: "Adds an entry with a new id (201 with its Location). PUT stores one under an id of your own.",
		DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *createNoteInput) (*createNoteOutput, error) {
		id := store.NewID("n_")
		out, err := notes.upsert(ctx, s, []string{id}, in.Body)
		if err != nil {
			return nil, err
		}
		return &createNoteOutput{Location: apiPrefix + "/notes/" + id, Body: out.Body}, nil
	})
	notes.registerRecord(s, api)
}

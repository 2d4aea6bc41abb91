package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/support"
)

// TicketFields are the writable fields of a ticket (an inquiry): the body of PUT.
type TicketFields struct {
	AccountID string `json:"account_id" minLength:"1" doc:"The account that asked, which must exist."`
	OpenedAt  string `json:"opened_at" minLength:"1" doc:"YYYY-MM-DD (00:00 UTC) or an RFC 3339 date-time."`
	ClosedAt  string `json:"closed_at,omitempty" nullable:"true" doc:"Empty or null while open."`
	Status    string `json:"status,omitempty" maxLength:"100"`
	Priority  string `json:"priority,omitempty" maxLength:"100"`
	Category  string `json:"category,omitempty" maxLength:"200"`
	Subject   string `json:"subject,omitempty" maxLength:"10000"`
	CSAT      *int   `json:"csat,omitempty" nullable:"true" minimum:"1" maximum:"5" doc:"The customer's satisfaction with the answer, 1 to 5."`
}

// TicketRecord is one ticket of a bulk call.
type TicketRecord struct {
	TicketID string `json:"ticket_id" minLength:"1" maxLength:"255"`
	TicketFields
}

var tickets = &resource[support.Ticket, TicketFields, support.Ticket, TicketRecord]{
	plural: "tickets", object: "ticket", tag: "Tickets", write: needWrite,
	keys: []string{"ticket_id"}, keyDocs: []string{"The ticket's id (in your help desk)."},
	load: func(ctx context.Context, q store.Querier, key []string) (support.Ticket, error) {
		return support.GetTicket(ctx, q, key[0])
	},
	fields: func(t support.Ticket) TicketFields {
		return TicketFields{AccountID: t.AccountID, OpenedAt: formatTime(t.OpenedAt), ClosedAt: formatTimePtr(t.ClosedAt),
			Status: t.Status, Priority: t.Priority, Category: t.Category, Subject: t.Subject, CSAT: t.CSAT}
	},
	check: func(ctx context.Context, c *checker, key []string, f *TicketFields) {
		c.required("account_id", f.AccountID)
		c.requireAccount(ctx, "account_id", f.AccountID)
		opened, ok := c.time("opened_at", &f.OpenedAt, true)
		if closed, okc := c.time("closed_at", &f.ClosedAt, false); ok && okc && closed.Before(opened) {
			c.fail("closed_at", f.ClosedAt, "is before opened_at")
		}
		f.Status, f.Priority, f.Category = strings.TrimSpace(f.Status), strings.TrimSpace(f.Priority), strings.TrimSpace(f.Category)
	},
	save: func(ctx context.Context, q store.Querier, key []string, f TicketFields) error {
		t := support.Ticket{ID: key[0], AccountID: f.AccountID, Status: f.Status, Priority: f.Priority,
			Category: f.Category, Subject: f.Subject, CSAT: f.CSAT}
		var err error
		if t.OpenedAt, err = parseTime(f.OpenedAt); err != nil {
			return &fieldError{"opened_at", err.Error()}
		}
		if f.ClosedAt != "" {
			closed, err := parseTime(f.ClosedAt)
			if err != nil {
				return &fieldError{"closed_at", err.Error()}
			}
			t.ClosedAt = &closed
		}
		return support.UpsertTicket(ctx, q, t)
	},
	remove: func(ctx context.Context, q store.Querier, key []string) error {
		return support.DeleteTicket(ctx, q, key[0])
	},
	present: func(ctx context.Context, q store.Querier, t support.Ticket) (support.Ticket, error) { return t, nil },
	split: func(r TicketRecord) ([]string, TicketFields) {
		return []string{r.TicketID}, r.TicketFields
	},
}

type listTicketsInput struct {
	PageParams
	AccountID string `query:"account_id" doc:"Only this account's tickets."`
	Status    string `query:"status" doc:"Only tickets with this status."`
	Category  string `query:"category" doc:"Only tickets in this category."`
	State     string `query:"state" enum:"open,closed" doc:"Only open (no closed_at) or closed tickets."`
	Sort      string `query:"sort" enum:"opened_at,-opened_at,ticket_id,-ticket_id" default:"-opened_at" doc:"Order: a field, descending with a leading -. Newest first by default."`
}

type ticketPage struct {
	Tickets    []support.Ticket `json:"tickets"`
	NextCursor string           `json:"next_cursor,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
}

type ticketPageOutput struct{ Body ticketPage }

func registerTickets(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "list-tickets", Method: http.MethodGet, Path: "/tickets", Tags: []string{"Tickets"},
		Summary: "List tickets", Description: "A page of support inquiries.",
	}, func(ctx context.Context, in *listTicketsInput) (*ticketPageOutput, error) {
		l, err := newListing(in.PageParams, in.Sort, "ticket_id", "opened_at")
		if err != nil {
			return nil, err
		}
		f := support.TicketFilter{AccountID: in.AccountID, Status: in.Status, Category: in.Category,
			Sort: l.sort, Desc: l.desc, AfterKey: l.afterKey, AfterID: l.afterID, Limit: l.fetch()}
		if in.State != "" {
			open := in.State == "open"
			f.Open = &open
		}
		list, err := support.SearchTickets(ctx, s.db, f)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		list, next := page(l, list, "ticket_id", func(t support.Ticket) (any, string) { return t.SortKey(l.sort), t.ID })
		return &ticketPageOutput{Body: ticketPage{Tickets: orEmpty(list), NextCursor: next}}, nil
	})
	tickets.registerRecord(s, api)
}

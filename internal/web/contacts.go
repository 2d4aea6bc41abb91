package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// ContactFields are the writable fields of a contact: the body of PUT.
type ContactFields struct {
	AccountID  string         `json:"account_id" minLength:"1" doc:"The contact's account, which must exist."`
	Email      string         `json:"email,omitempty" maxLength:"320"`
	Name       string         `json:"name,omitempty" maxLength:"1000"`
	Role       string         `json:"role,omitempty" maxLength:"1000" doc:"Their role at the customer (decision maker, admin, user, ...)."`
	Attributes map[string]any `json:"attributes,omitempty" doc:"Custom attributes: each a string, number, boolean or null, as for accounts."`
}

// ContactRecord is one contact of a bulk call.
type ContactRecord struct {
	ContactID string `json:"contact_id" minLength:"1" maxLength:"255"`
	ContactFields
}

var contacts = &resource[account.Contact, ContactFields, account.Contact, ContactRecord]{
	plural: "contacts", object: "contact", tag: "Contacts", write: needWrite,
	keys: []string{"contact_id"}, keyDocs: []string{"The contact's id."},
	load: func(ctx context.Context, q store.Querier, key []string) (account.Contact, error) {
		return account.GetContact(ctx, q, key[0])
	},
	fields: func(c account.Contact) ContactFields {
		return ContactFields{AccountID: c.AccountID, Email: c.Email, Name: c.Name, Role: c.Role, Attributes: attributeFields(c.Attributes)}
	},
	check: func(ctx context.Context, c *checker, key []string, f *ContactFields) {
		c.required("account_id", f.AccountID)
		c.requireAccount(ctx, "account_id", f.AccountID)
		c.email("email", &f.Email)
		c.attributes(f.Attributes)
		for k, v := range f.Attributes {
			if v == nil {
				delete(f.Attributes, k)
			}
		}
		if len(f.Attributes) == 0 {
			f.Attributes = nil
		}
	},
	save: func(ctx context.Context, q store.Querier, key []string, f ContactFields) error {
		return account.ReplaceContact(ctx, q, account.Contact{ID: key[0], AccountID: f.AccountID, Email: f.Email,
			Name: f.Name, Role: f.Role, Attributes: f.Attributes})
	},
	remove: func(ctx context.Context, q store.Querier, key []string) error {
		return account.DeleteContact(ctx, q, key[0])
	},
	present: func(ctx context.Context, q store.Querier, c account.Contact) (account.Contact, error) { return c, nil },
	split: func(r ContactRecord) ([]string, ContactFields) {
		return []string{r.ContactID}, r.ContactFields
	},
}

type listContactsInput struct {
	PageParams
	AccountID string `query:"account_id" doc:"Only this account's contacts."`
	Email     string `query:"email" doc:"Only contacts with this email."`
	Sort      string `query:"sort" enum:"contact_id,-contact_id,email,-email,name,-name" default:"contact_id" doc:"Order: a field, descending with a leading -."`
}

type contactPage struct {
	Contacts   []account.Contact `json:"contacts"`
	NextCursor string            `json:"next_cursor,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
}

type contactPageOutput struct{ Body contactPage }

func registerContacts(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "list-contacts", Method: http.MethodGet, Path: "/contacts", Tags: []string{"Contacts"},
		Summary: "List contacts", Description: "A page of contacts (people at customers) with their custom attributes.",
	}, func(ctx context.Context, in *listContactsInput) (*contactPageOutput, error) {
		l, err := newListing(in.PageParams, in.Sort, "contact_id")
		if err != nil {
			return nil, err
		}
		list, err := account.SearchContacts(ctx, s.db, account.ContactFilter{AccountID: in.AccountID, Email: in.Email,
			Sort: l.sort, Desc: l.desc, AfterKey: l.afterKey, AfterID: l.afterID, Limit: l.fetch()})
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		list, next := page(l, list, "contact_id", func(c account.Contact) (any, string) { return c.SortKey(l.sort), c.ID })
		return &contactPageOutput{Body: contactPage{Contacts: orEmpty(list), NextCursor: next}}, nil
	})
	contacts.registerRecord(s, api)
}

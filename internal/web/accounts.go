package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/lifecycle"
	"github.com/kizuna-cs/kizuna/internal/money"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// accountJSON is an account as the API returns it. Every key is present,
// null when unknown, so clients need not tell a missing key from an empty one.
type accountJSON struct {
	ID         string         `json:"account_id"`
	Name       string         `json:"name"`
	SignupAt   *time.Time     `json:"signup_at" nullable:"true"`
	OwnerEmail *string        `json:"owner_email" nullable:"true"`
	ParentID   *string        `json:"parent_account_id" nullable:"true"`
	Attributes map[string]any `json:"attributes" doc:"Custom attributes, typed by their column's inferred type (number, boolean, date, text)."`
	// MRR is the current MRR in Currency (the reporting currency), rounded to
	// its minor unit; null when a subscription's currency has no exchange rate.
	MRR      *float64 `json:"mrr" nullable:"true" doc:"Current MRR in the reporting currency, rounded to its minor unit; null when a subscription's currency has no exchange rate."`
	Currency string   `json:"currency" doc:"The reporting currency."`
	// Health is the latest stored score; null before the first recompute.
	Health *health.CurrentHealth `json:"health" required:"false" doc:"The current health score, band and each measure's contribution; null before the account's first recompute."`
	// ChurnRisk is the latest stored churn score; null when the latest
	// scoring left the account out (not paying) or none ran yet.
	ChurnRisk  *churn.CurrentRisk `json:"churn_risk" required:"false" doc:"The latest stored churn probability with its top reasons and the model's as-of date; null when the account was not scored (not paying at the latest scoring, or none yet)."`
	RecordedAt time.Time          `json:"recorded_at"`
	UpdatedAt  time.Time          `json:"updated_at"`

	// Stage is the current lifecycle stage (internal/lifecycle).
	Stage          *string    `json:"stage" nullable:"true" doc:"The current lifecycle stage's id; null when the account is in none (or before its first recompute)."`
	StageEnteredAt *time.Time `json:"stage_entered_at" nullable:"true" doc:"When the account entered stage; null with it."`
}

// accountPage is one page of GET /api/v1/accounts.
type accountPage struct {
	Accounts []accountJSON `json:"accounts"`
	// NextCursor is the after= value of the next page; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
}

// AccountFields are the writable fields of an account: the body of PUT.
type AccountFields struct {
	Name            string         `json:"name,omitempty" maxLength:"1000" doc:"Display name."`
	SignupAt        string         `json:"signup_at,omitempty" nullable:"true" doc:"When the customer signed up: YYYY-MM-DD (00:00 UTC) or an RFC 3339 date-time."`
	OwnerEmail      string         `json:"owner_email,omitempty" nullable:"true" maxLength:"320" doc:"The owning CSM's email."`
	ParentAccountID string         `json:"parent_account_id,omitempty" nullable:"true" doc:"The parent account (a group company), which must exist."`
	Attributes      map[string]any `json:"attributes,omitempty" doc:"Custom attributes: each a string, number, boolean or null. PUT replaces them all; PATCH sets those it names (null removes one). Types are inferred as in CSV imports."`
}

// AccountRecord is one account of a bulk call.
type AccountRecord struct {
	AccountID string `json:"account_id" minLength:"1" maxLength:"255"`
	AccountFields
}

// maxAttributes bounds the custom attributes of one record.
const maxAttributes = 200

func newAccountJSON(a account.Account, mrr float64, mrrErr error, currency string) (accountJSON, error) {
	out := accountJSON{
		ID:         a.ID,
		Name:       a.Name,
		SignupAt:   a.SignupAt,
		OwnerEmail: nullable(a.OwnerEmail),
		ParentID:   nullable(a.ParentID),
		Attributes: a.Attributes,
		Currency:   currency,
		RecordedAt: a.RecordedAt,
		UpdatedAt:  a.UpdatedAt,
	}
	if out.Attributes == nil {
		out.Attributes = map[string]any{}
	}
	switch {
	case errors.Is(mrrErr, billing.ErrNoRate):
		// One currency without a rate should not hide every account from
		// the API; the MRR is unknown, the rest of the account is not.
	case mrrErr != nil:
		return out, mrrErr
	default:
		v := roundToMinor(mrr, currency)
		out.MRR = &v
	}
	return out, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// roundToMinor rounds an amount in major units to the currency's minor unit
// (cents, or whole yen), which is all the precision an API client should show.
func roundToMinor(v float64, currency string) float64 {
	exp, err := money.Exponent(currency)
	if err != nil {
		exp = 2
	}
	p := math.Pow10(exp)
	return math.Round(v*p) / p
}

// presentAccount adds the current MRR to a stored account.
func presentAccount(ctx context.Context, q store.Querier, a account.Account) (accountJSON, error) {
	periods, err := billing.Periods(ctx, q, a.ID)
	if err != nil {
		return accountJSON{}, err
	}
	conv, err := billing.LoadConverter(ctx, q)
	if err != nil {
		return accountJSON{}, err
	}
	v, convErr := conv.MRR(periods, time.Now())
	out, err := newAccountJSON(a, v, convErr, conv.Reporting)
	if err != nil {
		return out, err
	}
	hs, err := health.Current(ctx, q, []string{a.ID})
	if err != nil {
		return out, err
	}
	if h, ok := hs[a.ID]; ok {
		out.Health = &h
	}
	rs, err := churn.Current(ctx, q, []string{a.ID})
	if err != nil {
		return out, err
	}
	if r, ok := rs[a.ID]; ok {
		out.ChurnRisk = &r
	}
	stages, err := lifecycle.CurrentOf(ctx, q, []string{a.ID})
	out.setStage(stages)
	return out, err
}

// setStage sets the account's current lifecycle stage from stages.
func (aj *accountJSON) setStage(stages map[string]lifecycle.Current) {
	if c, ok := stages[aj.ID]; ok {
		aj.Stage, aj.StageEnteredAt = &c.StageID, &c.EnteredAt
	}
}

// attributeFields turns stored attribute values into what a client sends:
// dates at midnight UTC as YYYY-MM-DD, as they were most likely imported.
func attributeFields(attrs map[string]any) map[string]any {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]any, len(attrs))
	for k, v := range attrs {
		if t, ok := v.(time.Time); ok {
			if t.Equal(t.Truncate(24 * time.Hour)) {
				v = t.UTC().Format("2006-01-02")
			} else {
				v = formatTime(t)
			}
		}
		out[k] = v
	}
	return out
}

// attributes checks custom attribute names and values.
func (c *checker) attributes(attrs map[string]any) {
	if len(attrs) > maxAttributes {
		c.fail("attributes", nil, "%d attributes; at most %d", len(attrs), maxAttributes)
		return
	}
	for name, v := range attrs {
		switch {
		case strings.TrimSpace(name) == "" || len(name) > 100:
			c.fail("attributes", name, "attribute names must be 1 to 100 characters")
		}
		switch v.(type) {
		case nil, string, float64, bool:
		default:
			c.fail("attributes."+name, v, "must be a string, number, boolean or null")
		}
	}
}

// email checks an optional email field and lower-cases it, as the CSV import does.
func (c *checker) email(field string, v *string) {
	*v = strings.TrimSpace(*v)
	if *v == "" {
		return
	}
	at := strings.IndexByte(*v, '@')
	if at < 1 || at == len(*v)-1 || strings.ContainsAny(*v, " ,;<>") {
		c.fail(field, *v, "not an email address")
		return
	}
	*v = strings.ToLower(*v)
}

var accounts = &resource[account.Account, AccountFields, accountJSON, AccountRecord]{
	plural: "accounts", object: "account", tag: "Accounts", write: needWrite,
	keys: []string{"account_id"}, keyDocs: []string{"The account's id (your own: the one in your billing system or CRM)."},
	definesAccounts: true,
	load: func(ctx context.Context, q store.Querier, key []string) (account.Account, error) {
		return account.Get(ctx, q, key[0])
	},
	fields: func(a account.Account) AccountFields {
		return AccountFields{Name: a.Name, SignupAt: formatTimePtr(a.SignupAt), OwnerEmail: a.OwnerEmail,
			ParentAccountID: a.ParentID, Attributes: attributeFields(a.Attributes)}
	},
	check: func(ctx context.Context, c *checker, key []string, f *AccountFields) {
		c.time("signup_at", &f.SignupAt, false)
		c.email("owner_email", &f.OwnerEmail)
		f.ParentAccountID = strings.TrimSpace(f.ParentAccountID)
		if f.ParentAccountID == key[0] {
			c.fail("parent_account_id", f.ParentAccountID, "an account cannot be its own parent")
		} else {
			c.requireAccount(ctx, "parent_account_id", f.ParentAccountID)
		}
		c.attributes(f.Attributes)
		for k, v := range f.Attributes {
			if v == nil {
				delete(f.Attributes, k) // absent and null both mean "no such attribute"
			}
		}
		if len(f.Attributes) == 0 {
			f.Attributes = nil
		}
	},
	save: func(ctx context.Context, q store.Querier, key []string, f AccountFields) error {
		a := account.Account{ID: key[0], Name: f.Name, OwnerEmail: f.OwnerEmail, ParentID: f.ParentAccountID, Attributes: f.Attributes}
		if f.SignupAt != "" {
			t, err := parseTime(f.SignupAt)
			if err != nil {
				return &fieldError{"signup_at", err.Error()}
			}
			a.SignupAt = &t
		}
		return account.Replace(ctx, q, a)
	},
	remove: func(ctx context.Context, q store.Querier, key []string) error {
		return account.Delete(ctx, q, key[0])
	},
	present: presentAccount,
	split: func(r AccountRecord) ([]string, AccountFields) {
		return []string{r.AccountID}, r.AccountFields
	},
}

// listAccountsInput is GET /api/v1/accounts.
type listAccountsInput struct {
	PageParams
	Owner  string `query:"owner" doc:"Only accounts owned by this email."`
	Parent string `query:"parent_account_id" doc:"Only accounts whose parent is this account."`
	Stage  string `query:"stage" doc:"Only accounts whose current lifecycle stage is this stage id."`
	Sort   string `query:"sort" enum:"account_id,-account_id,name,-name,updated_at,-updated_at" default:"account_id" doc:"Order: a field, descending with a leading -."`
}

type accountPageOutput struct {
	Body accountPage
}

func registerAccounts(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "list-accounts", Method: http.MethodGet, Path: "/accounts", Tags: []string{"Accounts"},
		Summary:     "List accounts",
		Description: "A page of accounts with their custom attributes and current MRR.",
	}, s.listAccounts)
	accounts.registerRecord(s, api)
}

// listAccounts serves GET /api/v1/accounts.
func (s *Server) listAccounts(ctx context.Context, in *listAccountsInput) (*accountPageOutput, error) {
	l, err := newListing(in.PageParams, in.Sort, "account_id", "updated_at")
	if err != nil {
		return nil, err
	}
	list, err := account.Search(ctx, s.db, account.Filter{Owner: in.Owner, Parent: in.Parent, Stage: in.Stage,
		Sort: l.sort, Desc: l.desc, AfterKey: l.afterKey, AfterID: l.afterID, Limit: l.fetch()})
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	list, next := page(l, list, "account_id", func(a account.Account) (any, string) { return a.SortKey(l.sort), a.ID })
	out := &accountPageOutput{Body: accountPage{Accounts: make([]accountJSON, 0, len(list)), NextCursor: next}}

	ids := make([]string, len(list))
	for i, a := range list {
		ids[i] = a.ID
	}
	attrs, err := account.AttributesOf(ctx, s.db, account.ObjectAccount, ids)
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	now := time.Now()
	mrr, err := billing.CurrentMRR(ctx, s.db, ids, now)
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	conv, err := billing.LoadConverter(ctx, s.db)
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	hs, err := health.Current(ctx, s.db, ids)
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	risks, err := churn.Current(ctx, s.db, ids)
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	stages, err := lifecycle.CurrentOf(ctx, s.db, ids)
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	for _, a := range list {
		a.Attributes = attrs[a.ID]
		v, convErr := conv.Total(mrr[a.ID], now)
		aj, err := newAccountJSON(a, v, convErr, conv.Reporting)
		if err != nil {
			return nil, s.internal(ctx, fmt.Errorf("account %s: %w", a.ID, err))
		}
		if h, ok := hs[a.ID]; ok {
			aj.Health = &h
		}
		if r, ok := risks[a.ID]; ok {
			aj.ChurnRisk = &r
		}
		aj.setStage(stages)
		out.Body.Accounts = append(out.Body.Accounts, aj)
	}
	return out, nil
}

package web

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/money"
)

// Page sizes of GET /api/v1/accounts.
const (
	defaultAccountsLimit = 100
	maxAccountsLimit     = 1000
)

// accountJSON is an account as the API returns it. Every key is present,
// null when unknown, so clients need not tell a missing key from an empty one.
type accountJSON struct {
	ID         string         `json:"account_id"`
	Name       string         `json:"name"`
	SignupAt   *time.Time     `json:"signup_at"`
	OwnerEmail *string        `json:"owner_email"`
	ParentID   *string        `json:"parent_account_id"`
	Attributes map[string]any `json:"attributes"`
	// MRR is the current MRR in Currency (the reporting currency), rounded to
	// its minor unit; null when a subscription's currency has no exchange rate.
	MRR        *float64  `json:"mrr"`
	Currency   string    `json:"currency"`
	RecordedAt time.Time `json:"recorded_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// accountPage is one page of GET /api/v1/accounts.
type accountPage struct {
	Accounts []accountJSON `json:"accounts"`
	// NextCursor is the after= value of the next page; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

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

// listAccounts serves GET /api/v1/accounts: a page of accounts in
// account_id order. Query parameters: limit (1–1000, default 100), after
// (the next_cursor of the previous page) and owner (an owner's email).
func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	limit := defaultAccountsLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAccountsLimit {
			writeBadParam(w, "limit", v, "must be a whole number from 1 to "+strconv.Itoa(maxAccountsLimit))
			return
		}
		limit = n
	}
	after, ok := textParam(w, q, "after")
	if !ok {
		return
	}
	owner, ok := textParam(w, q, "owner")
	if !ok {
		return
	}

	opts := account.ListOptions{After: after, Limit: limit, Owner: owner}
	accounts, err := account.List(ctx, s.db, opts)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	page := accountPage{Accounts: make([]accountJSON, 0, len(accounts))}
	if len(accounts) == limit {
		// A full page may be the last one; look one row further so that the
		// last page never points at an empty one.
		last := accounts[len(accounts)-1].ID
		more, err := account.List(ctx, s.db, account.ListOptions{After: last, Limit: 1, Owner: owner})
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if len(more) > 0 {
			page.NextCursor = last
		}
	}

	ids := make([]string, len(accounts))
	for i, a := range accounts {
		ids[i] = a.ID
	}
	attrs, err := account.AttributesOf(ctx, s.db, account.ObjectAccount, ids)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	now := time.Now()
	mrr, err := billing.CurrentMRR(ctx, s.db, ids, now)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	conv, err := billing.LoadConverter(ctx, s.db)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	for _, a := range accounts {
		a.Attributes = attrs[a.ID]
		v, convErr := conv.Total(mrr[a.ID], now)
		aj, err := newAccountJSON(a, v, convErr, conv.Reporting)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		page.Accounts = append(page.Accounts, aj)
	}
	s.writeJSON(w, r, http.StatusOK, page)
}

// getAccount serves GET /api/v1/accounts/{account_id}.
func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("account_id")
	if !validText(id) {
		// No stored account can have such an id, and PostgreSQL would
		// reject it with an error rather than find nothing.
		writeProblem(w, http.StatusNotFound, "no account with this account_id")
		return
	}
	a, err := account.Get(ctx, s.db, id)
	if errors.Is(err, account.ErrNotFound) {
		writeProblem(w, http.StatusNotFound, "no account with account_id "+strconv.Quote(id))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	periods, err := billing.Periods(ctx, s.db, id)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	conv, err := billing.LoadConverter(ctx, s.db)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v, convErr := conv.MRR(periods, time.Now())
	aj, err := newAccountJSON(a, v, convErr, conv.Reporting)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, aj)
}

// textParam returns query parameter name, answering 400 itself when the
// value is not text a database can compare: invalid UTF-8 or a NUL byte,
// which PostgreSQL rejects with an error.
func textParam(w http.ResponseWriter, q url.Values, name string) (string, bool) {
	v := q.Get(name)
	if !validText(v) {
		writeBadParam(w, name, v, "must be UTF-8 text without NUL bytes")
		return "", false
	}
	return v, true
}

func validText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

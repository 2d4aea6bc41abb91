package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/money"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// periodJSON is a subscription period as the API returns it: one period of
// one subscription at one price, as the CSV import's subscriptions rows are.
type periodJSON struct {
	SubscriptionID string     `json:"subscription_id"`
	AccountID      string     `json:"account_id"`
	StartDate      time.Time  `json:"start_date"`
	EndDate        *time.Time `json:"end_date" nullable:"true" doc:"Exclusive; null while the period is open."`
	MRR            float64    `json:"mrr" doc:"Monthly recurring revenue in major units of currency."`
	Currency       string     `json:"currency"`
	Plan           string     `json:"plan"`
	Product        string     `json:"product"`
	Quantity       *float64   `json:"quantity" nullable:"true"`
}

// PeriodFields are the writable fields of a subscription period: the body of PUT.
type PeriodFields struct {
	AccountID string   `json:"account_id" minLength:"1" doc:"The subscriber, which must exist."`
	EndDate   string   `json:"end_date,omitempty" nullable:"true" doc:"Exclusive end: YYYY-MM-DD or an RFC 3339 date-time; empty or null while open."`
	MRR       float64  `json:"mrr" minimum:"0" doc:"Monthly recurring revenue in major units (49.90, 5000 for JPY); no more decimals than the currency has."`
	Currency  string   `json:"currency,omitempty" doc:"ISO 4217 code; default the reporting currency."`
	Plan      string   `json:"plan,omitempty" maxLength:"1000"`
	Product   string   `json:"product,omitempty" maxLength:"1000"`
	Quantity  *float64 `json:"quantity,omitempty" nullable:"true" doc:"Seats or units, for license utilisation."`
}

// PeriodRecord is one period of a bulk call.
type PeriodRecord struct {
	SubscriptionID string `json:"subscription_id" minLength:"1" maxLength:"255"`
	StartDate      string `json:"start_date" minLength:"1" doc:"Start: YYYY-MM-DD (00:00 UTC) or an RFC 3339 date-time."`
	PeriodFields
}

func presentPeriod(p billing.Period) periodJSON {
	return periodJSON{SubscriptionID: p.SubscriptionID, AccountID: p.AccountID, StartDate: p.Start, EndDate: p.End,
		MRR: money.Major(p.MRRMinor, p.Currency), Currency: p.Currency, Plan: p.Plan, Product: p.Product, Quantity: p.Quantity}
}

var periods = &resource[billing.Period, PeriodFields, periodJSON, PeriodRecord]{
	plural: "subscriptions", object: "subscription_period", tag: "Subscriptions", write: needWrite,
	keys: []string{"subscription_id", "start_date"},
	keyDocs: []string{"The subscription's id.",
		"The period's start: YYYY-MM-DD (00:00 UTC) or an RFC 3339 date-time (URL-encode the +)."},
	normKey: func(key []string) ([]string, error) {
		t, err := parseTime(key[1])
		if err != nil {
			return nil, &fieldError{"start_date", err.Error()}
		}
		return []string{key[0], formatTime(t)}, nil
	},
	load: func(ctx context.Context, q store.Querier, key []string) (billing.Period, error) {
		start, err := time.Parse(time.RFC3339, key[1])
		if err != nil {
			return billing.Period{}, err
		}
		return billing.GetPeriod(ctx, q, key[0], start)
	},
	fields: func(p billing.Period) PeriodFields {
		return PeriodFields{AccountID: p.AccountID, EndDate: formatTimePtr(p.End), MRR: money.Major(p.MRRMinor, p.Currency),
			Currency: p.Currency, Plan: p.Plan, Product: p.Product, Quantity: p.Quantity}
	},
	check: func(ctx context.Context, c *checker, key []string, f *PeriodFields) {
		c.required("account_id", f.AccountID)
		c.requireAccount(ctx, "account_id", f.AccountID)
		start, _ := time.Parse(time.RFC3339, key[1])
		if end, ok := c.time("end_date", &f.EndDate, false); ok && !end.After(start) {
			c.fail("end_date", f.EndDate, "must be after start_date (it is exclusive)")
		}
		f.Currency = strings.ToUpper(strings.TrimSpace(f.Currency))
		if f.Currency == "" {
			cur, err := billing.ReportingCurrency(ctx, c.q)
			if err != nil {
				c.err = err
				return
			}
			f.Currency = cur
		}
		if _, err := money.Currency(f.Currency); err != nil {
			c.fail("currency", f.Currency, "%v", err)
			return
		}
		if _, err := mrrMinor(f.MRR, f.Currency); err != nil {
			c.fail("mrr", f.MRR, "%v", err)
		}
		if f.Quantity != nil && (*f.Quantity < 0 || math.IsInf(*f.Quantity, 0)) {
			c.fail("quantity", *f.Quantity, "must not be negative")
		}
	},
	save: func(ctx context.Context, q store.Querier, key []string, f PeriodFields) error {
		start, err := time.Parse(time.RFC3339, key[1])
		if err != nil {
			return err
		}
		p := billing.Period{SubscriptionID: key[0], AccountID: f.AccountID, Start: start, Currency: f.Currency,
			Plan: f.Plan, Product: f.Product, Quantity: f.Quantity}
		if p.MRRMinor, err = mrrMinor(f.MRR, f.Currency); err != nil {
			return &fieldError{"mrr", err.Error()}
		}
		if f.EndDate != "" {
			end, err := parseTime(f.EndDate)
			if err != nil {
				return &fieldError{"end_date", err.Error()}
			}
			p.End = &end
		}
		err = billing.UpsertPeriod(ctx, q, p)
		if errors.Is(err, billing.ErrOverlap) {
			return &fieldError{"start_date", "overlaps another period of subscription " + strconv.Quote(key[0]) +
				" (a price change is a new period starting where the previous one ends)"}
		}
		return err
	},
	remove: func(ctx context.Context, q store.Querier, key []string) error {
		start, err := time.Parse(time.RFC3339, key[1])
		if err != nil {
			return err
		}
		return billing.DeletePeriod(ctx, q, key[0], start)
	},
	present: func(ctx context.Context, q store.Querier, p billing.Period) (periodJSON, error) {
		return presentPeriod(p), nil
	},
	split: func(r PeriodRecord) ([]string, PeriodFields) {
		return []string{r.SubscriptionID, r.StartDate}, r.PeriodFields
	},
}

// mrrMinor converts an amount in major units into minor units of currency,
// refusing more decimals than the currency has rather than rounding.
func mrrMinor(v float64, currency string) (int64, error) {
	if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("must be a positive amount")
	}
	// The shortest decimal that reads back as v is what the client wrote.
	return money.ParseMinor(strconv.FormatFloat(v, 'f', -1, 64), currency)
}

type listPeriodsInput struct {
	PageParams
	AccountID      string `query:"account_id" doc:"Only this account's periods."`
	SubscriptionID string `query:"subscription_id" doc:"Only this subscription's periods."`
	ActiveAt       string `query:"active_at" doc:"Only periods covering this instant (YYYY-MM-DD or RFC 3339): start ≤ t < end."`
	Sort           string `query:"sort" enum:"start_date,-start_date,subscription_id,-subscription_id" default:"start_date" doc:"Order: a field, descending with a leading -."`
}

type periodPage struct {
	Periods    []periodJSON `json:"periods"`
	NextCursor string       `json:"next_cursor,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
}

type periodPageOutput struct{ Body periodPage }

func registerPeriods(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "list-subscription-periods", Method: http.MethodGet, Path: "/subscriptions", Tags: []string{"Subscriptions"},
		Summary:     "List subscription periods",
		Description: "A page of subscription periods: each one period of a subscription at one price (start inclusive, end exclusive).",
	}, func(ctx context.Context, in *listPeriodsInput) (*periodPageOutput, error) {
		f := billing.PeriodFilter{AccountID: in.AccountID, SubscriptionID: in.SubscriptionID,
			Sort: strings.TrimPrefix(in.Sort, "-"), Desc: strings.HasPrefix(in.Sort, "-"), Limit: in.Limit + 1}
		if in.ActiveAt != "" {
			t, err := parseTime(in.ActiveAt)
			if err != nil {
				return nil, huma.Error400BadRequest("query parameter active_at: "+err.Error(),
					&huma.ErrorDetail{Message: err.Error(), Location: "query.active_at", Value: in.ActiveAt})
			}
			f.ActiveAt = &t
		}
		if in.After != "" {
			// A period's cursor is its key, whatever the sort: both orders end in it.
			// Ids may hold "/"; the time after the last one cannot.
			i := strings.LastIndexByte(in.After, '/')
			var sub string
			t, err := time.Parse(time.RFC3339, in.After[i+1:])
			if i > 0 {
				sub = in.After[:i]
			}
			if sub == "" || err != nil {
				return nil, huma.Error400BadRequest("query parameter after: not a cursor of this list",
					&huma.ErrorDetail{Message: "not a cursor of this list", Location: "query.after", Value: in.After})
			}
			f.AfterSubscription, f.AfterStart = sub, t
		}
		list, err := billing.SearchPeriods(ctx, s.db, f)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := periodPage{Periods: make([]periodJSON, 0, len(list))}
		if len(list) > in.Limit {
			list = list[:in.Limit]
			last := list[len(list)-1]
			out.NextCursor = last.SubscriptionID + "/" + formatTime(last.Start)
		}
		for _, p := range list {
			out.Periods = append(out.Periods, presentPeriod(p))
		}
		return &periodPageOutput{Body: out}, nil
	})
	periods.registerRecord(s, api)
}

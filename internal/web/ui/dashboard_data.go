package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/onboarding"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// The dashboard's windows and limits.
const (
	dashMonths      = 12  // months of MRR movements
	dashRenewalDays = 90  // renewals due within
	dashNPSDays     = 90  // NPS over the last days
	dashListed      = 10  // accounts at risk and renewals listed
	highChurnRisk   = 0.5 // a churn probability at or above this puts an account at risk whatever its band
	noBand          = ""  // the band of an account without a score
	dashTTL         = 60 * time.Second
)

// dashBands are the bands in the order the distribution shows them.
var dashBands = []string{"green", "yellow", "red", noBand}

// dashData is what the dashboard shows for one scope (everyone, or one
// owner's accounts), as numbers: the page formats them in the reader's
// language, so one computation serves both.
type dashData struct {
	Computed time.Time
	Owner    string   // "" for everyone
	Owners   []string // everyone's scope only: the accounts' owners, sorted
	Currency string
	// Rows are the dashMonths months ending with the last complete month;
	// Last and Prev are its last two (zero rows when the table is empty).
	Rows       []metrics.Row
	Last, Prev metrics.Row
	HasLast    bool

	NPS          *float64
	NPSResponses int

	// Onboarding is the completion rate of the latest signup month whose
	// windows have all closed (OnboardingMonth), business-wide.
	Onboarding      *float64
	OnboardingMonth string

	Customers int         // accounts with MRR > 0 now
	Bands     []bandTotal // of those customers
	AtRisk    []dashAccount

	Renewals     []dashRenewal // the first dashListed, soonest first
	RenewalCount int
	RenewalARR   float64
}

// bandTotal is one health band's paying customers and their ARR now.
type bandTotal struct {
	Band     string
	Accounts int
	ARR      float64
}

// dashAccount is an account as the dashboard lists it.
type dashAccount struct {
	ID, Name, Owner string
	Band            string
	Score           *float64
	ChurnRisk       *float64
	ARR             float64
}

// dashRenewal is a renewal due, with the account's band.
type dashRenewal struct {
	metrics.Renewal
	Band     string
	ARRMajor float64 // *ARR, for the template; 0 without an exchange rate
}

// lastCompleteMonth is the first day of the month before now's.
func lastCompleteMonth(now time.Time) time.Time {
	now = now.UTC()
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
}

// computeDashboard reads what the dashboard shows for owner's accounts
// ("" for everyone) as of now. Every figure comes from the domain
// packages: the metrics table of CONTRACT.md, the stored health and churn
// scores, the current subscription periods.
func computeDashboard(ctx context.Context, db store.Querier, owner string, now time.Time) (*dashData, error) {
	d := &dashData{Computed: now, Owner: owner}
	// The three parts read different tables and fill different fields:
	// run at once, the database reads of one overlap the computing of
	// another (the cold dashboard at 100,000 accounts takes seconds).
	parts := []func() error{
		func() error { return d.monthly(ctx, db, now) },
		func() error { return d.surveysAndOnboarding(ctx, db, now) },
		func() error { return d.accounts(ctx, db, now) },
	}
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, f := range parts {
		wg.Go(func() { errs[i] = f() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	return d, nil
}

// monthly fills the months of the metrics table.
func (d *dashData) monthly(ctx context.Context, db store.Querier, now time.Time) error {
	last := lastCompleteMonth(now)
	// Extended for revenue_churn_rate: the seeds' revenue churn (cancellations only).
	opts := metrics.Options{From: last.AddDate(0, 1-dashMonths, 0), To: last, Extended: true}
	if d.Owner != "" {
		opts.By = "owner"
	}
	t, err := metrics.Compute(ctx, db, opts)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	d.Currency = t.Currency
	for _, r := range t.Rows {
		if d.Owner == "" || r.Group != nil && *r.Group == d.Owner {
			d.Rows = append(d.Rows, r)
		}
	}
	if n := len(d.Rows); n > 0 {
		d.Last, d.HasLast = d.Rows[n-1], true
		if n > 1 {
			d.Prev = d.Rows[n-2]
		}
	}
	return nil
}

// surveysAndOnboarding fills NPS and the onboarding completion rate.
func (d *dashData) surveysAndOnboarding(ctx context.Context, db store.Querier, now time.Time) error {
	byAccount, err := survey.Scores(ctx, db, "nps", now.AddDate(0, 0, -dashNPSDays), now, d.Owner)
	if err != nil {
		return err
	}
	scores := survey.Pooled(byAccount)
	if v, ok := survey.NPS(scores); ok {
		d.NPS, d.NPSResponses = &v, len(scores)
	}
	rates, err := onboarding.CompletionByMonth(ctx, db, now)
	if err != nil {
		return fmt.Errorf("onboarding: %w", err)
	}
	for m, v := range rates {
		if v != nil && m > d.OnboardingMonth {
			d.Onboarding, d.OnboardingMonth = v, m
		}
	}
	return nil
}

// accounts fills the health distribution, the accounts at risk and the
// renewals from one read of each table involved.
func (d *dashData) accounts(ctx context.Context, db store.Querier, now time.Time) error {
	accts, err := account.All(ctx, db, d.Owner)
	if err != nil {
		return err
	}
	mrr, err := billing.AllCurrentMRR(ctx, db, now)
	if err != nil {
		return err
	}
	conv, err := billing.LoadConverter(ctx, db)
	if err != nil {
		return err
	}
	bands, err := health.AllBands(ctx, db)
	if err != nil {
		return err
	}
	risk, err := churn.Probabilities(ctx, db)
	if err != nil {
		return err
	}
	totals := map[string]*bandTotal{}
	for _, b := range dashBands {
		totals[b] = &bandTotal{Band: b}
	}
	inScope := make(map[string]bool, len(accts))
	owners := map[string]bool{}
	for _, a := range accts {
		inScope[a.ID] = true
		if a.OwnerEmail != "" && !owners[a.OwnerEmail] {
			owners[a.OwnerEmail] = true
			d.Owners = append(d.Owners, a.OwnerEmail)
		}
		m, paying := mrr[a.ID]
		if !paying {
			continue // a prospect or a former customer: no revenue at stake
		}
		h, scored := bands[a.ID]
		arr := 0.0
		if v, err := conv.Total(m, now); err == nil {
			arr = 12 * v
		}
		d.Customers++
		bt := totals[noBand]
		if scored {
			if t, ok := totals[h.Band]; ok {
				bt = t
			}
		}
		bt.Accounts++
		bt.ARR += arr
		p, hasRisk := risk[a.ID]
		if !(h.Band == "red" || h.Band == "yellow" || hasRisk && p >= highChurnRisk) {
			continue
		}
		da := dashAccount{ID: a.ID, Name: a.Name, Owner: a.OwnerEmail, ARR: arr}
		if scored {
			da.Band, da.Score = h.Band, &h.Score
		}
		if hasRisk {
			da.ChurnRisk = &p
		}
		d.AtRisk = append(d.AtRisk, da)
	}
	slices.Sort(d.Owners)
	for _, b := range dashBands {
		d.Bands = append(d.Bands, *totals[b])
	}
	// Largest ARR first; red before yellow at equal ARR; then by id, so the
	// list is the same on every run.
	slices.SortFunc(d.AtRisk, func(a, b dashAccount) int {
		if c := cmp.Compare(b.ARR, a.ARR); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Band, b.Band); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	d.AtRisk = d.AtRisk[:min(len(d.AtRisk), dashListed)]

	renewals, err := metrics.Renewals(ctx, db, now, dashRenewalDays)
	if err != nil {
		return err
	}
	for _, r := range renewals {
		if !inScope[r.AccountID] {
			continue
		}
		d.RenewalCount++
		if r.ARR != nil {
			d.RenewalARR += *r.ARR
		}
		if len(d.Renewals) < dashListed {
			dr := dashRenewal{Renewal: r, Band: bands[r.AccountID].Band}
			if r.ARR != nil {
				dr.ARRMajor = *r.ARR
			}
			d.Renewals = append(d.Renewals, dr)
		}
	}
	return nil
}

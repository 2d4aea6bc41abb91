package ui

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/coverage"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/lifecycle"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// The accounts list filters and sorts on figures no table stores: ARR and
// the touch tier (converted from every current period), the plan and the
// renewal date. Computing them per request would read every subscription
// period of 100,000 accounts each time; instead the list reads each
// domain's current state once into memory (a few bulk reads), keeps it for
// indexTTL (or ten times as long as it took to load, so that a large book
// is not reloaded back to back) and answers every filter, sort and page
// from it in a scan (swrCache: a stale index is refreshed in the
// background, on the first request after it went stale, while the old one
// still answers; so only the first request after a start waits). The UI's
// own changes to what the list shows (an owner) invalidate it at once.
const indexTTL = 30 * time.Second

// listRow is one account as the list shows it.
type listRow struct {
	ID, Name, Owner string
	MRR, ARR        float64 // the reporting currency
	Tier            string  // coverage's touch tier; "" when not a customer
	Plan            string
	Renewal         *time.Time
	Scored          bool
	Score           float64
	Band            string
	HasChurn        bool
	Churn           float64
	Stage           string
	StageSince      time.Time
	Segments        []string
	search          string // lower-cased name and id, for the search box
}

// sortKeys are the orders the list offers; name is the default.
var sortKeys = []string{"name", "arr", "health", "renewal", "churn"}

// accountIndex is the loaded list with one precomputed order per sort key.
type accountIndex struct {
	rows     []listRow
	currency string
	loadedAt time.Time
	// present[key] are the rows with a value for key in ascending order
	// (ties by name, then id); missing[key] are the others by name. Rows
	// without a value come last in either direction.
	present, missing map[string][]int32
	plans, owners    []string
	// The choices of the stage and segment filters, read with the rows
	// (segment.List counts every segment's members).
	stages   []lifecycle.StageDefinition
	segments []segment.Segment
}

// loadIndex reads every account's list row as of now.
func loadIndex(ctx context.Context, q store.Querier, now time.Time) (*accountIndex, error) {
	book, err := coverage.LoadBook(ctx, q, now)
	if err != nil {
		return nil, fmt.Errorf("accounts list: %w", err)
	}
	conv, err := billing.LoadConverter(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("accounts list: %w", err)
	}
	terms, err := billing.CurrentTerms(ctx, q, conv, now)
	if err != nil {
		return nil, fmt.Errorf("accounts list: %w", err)
	}
	bands, err := health.AllBands(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("accounts list: %w", err)
	}
	risks, err := churn.Probabilities(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("accounts list: %w", err)
	}
	stages, err := lifecycle.AllCurrent(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("accounts list: %w", err)
	}
	members, err := segment.Memberships(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("accounts list: %w", err)
	}
	ix := &accountIndex{rows: make([]listRow, len(book.Accounts)), currency: book.Currency, loadedAt: now}
	if ix.stages, err = lifecycle.List(ctx, q); err != nil {
		return nil, fmt.Errorf("accounts list: %w", err)
	}
	if ix.segments, err = segment.List(ctx, q); err != nil {
		return nil, fmt.Errorf("accounts list: %w", err)
	}
	plans, owners := map[string]bool{}, map[string]bool{}
	for i, a := range book.Accounts {
		r := listRow{ID: a.AccountID, Name: a.Name, Owner: a.Owner, MRR: a.MRR, ARR: a.ARR, Tier: a.Tier,
			Segments: members[a.AccountID], search: strings.ToLower(a.Name + "\x00" + a.AccountID)}
		if t, ok := terms[a.AccountID]; ok {
			r.Plan, r.Renewal = t.Plan, t.Renewal
		}
		if b, ok := bands[a.AccountID]; ok {
			r.Scored, r.Score, r.Band = true, b.Score, b.Band
		}
		if p, ok := risks[a.AccountID]; ok {
			r.HasChurn, r.Churn = true, p
		}
		if s, ok := stages[a.AccountID]; ok {
			r.Stage, r.StageSince = s.StageID, s.EnteredAt
		}
		if r.Plan != "" {
			plans[r.Plan] = true
		}
		if r.Owner != "" {
			owners[r.Owner] = true
		}
		ix.rows[i] = r
	}
	ix.plans, ix.owners = sortedKeys(plans), sortedKeys(owners)
	ix.sortAll()
	return ix, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// sortAll computes the order of every sort key.
func (ix *accountIndex) sortAll() {
	ix.present, ix.missing = map[string][]int32{}, map[string][]int32{}
	byName := func(a, b int32) int {
		ra, rb := &ix.rows[a], &ix.rows[b]
		if c := cmp.Compare(strings.ToLower(ra.Name), strings.ToLower(rb.Name)); c != 0 {
			return c
		}
		return cmp.Compare(ra.ID, rb.ID)
	}
	value := map[string]func(r *listRow) (float64, bool){
		"arr":     func(r *listRow) (float64, bool) { return r.ARR, r.ARR > 0 },
		"health":  func(r *listRow) (float64, bool) { return r.Score, r.Scored },
		"churn":   func(r *listRow) (float64, bool) { return r.Churn, r.HasChurn },
		"renewal": func(r *listRow) (float64, bool) { return renewalKey(r), r.Renewal != nil },
	}
	all := make([]int32, len(ix.rows))
	for i := range all {
		all[i] = int32(i)
	}
	slices.SortFunc(all, byName)
	ix.present["name"], ix.missing["name"] = all, nil
	for key, v := range value {
		var present, missing []int32
		for _, i := range all {
			if _, ok := v(&ix.rows[i]); ok {
				present = append(present, i)
			} else {
				missing = append(missing, i)
			}
		}
		// Stable on the name order: ties stay by name.
		slices.SortStableFunc(present, func(a, b int32) int {
			va, _ := v(&ix.rows[a])
			vb, _ := v(&ix.rows[b])
			return cmp.Compare(va, vb)
		})
		ix.present[key], ix.missing[key] = present, missing
	}
}

func renewalKey(r *listRow) float64 {
	if r.Renewal == nil {
		return 0
	}
	return float64(r.Renewal.Unix())
}

// listFilter is what the list's query string asks for.
type listFilter struct {
	Q, Segment, Tier, Band, Owner, Stage, Plan string
	Sort                                       string
	Desc                                       bool
}

// noOwner is the owner filter's value for unassigned accounts.
const noOwner = "none"

func (f listFilter) match(r *listRow) bool {
	switch {
	case f.Q != "" && !strings.Contains(r.search, f.Q):
		return false
	case f.Segment != "" && !slices.Contains(r.Segments, f.Segment):
		return false
	case f.Tier != "" && r.Tier != f.Tier:
		return false
	case f.Band == "none" && r.Scored, f.Band != "" && f.Band != "none" && r.Band != f.Band:
		return false
	case f.Owner == noOwner && r.Owner != "", f.Owner != "" && f.Owner != noOwner && r.Owner != f.Owner:
		return false
	case f.Stage != "" && r.Stage != f.Stage:
		return false
	case f.Plan != "" && r.Plan != f.Plan:
		return false
	}
	return true
}

// scan calls fn for each matching row in the filter's order, with its
// position among the matches, and returns the number of matches. fn
// returns false to stop reading rows (the count goes on).
func (ix *accountIndex) scan(f listFilter, fn func(n int, r *listRow) bool) int {
	present, missing := ix.present[f.Sort], ix.missing[f.Sort]
	n := 0
	want := true
	visit := func(i int32) {
		r := &ix.rows[i]
		if !f.match(r) {
			return
		}
		if want {
			want = fn(n, r)
		}
		n++
	}
	if f.Desc {
		for k := len(present) - 1; k >= 0; k-- {
			visit(present[k])
		}
	} else {
		for _, i := range present {
			visit(i)
		}
	}
	for _, i := range missing {
		visit(i)
	}
	return n
}

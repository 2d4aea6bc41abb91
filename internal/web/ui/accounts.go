package ui

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/coverage"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// accountsArea serves the accounts list and the account page; it keeps
// the list's in-memory index (accounts_index.go).
type accountsArea struct {
	u     *UI
	cache swrCache[struct{}, *accountIndex]
}

// index returns the list's (cached) index.
func (a *accountsArea) index(ctx context.Context) (*accountIndex, error) {
	ix, _, err := a.cache.get(ctx, struct{}{}, func(ctx context.Context) (*accountIndex, error) {
		return loadIndex(ctx, a.u.db, time.Now())
	}, func(err error) { a.u.log.Error("refresh the accounts list", "err", err) })
	return ix, err
}

// registerAccounts registers the accounts list and the account page.
func (u *UI) registerAccounts() {
	a := &accountsArea{u: u, cache: swrCache[struct{}, *accountIndex]{ttl: indexTTL}}
	u.warmers = append(u.warmers, func(ctx context.Context) error {
		_, err := a.index(ctx)
		return err
	})
	u.mux.Handle("GET /accounts", u.page(user.RoleViewer, a.list))
	u.mux.Handle("GET /accounts.csv", u.page(user.RoleViewer, a.csv))
	u.mux.Handle("GET /accounts/{id}", u.page(user.RoleViewer, a.show))
	u.mux.Handle("POST /accounts/{id}/notes", u.action(user.RoleCSM, a.addNote))
	u.mux.Handle("POST /accounts/{id}/owner", u.action(user.RoleCSM, a.changeOwner))
	u.mux.Handle("POST /accounts/{id}/override", u.action(user.RoleCSM, a.override))
	u.mux.Handle("POST /accounts/{id}/tasks", u.action(user.RoleCSM, a.createTask))
}

// pageSize is how many accounts one page of the list shows.
const pageSize = 50

var (
	bandValues = []string{"green", "yellow", "red", "none"}
	tierValues = coverage.Tiers
)

// parseListFilter reads the list's query string; a value the list does not
// offer is a 400 naming the parameter.
func parseListFilter(rq *Request) (listFilter, int, error) {
	q := rq.URL.Query()
	f := listFilter{Q: strings.ToLower(strings.TrimSpace(q.Get("q"))), Segment: q.Get("segment"), Tier: q.Get("tier"),
		Band: q.Get("band"), Owner: strings.ToLower(strings.TrimSpace(q.Get("owner"))), Stage: q.Get("stage"),
		Plan: q.Get("plan"), Sort: q.Get("sort")}
	bad := func(param, value string, allowed []string) error {
		return Errorf(http.StatusBadRequest, rq.Loc.T("%s: %q is not one of %s.", param, value, strings.Join(allowed, ", ")))
	}
	if f.Sort == "" {
		f.Sort = "name"
	}
	if !slices.Contains(sortKeys, f.Sort) {
		return f, 0, bad("sort", f.Sort, sortKeys)
	}
	switch d := q.Get("dir"); d {
	case "", "asc":
	case "desc":
		f.Desc = true
	default:
		return f, 0, bad("dir", d, []string{"asc", "desc"})
	}
	if f.Band != "" && !slices.Contains(bandValues, f.Band) {
		return f, 0, bad("band", f.Band, bandValues)
	}
	if f.Tier != "" && !slices.Contains(tierValues, f.Tier) {
		return f, 0, bad("tier", f.Tier, tierValues)
	}
	page := 1
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return f, 0, Errorf(http.StatusBadRequest, rq.Loc.T("page: %q is not a page number (1 or more).", p))
		}
		page = n
	}
	return f, page, nil
}

// option is one choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// column is a sortable header of the list.
type column struct {
	Label, Key, Dir, Aria string
	Num                   bool
}

type accountsData struct {
	Filter             listFilter
	RawQ               string
	Segments, Tiers    []option
	Bands, Owners      []option
	Stages, Plans      []option
	Columns            []column
	Rows               []listItem
	Count, Page, Pages int
	Prev, Next         string // page numbers; "" when none
	Currency           string
	First, Last        int
	Filtered           bool
	LoadedAt           time.Time
}

// listItem is one row of the list as the template shows it.
type listItem struct {
	// Row is named, not embedded: a template finds a promoted field by a
	// slow search, which was most of the page's time.
	Row       *listRow
	StageName string
	StageDays int
	TierLabel string
}

// list serves GET /accounts: one page of the filtered, sorted accounts
// with the count of all matches.
func (a *accountsArea) list(w http.ResponseWriter, rq *Request) error {
	f, page, err := parseListFilter(rq)
	if err != nil {
		return err
	}
	ix, err := a.index(rq.Context())
	if err != nil {
		return err
	}
	stages, segs := ix.stages, ix.segments
	names := map[string]string{}
	for _, s := range stages {
		names[s.ID] = s.Name
	}
	d := &accountsData{Filter: f, RawQ: rq.URL.Query().Get("q"), Page: page, Currency: ix.currency, LoadedAt: ix.loadedAt}
	now := time.Now()
	from := (page - 1) * pageSize
	d.Count = ix.scan(f, func(n int, r *listRow) bool {
		if n >= from+pageSize {
			return false
		}
		if n >= from {
			it := listItem{Row: r, StageName: names[r.Stage], TierLabel: rq.Loc.T(tierLabel(r.Tier))}
			if r.Stage != "" {
				it.StageDays = int(now.Sub(r.StageSince).Hours() / 24)
			}
			d.Rows = append(d.Rows, it)
		}
		return true
	})
	d.Pages = max(1, (d.Count+pageSize-1)/pageSize)
	if page > d.Pages {
		return Errorf(http.StatusNotFound, rq.Loc.T("page: there are only %d pages.", d.Pages))
	}
	if len(d.Rows) > 0 {
		d.First, d.Last = from+1, from+len(d.Rows)
	}
	if page > 1 {
		d.Prev = strconv.Itoa(page - 1)
	}
	if page < d.Pages {
		d.Next = strconv.Itoa(page + 1)
	}
	d.Filtered = f.Q != "" || f.Segment != "" || f.Tier != "" || f.Band != "" || f.Owner != "" || f.Stage != "" || f.Plan != ""

	l := rq.Loc
	for _, s := range segs {
		d.Segments = append(d.Segments, option{s.ID, s.Name, s.ID == f.Segment})
	}
	for _, t := range tierValues {
		d.Tiers = append(d.Tiers, option{t, l.T(tierLabel(t)), t == f.Tier})
	}
	for _, b := range bandValues {
		label := l.T(b)
		if b == "none" {
			label = l.T("no score")
		}
		d.Bands = append(d.Bands, option{b, label, b == f.Band})
	}
	d.Owners = append(d.Owners, option{noOwner, l.T("Unassigned"), f.Owner == noOwner})
	for _, o := range ix.owners {
		d.Owners = append(d.Owners, option{o, o, o == f.Owner})
	}
	for _, s := range stages {
		d.Stages = append(d.Stages, option{s.ID, l.T(s.Name), s.ID == f.Stage})
	}
	for _, p := range ix.plans {
		d.Plans = append(d.Plans, option{p, p, p == f.Plan})
	}
	for _, c := range []struct {
		key, label string
		num        bool
	}{{"name", "Account", false}, {"arr", "ARR", true}, {"health", "Health", false}, {"renewal", "Renewal date", false}, {"churn", "Churn risk", true}} {
		col := column{Label: l.T(c.label), Num: c.num}
		dir := "asc"
		if f.Sort == c.key {
			col.Aria = "ascending"
			if f.Desc {
				col.Aria = "descending"
			} else {
				dir = "desc"
			}
		} else if c.key == "arr" || c.key == "churn" {
			// A first click shows what one looks for: the largest or
			// riskiest first (for health and renewal that is ascending).
			dir = "desc"
		}
		col.Key, col.Dir = c.key, dir
		d.Columns = append(d.Columns, col)
	}
	return a.u.render(w, rq, http.StatusOK, "accounts", l.T("Accounts"), d)
}

// tierLabel is the English name of a touch tier (a translation key).
func tierLabel(t string) string {
	switch t {
	case coverage.TierHigh:
		return "High touch"
	case coverage.TierLow:
		return "Low touch"
	case coverage.TierTech:
		return "Tech touch"
	}
	return ""
}

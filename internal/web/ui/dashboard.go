package ui

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/kizuna-cs/kizuna/internal/chart"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// registerDashboard registers the dashboard and the metrics pages. The
// metrics page's path, /metrics, is also the Prometheus endpoint's: the
// server hands a browser's request for it to [UI.MetricsPage].
func (u *UI) registerDashboard() {
	u.mux.Handle("GET /{$}", u.page(user.RoleViewer, u.dashboard))
	u.warmers = append(u.warmers, func(ctx context.Context) error {
		_, err := u.dashboardData(ctx, "")
		return err
	})
	u.mux.Handle("GET /metrics/monthly.csv", u.page(user.RoleViewer, u.metricsCSV))
}

// MetricsPage serves the metrics page (GET /metrics for a browser).
func (u *UI) MetricsPage() http.Handler { return u.page(user.RoleViewer, u.metricsPage) }

// dashKey is one cached scope of one UI (tests run many UIs in a process).
type dashKey struct {
	ui    *UI
	owner string
}

var dashCache = &swrCache[dashKey, *dashData]{ttl: dashTTL}

// dashboardData returns the (cached) figures of owner's accounts, "" for
// everyone's.
func (u *UI) dashboardData(ctx context.Context, owner string) (*dashData, error) {
	d, _, err := dashCache.get(ctx, dashKey{u, owner}, func(ctx context.Context) (*dashData, error) {
		return computeDashboard(ctx, u.db, owner, time.Now().UTC())
	}, func(err error) { u.log.Error("refresh the dashboard", "owner", owner, "err", err) })
	return d, err
}

// tile is one figure at the top of the dashboard.
type tile struct {
	Label, Value, Note string
}

// dashView is the dashboard page's data.
type dashView struct {
	D         *dashData
	Owner     string   // the scope: "" for everyone
	Owners    []string // the owner filter's choices; nil for a CSM, who sees their own accounts
	Tiles     []tile
	Movements chart.Chart
	LastMonth string
	Goals     []kpiRow // the top-level KPI goals (goals.go)
}

func (u *UI) dashboard(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	owner := rq.URL.Query().Get("owner")
	var choices []string
	if rq.User.Role == user.RoleCSM {
		// A CSM's dashboard is their book of business.
		owner = rq.User.Email
	} else {
		all, err := u.dashboardData(ctx, "")
		if err != nil {
			return err
		}
		choices = all.Owners
		if owner != "" && !slices.Contains(choices, owner) {
			return Errorf(http.StatusBadRequest, rq.Loc.T("Owner %q owns no accounts.", owner))
		}
	}
	d, err := u.dashboardData(ctx, owner)
	if err != nil {
		return err
	}
	v := &dashView{D: d, Owner: owner, Owners: choices, Tiles: dashTiles(rq.Loc, d), LastMonth: rq.Loc.Month(d.Last.Month)}
	v.Movements = movementsChart(rq.Loc, d.Currency, d.Rows)
	if v.Goals, err = u.topGoals(ctx, rq.Loc); err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "dashboard", rq.Loc.T("Dashboard"), v)
}

// dashTiles are the headline figures: the last complete month's MRR and
// churn, the trailing-12-month retention, NPS and onboarding.
func dashTiles(l *Locale, d *dashData) []tile {
	cur := d.Currency
	last, prev := d.Last, d.Prev
	month := l.Month(last.Month)
	pct := func(x *float64) string {
		if x == nil {
			return "–"
		}
		return l.Pct(*x)
	}
	mrrNote := "–"
	if d.Prev.Month != "" {
		change := last.MRR - prev.MRR
		mrrNote = l.T("%s vs %s", signedMoney(l, change, cur), l.Month(prev.Month))
		if prev.MRR != 0 {
			mrrNote = l.T("%s (%s) vs %s", signedMoney(l, change, cur), signedPct(l, change/prev.MRR), l.Month(prev.Month))
		}
	}
	tiles := []tile{
		{l.T("MRR, end of %s", month), l.Money(last.MRR, cur), mrrNote},
		{l.T("ARR"), l.Money(12*last.MRR, cur), l.T("12 × MRR; %d customers", last.Customers)},
		{l.T("NRR (12 months)"), pct(last.NRR12m), l.T("Net revenue retention to %s", month)},
		{l.T("GRR (12 months)"), pct(last.GRR12m), l.T("Gross revenue retention to %s", month)},
		{l.T("Logo churn, %s", month), pct(last.LogoChurnRate), l.T("%d customers lost", last.ChurnedCustomers)},
		{l.T("Revenue churn, %s", month), pct(revenueChurn(last)), l.T("%s of MRR cancelled", l.Money(last.ChurnedMRR, cur))},
	}
	nps := tile{l.T("NPS, last 90 days"), "–", l.T("No responses")}
	if d.NPS != nil {
		nps.Value, nps.Note = signedNum(l, *d.NPS), l.T("%d responses", d.NPSResponses)
	}
	ob := tile{l.T("Onboarding completion"), "–", l.T("No cohort has finished its window")}
	if d.Onboarding != nil {
		ob.Value, ob.Note = l.Pct(*d.Onboarding), l.T("Signed up in %s (all accounts)", l.Month(d.OnboardingMonth))
	}
	if !d.HasLast {
		for i := range tiles {
			tiles[i].Value, tiles[i].Note = "–", l.T("No subscription data")
		}
	}
	return append(tiles, nps, ob)
}

// revenueChurn is the seeds' revenue churn (MRR lost to cancellations
// over the MRR before), which the extended table carries.
func revenueChurn(r metrics.Row) *float64 {
	if r.Extended == nil {
		return nil
	}
	return r.RevenueChurnRate
}

func signedMoney(l *Locale, x float64, cur string) string {
	if x > 0 {
		return "+" + l.Money(x, cur)
	}
	return l.Money(x, cur)
}

func signedPct(l *Locale, x float64) string {
	if x > 0 {
		return "+" + l.Pct(x)
	}
	return l.Pct(x)
}

func signedNum(l *Locale, x float64) string {
	if x > 0 {
		return "+" + l.Num(x, 0)
	}
	return l.Num(x, 0)
}

// movementsChart stacks each month's MRR movements: what adds MRR above
// the axis, what takes it away below.
func movementsChart(l *Locale, cur string, rows []metrics.Row) chart.Chart {
	labels := make([]string, len(rows))
	series := []chart.Series{{Name: l.T("New")}, {Name: l.T("Expansion")}, {Name: l.T("Reactivation")},
		{Name: l.T("Contraction")}, {Name: l.T("Churn")}}
	for i, r := range rows {
		labels[i] = l.Month(r.Month)
		for s, v := range []float64{r.NewMRR, r.ExpansionMRR, r.ReactivationMRR, -r.ContractionMRR, -r.ChurnedMRR} {
			series[s].Values = append(series[s].Values, v)
		}
	}
	return chart.Bars(l.T("MRR movements by month (%s)", cur), labels, series, func(x float64) string { return l.MoneyShort(x, cur) })
}

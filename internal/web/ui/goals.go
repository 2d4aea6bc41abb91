package ui

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/chart"
	"github.com/kizuna-cs/kizuna/internal/goal"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// registerGoals registers the KPI goal pages.
func (u *UI) registerGoals() {
	u.mux.Handle("GET /goals", u.page(user.RoleViewer, u.goalsPage))
	u.mux.Handle("GET /goals/new", u.page(user.RoleManager, u.goalNew))
	u.mux.Handle("POST /goals", u.action(user.RoleManager, u.goalCreate))
	u.mux.Handle("GET /goals/{id}", u.page(user.RoleViewer, u.goalPage))
	u.mux.Handle("POST /goals/{id}", u.action(user.RoleManager, u.goalUpdate))
	u.mux.Handle("POST /goals/{id}/delete", u.action(user.RoleManager, u.goalDelete))
}

// kpiActualsKey is one cached computation of the actuals: the months and
// the scopes they cover, for one UI.
type kpiActualsKey struct {
	ui       *UI
	from, to time.Time
	scopes   string
}

// kpiActuals caches the metrics behind the goals (a full read of the
// periods per scope) as the dashboard caches its figures: goals change
// more often than a minute's worth of actuals do, so the goals themselves
// are always read fresh and only their actuals come from here.
var kpiActuals = &swrCache[kpiActualsKey, *goal.Actuals]{ttl: dashTTL}

func (u *UI) kpiCache() goal.Cache {
	return func(ctx context.Context, from, to time.Time, scopes []goal.GoalScope) (*goal.Actuals, error) {
		seen := map[goal.GoalScope]bool{}
		var names []string
		for _, s := range scopes {
			if !seen[s] {
				seen[s] = true
				names = append(names, s.By+"="+s.Value)
			}
		}
		key := kpiActualsKey{u, from, to, strings.Join(names, "\x00")}
		a, _, err := kpiActuals.get(ctx, key, func(ctx context.Context) (*goal.Actuals, error) {
			return goal.LoadActuals(ctx, u.db, from, to, scopes)
		}, func(err error) { u.log.Error("refresh the goals' actuals", "err", err) })
		return a, err
	}
}

// kpiRow is a tracked goal as the pages show it.
type kpiRow struct {
	goal.TrackedGoal
	MetricLabel, Target, Latest, Forecast, Baseline string
	Status, StatusClass                             string
	Meter                                           int // the progress bar's value, 0–100
	ChildRows                                       []kpiRow
}

// kpiMetricLabel names a goal metric: the metrics page's label, or the
// extended and survey figures' own.
func kpiMetricLabel(l *Locale, key string) string {
	if s, ok := metricLabels(l)[key]; ok {
		return s
	}
	switch key {
	case "arr":
		return l.T("ARR")
	case "revenue_churn_rate":
		return l.T("Revenue churn rate")
	case "arpa_growth":
		return l.T("ARPA growth")
	case "gross_profit_mrr":
		return l.T("Gross profit MRR")
	case "gross_profit_arpa":
		return l.T("Gross profit ARPA")
	case "gross_profit_arpa_growth":
		return l.T("Gross profit ARPA growth")
	case "retention_cost_per_customer":
		return l.T("Retention cost per customer")
	case "cost_aware_ltv":
		return l.T("Cost-aware LTV")
	case "order_value":
		return l.T("Average order value")
	case "orders_per_year":
		return l.T("Orders per year")
	case "order_lifetime_years":
		return l.T("Order lifetime (years)")
	case "order_ltv":
		return l.T("Order-based LTV")
	case "nps":
		return l.T("NPS")
	case "csat":
		return l.T("CSAT")
	case "ces":
		return l.T("CES")
	}
	return key
}

// kpiValue formats a value of metric: amounts in the currency, rates as
// percentages, counts whole, ratios and scores with decimals; "–" for none.
func kpiValue(l *Locale, metric string, v *float64, cur string) string {
	if v == nil {
		return "–"
	}
	m, _ := goal.LookupMetric(metric)
	switch m.Kind {
	case goal.KindAmount:
		return l.Money(*v, cur)
	case goal.KindRate:
		return l.Pct(*v)
	case goal.KindCount:
		return l.Num(*v, 0)
	case goal.KindScore:
		return l.Num(*v, 1)
	}
	return l.Num(*v, 2)
}

// kpiStatus words a status and gives it the colour of a health band.
func kpiStatus(l *Locale, s string) (label, class string) {
	switch s {
	case goal.StatusAchieved:
		return l.T("Achieved"), "band-green"
	case goal.StatusOnTrack:
		return l.T("On track"), "band-green"
	case goal.StatusAtRisk:
		return l.T("At risk"), "band-yellow"
	case goal.StatusOffTrack:
		return l.T("Off track"), "band-red"
	case goal.StatusMissed:
		return l.T("Missed"), "band-red"
	case goal.StatusStale:
		return l.T("Stale"), "band-yellow"
	}
	return l.T("No data"), "band-none"
}

func (u *UI) kpiRow(l *Locale, t goal.TrackedGoal, cur string) kpiRow {
	r := kpiRow{TrackedGoal: t, MetricLabel: kpiMetricLabel(l, t.Metric), Target: kpiValue(l, t.Metric, &t.Target, cur),
		Forecast: kpiValue(l, t.Metric, t.Tracking.Forecast, cur), Baseline: kpiValue(l, t.Metric, t.Tracking.Baseline, cur)}
	r.Latest = "–"
	if t.Tracking.Latest != nil {
		r.Latest = kpiValue(l, t.Metric, t.Tracking.Latest.Value, cur)
	}
	r.Status, r.StatusClass = kpiStatus(l, t.Tracking.Status)
	if p := t.Tracking.Progress; p != nil {
		r.Meter = int(math.Round(math.Max(0, math.Min(100, *p))))
	}
	return r
}

// kpiRows tracks every goal, in tree order.
func (u *UI) kpiRows(ctx context.Context, l *Locale) ([]kpiRow, error) {
	list, err := goal.List(ctx, u.db)
	if err != nil {
		return nil, err
	}
	tracked, a, err := goal.Report(ctx, list, time.Now(), u.kpiCache())
	if err != nil {
		return nil, err
	}
	rows := make([]kpiRow, len(tracked))
	for i, t := range tracked {
		rows[i] = u.kpiRow(l, t, a.Currency)
	}
	return rows, nil
}

// topGoals are the top-level goals, for the dashboard's tile.
func (u *UI) topGoals(ctx context.Context, l *Locale) ([]kpiRow, error) {
	rows, err := u.kpiRows(ctx, l)
	if err != nil {
		return nil, err
	}
	var top []kpiRow
	for _, r := range rows {
		if r.Depth == 0 {
			top = append(top, r)
		}
	}
	return top, nil
}

func (u *UI) goalsPage(w http.ResponseWriter, rq *Request) error {
	rows, err := u.kpiRows(rq.Context(), rq.Loc)
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "goals", rq.Loc.T("Goals"), map[string]any{
		"Goals": rows, "CanEdit": user.AtLeast(rq.User.Role, user.RoleManager),
	})
}

// kpiView is the goal page: the goal, its chart, its children, and (for
// managers) its edit form.
type kpiView struct {
	Row     kpiRow
	Chart   chart.Chart
	Trend   string // the trend in words
	Form    *kpiForm
	CanEdit bool
}

func (u *UI) kpiView(rq *Request, id string) (*kpiView, error) {
	ctx := rq.Context()
	t, a, err := goal.ReportOne(ctx, u.db, id, time.Now(), u.kpiCache())
	if errors.Is(err, goal.ErrNotFound) {
		return nil, Errorf(http.StatusNotFound, rq.Loc.T("There is no goal %s.", id))
	}
	if err != nil {
		return nil, err
	}
	l := rq.Loc
	v := &kpiView{Row: u.kpiRow(l, t, a.Currency), CanEdit: user.AtLeast(rq.User.Role, user.RoleManager)}
	for _, c := range t.Children {
		// A child's row needs only what its summary holds.
		ct := goal.TrackedGoal{Goal: goal.Goal{ID: c.ID, Name: c.Name, Metric: c.Metric, Owner: c.Owner, Target: c.Target,
			Deadline: c.Deadline}, Tracking: goal.GoalTracking{Progress: c.Progress, Forecast: c.Forecast, Status: c.Status}}
		if c.Latest != nil {
			ct.Tracking.Latest = &goal.MonthValue{Value: c.Latest}
		}
		v.Row.ChildRows = append(v.Row.ChildRows, u.kpiRow(l, ct, a.Currency))
	}
	v.Chart = kpiChart(l, t, a.Currency)
	if tr := t.Tracking.Trend; tr != nil {
		v.Trend = l.T("%s a month over the %d month-ends from %s to %s", kpiValue(l, t.Metric, &tr.Slope, a.Currency), tr.Points,
			l.Month(tr.From), l.Month(tr.To))
	}
	if v.CanEdit {
		v.Form, err = u.newKPIForm(ctx, l, kpiFormOf(t.Goal))
		if err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (u *UI) goalPage(w http.ResponseWriter, rq *Request) error {
	v, err := u.kpiView(rq, rq.PathValue("id"))
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "goal", v.Row.Name, v)
}

// kpiChart draws the month-end actuals, the trend from its first point
// to the deadline month, and the target, over the months from the first
// actual to the deadline.
func kpiChart(l *Locale, t goal.TrackedGoal, cur string) chart.Chart {
	var months []string
	if len(t.Tracking.Actuals) > 0 {
		m, _ := time.Parse("2006-01", t.Tracking.Actuals[0].Month)
		end := time.Date(t.Deadline.Year(), t.Deadline.Month(), 1, 0, 0, 0, 0, time.UTC)
		for ; !m.After(end) && len(months) < 240; m = m.AddDate(0, 1, 0) {
			months = append(months, m.Format("2006-01"))
		}
	}
	metric, _ := goal.LookupMetric(t.Metric)
	actual := chart.Series{Name: l.T("Actual")}
	trend := chart.Series{Name: l.T("Trend"), Class: "goals-trend"}
	target := chart.Series{Name: l.T("Target"), Class: "goals-target"}
	labels := make([]string, len(months))
	for i, m := range months {
		labels[i] = l.Month(m)
		v := math.NaN()
		if i < len(t.Tracking.Actuals) && t.Tracking.Actuals[i].Value != nil {
			v = *t.Tracking.Actuals[i].Value
		}
		actual.Values = append(actual.Values, v)
		tv := math.NaN()
		if tr := t.Tracking.Trend; tr != nil && m >= tr.From {
			tv = metric.Clamp(tr.AtMonth(m))
		}
		trend.Values = append(trend.Values, tv)
		target.Values = append(target.Values, t.Target)
	}
	// Amounts in short form ($1.2M): full ones do not fit beside the axis.
	format := func(x float64) string { return kpiValue(l, t.Metric, &x, cur) }
	if metric.Kind == goal.KindAmount {
		format = func(x float64) string { return l.MoneyShort(x, cur) }
	}
	return chart.Lines(l.T("%s at each month-end, its trend to the deadline and the target", kpiMetricLabel(l, t.Metric)),
		labels, []chart.Series{actual, trend, target}, format)
}

// kpiForm is the goal editor's fields, as typed.
type kpiForm struct {
	New                                                 bool
	ID, Name, Description, Metric, ScopeBy, ScopeValue  string
	Target, Direction, Baseline, Start, Deadline, Owner string
	Parent                                              string
	Errors                                              fieldErrors
	Metrics                                             []kpiOption
	Users, Parents                                      []kpiOption
	ScopeOptions, DirectionOptions                      []kpiOption
}

// kpiOption is one choice of a select.
type kpiOption struct{ Value, Label string }

// kpiFormOf fills the form from a stored goal; a rate's target and
// baseline read as percentages, as people type them.
func kpiFormOf(g goal.Goal) kpiForm {
	m, _ := goal.LookupMetric(g.Metric)
	num := func(v float64) string {
		if m.Kind == goal.KindRate {
			// Rounded to hide the float noise of v × 100 (0.07 → 7.000000000000001).
			return strconv.FormatFloat(math.Round(v*1e8)/1e6, 'f', -1, 64) + "%"
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	f := kpiForm{ID: g.ID, Name: g.Name, Description: g.Description, Metric: g.Metric, ScopeBy: g.Scope.By,
		ScopeValue: g.Scope.Value, Target: num(g.Target), Direction: g.Direction,
		Start: g.Start.Format(time.DateOnly), Deadline: g.Deadline.Format(time.DateOnly), Owner: g.Owner, Parent: g.ParentID}
	if g.Baseline != nil {
		f.Baseline = num(*g.Baseline)
	}
	return f
}

// newKPIForm adds the choices (metrics, users, other goals) to f.
func (u *UI) newKPIForm(ctx context.Context, l *Locale, f kpiForm) (*kpiForm, error) {
	if f.Errors == nil {
		f.Errors = fieldErrors{}
	}
	f.ScopeOptions = []kpiOption{{"owner", l.T("One owner's accounts")}, {"tier", l.T("One tier")}}
	f.DirectionOptions = []kpiOption{{goal.AtLeast, l.T("At least the target")}, {goal.AtMost, l.T("At most the target")}}
	for _, m := range goal.Metrics {
		f.Metrics = append(f.Metrics, kpiOption{m.Key, kpiMetricLabel(l, m.Key) + " (" + m.Key + ")"})
	}
	users, err := user.List(ctx, u.db)
	if err != nil {
		return nil, err
	}
	for _, us := range users {
		f.Users = append(f.Users, kpiOption{us.Email, us.Email})
	}
	goals, err := goal.List(ctx, u.db)
	if err != nil {
		return nil, err
	}
	for _, g := range goals {
		if g.ID != f.ID || f.New {
			f.Parents = append(f.Parents, kpiOption{g.ID, g.Name + " (" + g.ID + ")"})
		}
	}
	return &f, nil
}

func (u *UI) goalNew(w http.ResponseWriter, rq *Request) error {
	f, err := u.newKPIForm(rq.Context(), rq.Loc, kpiForm{New: true, Owner: rq.User.Email,
		Start: time.Now().UTC().Format(time.DateOnly), Parent: rq.URL.Query().Get("parent")})
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "goal_edit", rq.Loc.T("New goal"), f)
}

func (u *UI) goalCreate(w http.ResponseWriter, rq *Request) error {
	return u.saveKPIGoal(w, rq, kpiForm{New: true, ID: strings.TrimSpace(rq.PostFormValue("goal_id"))})
}

func (u *UI) goalUpdate(w http.ResponseWriter, rq *Request) error {
	g, err := goal.Get(rq.Context(), u.db, rq.PathValue("id"))
	if errors.Is(err, goal.ErrNotFound) {
		return Errorf(http.StatusNotFound, rq.Loc.T("There is no goal %s.", rq.PathValue("id")))
	}
	if err != nil {
		return err
	}
	return u.saveKPIGoal(w, rq, kpiForm{ID: g.ID})
}

// kpiFields are the form's names of the goal package's fields.
var kpiFields = map[string]string{"id": "goal_id", "scope.by": "scope_by", "scope.value": "scope_value", "start_date": "start_date",
	"owner_email": "owner_email", "parent_id": "parent_id"}

// parseKPINumber reads a number as typed: "1.5", "1,200", or a
// percentage ("2%" is 0.02) for rates.
func parseKPINumber(s string) (float64, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	if pct {
		v /= 100
	}
	return v, true
}

// saveKPIGoal checks the form field by field, stores the goal and records the
// change; or shows the form again with the messages beside the fields (422).
func (u *UI) saveKPIGoal(w http.ResponseWriter, rq *Request, f kpiForm) error {
	ctx, l := rq.Context(), rq.Loc
	v := rq.PostFormValue
	f.Name, f.Description, f.Metric = strings.TrimSpace(v("name")), strings.TrimSpace(v("description")), v("metric")
	f.ScopeBy, f.ScopeValue, f.Target, f.Direction = v("scope_by"), strings.TrimSpace(v("scope_value")), v("target"), v("direction")
	f.Baseline, f.Start, f.Deadline, f.Owner, f.Parent = v("baseline"), v("start_date"), v("deadline"), v("owner_email"), v("parent_id")
	f.Errors = fieldErrors{}
	g := goal.Goal{ID: f.ID, Name: f.Name, Description: f.Description, Metric: f.Metric,
		Scope: goal.GoalScope{By: f.ScopeBy, Value: f.ScopeValue}, Direction: f.Direction, Owner: f.Owner, ParentID: f.Parent}
	if f.Name == "" {
		f.Errors.add("name", l.T("Required."))
	}
	if t, ok := parseKPINumber(f.Target); ok {
		g.Target = t
	} else {
		f.Errors.add("target", l.T("Enter a number, such as 120000, 1.1 or 2%%."))
	}
	if strings.TrimSpace(f.Baseline) != "" {
		if b, ok := parseKPINumber(f.Baseline); ok {
			g.Baseline = &b
		} else {
			f.Errors.add("baseline", l.T("Enter a number, or leave it empty to start from the month before the start date."))
		}
	}
	for _, d := range []struct {
		field, value string
		into         *time.Time
		required     bool
	}{{"start_date", f.Start, &g.Start, false}, {"deadline", f.Deadline, &g.Deadline, true}} {
		s := strings.TrimSpace(d.value)
		if s == "" {
			if d.required {
				f.Errors.add(d.field, l.T("Required."))
			}
			continue
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			f.Errors.add(d.field, l.T("Enter a date as YYYY-MM-DD."))
			continue
		}
		*d.into = t
	}
	title := l.T("New goal")
	if !f.New {
		title = l.T("Edit goal %s", f.Name)
	}
	refuse := func() error {
		form, err := u.newKPIForm(ctx, l, f)
		if err != nil {
			return err
		}
		return u.render(w, rq, http.StatusUnprocessableEntity, "goal_edit", title, form)
	}
	if len(f.Errors) > 0 {
		return refuse()
	}
	pr := actor(rq)
	var saved goal.Goal
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if f.New {
			g.CreatedBy = rq.User.Email
			if saved, err = goal.Create(ctx, tx, g, time.Now()); err != nil {
				return err
			}
			return audit.Record(ctx, tx, pr, audit.ActionCreate, "goal", saved.ID, nil, saved)
		}
		before, err := goal.Get(ctx, tx, g.ID)
		if err != nil {
			return err
		}
		if saved, err = goal.Update(ctx, tx, g, time.Now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, pr, audit.ActionUpdate, "goal", saved.ID, before, saved)
	})
	var ve *goal.ValidationError
	switch {
	case errors.Is(err, goal.ErrExists):
		f.Errors.add("goal_id", l.T("A goal with this id exists; choose another id."))
		return refuse()
	case errors.As(err, &ve):
		field := ve.Field
		if name, ok := kpiFields[field]; ok {
			field = name
		}
		f.Errors.add(field, kpiMessage(l, ve))
		return refuse()
	case err != nil:
		return err
	}
	redirect(w, rq.Request, "/goals/"+saved.ID, l.T("Goal %s saved.", saved.Name))
	return nil
}

// kpiMessage translates the validation messages a person can cause from
// the form; the rest (which the form's choices prevent) stay as the
// package words them.
func kpiMessage(l *Locale, ve *goal.ValidationError) string {
	m := ve.Message
	switch {
	case ve.Field == "id":
		return l.T("Use lower-case letters, digits, - and _, starting with a letter or digit (at most 100).")
	case strings.Contains(m, "is before the start date"):
		return l.T("The deadline is before the start date.")
	case strings.HasPrefix(m, "the parent's deadline"):
		return l.T("The parent goal is due before this one: a child goal is due no later than its parent.")
	case strings.Contains(m, "that would make a cycle"):
		return l.T("That goal is below this one in the tree: choose another parent.")
	case strings.HasPrefix(m, "child goal"):
		return l.T("A child goal is due after this date: move its deadline first.")
	case strings.HasPrefix(m, "required with scope.by"):
		return l.T("Enter the owner's email or the tier to compute the metric over.")
	case strings.HasPrefix(m, "no user"):
		return l.T("There is no user with this email.")
	}
	return m
}

func (u *UI) goalDelete(w http.ResponseWriter, rq *Request) error {
	ctx, id := rq.Context(), rq.PathValue("id")
	g, err := goal.Get(ctx, u.db, id)
	if errors.Is(err, goal.ErrNotFound) {
		return Errorf(http.StatusNotFound, rq.Loc.T("There is no goal %s.", id))
	}
	if err != nil {
		return err
	}
	err = u.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := goal.Delete(ctx, tx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionDelete, "goal", id, g, nil)
	})
	if errors.Is(err, goal.ErrHasChildren) {
		return Errorf(http.StatusConflict, rq.Loc.T("Goal %s has child goals: delete them or give them another parent first.", g.Name))
	}
	if err != nil {
		return fmt.Errorf("delete goal %s: %w", id, err)
	}
	redirect(w, rq.Request, "/goals", rq.Loc.T("Goal %s deleted.", g.Name))
	return nil
}

package ui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/chart"
	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/lifecycle"
	"github.com/kizuna-cs/kizuna/internal/money"
	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/support"
	"github.com/kizuna-cs/kizuna/internal/survey"
	"github.com/kizuna-cs/kizuna/internal/task"
	"github.com/kizuna-cs/kizuna/internal/usage"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// formState is one form of the account page: what was typed and, after a
// refused POST, the message for each field.
type formState struct {
	Values map[string]string
	Errors map[string]string
}

func newForm(kv ...string) *formState {
	f := &formState{Values: map[string]string{}, Errors: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Values[kv[i]] = kv[i+1]
	}
	return f
}

// fail records a field's message.
func (f *formState) fail(field, msg string) { f.Errors[field] = msg }

// accountView is the account page's data.
type accountView struct {
	Account  account.Account
	Currency string // the reporting currency
	MRR, ARR float64
	MRRKnown bool
	// Local is the MRR in the account's own currency when all its current
	// periods share one that is not the reporting currency.
	Local                  *localMoney
	Plan                   string
	Renewal                *time.Time
	Stage                  string
	StageDays              int
	HasStage               bool
	Health                 *health.AccountHealth
	HealthDay, PreviousDay string // the days of the score and of the one before, formatted
	// HealthAsOf is the latest day the account was scored, formatted, when
	// later than HealthDay (the score has not changed since).
	HealthAsOf string
	// FirstDay is the day of the first score, formatted, when the score
	// has not changed since and that was before the score's day.
	FirstDay               string
	HealthChart            *chart.Chart
	Pulling                []pull
	Churn                  *churn.CurrentRisk
	MRRChart               *chart.Chart
	Periods                []periodRow
	UsageChart             *chart.Chart
	OpenTasks, RecentTasks []task.Task
	QueueLink              bool
	Timeline               []timelineEntry
	Handoff                *account.Handoff
	Attributes             []attribute
	PlanTab                bool
	Owners                 []option
	NoteKinds, Priorities  []option
	Bands                  []option
	CanEdit                bool
	Forms                  map[string]*formState
	Now                    time.Time
}

type localMoney struct {
	Currency string
	MRR, ARR float64
}

// pull is a measure pulling the health score down: the points it would
// add at a full score.
type pull struct {
	Measure    string
	Score      float64
	LostPoints float64
}

type periodRow struct {
	billing.Period
	MRR    float64 // major units of the period's currency
	Active bool
}

type timelineEntry struct {
	At                time.Time
	Kind, Title, Body string
	Who               string
}

type attribute struct{ Name, Value string }

// loadAccount reads the account the path's {id} names: a 404 when there is none.
func (a *accountsArea) loadAccount(rq *Request) (account.Account, error) {
	id := rq.PathValue("id")
	acc, err := account.Get(rq.Context(), a.u.db, id)
	if errors.Is(err, account.ErrNotFound) {
		return acc, Errorf(http.StatusNotFound, rq.Loc.T("There is no account %q.", id))
	}
	return acc, err
}

// show serves GET /accounts/{id}.
func (a *accountsArea) show(w http.ResponseWriter, rq *Request) error {
	acc, err := a.loadAccount(rq)
	if err != nil {
		return err
	}
	return a.renderAccount(w, rq, acc, http.StatusOK, nil)
}

// renderAccount renders the account page with status; forms carries the
// refused form, if any (the others start empty).
func (a *accountsArea) renderAccount(w http.ResponseWriter, rq *Request, acc account.Account, status int, forms map[string]*formState) error {
	v, err := a.accountView(rq, acc, time.Now())
	if err != nil {
		return err
	}
	for k, f := range forms {
		v.Forms[k] = f
	}
	title := acc.Name
	if title == "" {
		title = acc.ID
	}
	return a.u.render(w, rq, status, "account", title, v)
}

// accountView reads everything the account page shows, as of now.
func (a *accountsArea) accountView(rq *Request, acc account.Account, now time.Time) (*accountView, error) {
	ctx, q, l := rq.Context(), a.u.db, rq.Loc
	v := &accountView{Account: acc, Now: now, CanEdit: user.AtLeast(rq.User.Role, user.RoleCSM),
		PlanTab: a.u.routed("/accounts/" + acc.ID + "/plan"), QueueLink: a.u.routed("/queue")}
	if err := a.money(ctx, q, l, v, now); err != nil {
		return nil, err
	}
	if err := a.healthView(ctx, q, l, v, now); err != nil {
		return nil, err
	}
	rs, err := churn.Current(ctx, q, []string{acc.ID})
	if err != nil {
		return nil, err
	}
	if r, ok := rs[acc.ID]; ok {
		v.Churn = &r
	}
	stages, err := lifecycle.CurrentOf(ctx, q, []string{acc.ID})
	if err != nil {
		return nil, err
	}
	if c, ok := stages[acc.ID]; ok {
		v.HasStage, v.Stage, v.StageDays = true, c.StageID, int(now.Sub(c.EnteredAt).Hours()/24)
		if d, err := lifecycle.Get(ctx, q, c.StageID); err == nil {
			v.Stage = d.Name
		}
	}
	if v.UsageChart, err = usageChart(ctx, q, l, acc.ID, now); err != nil {
		return nil, err
	}
	tasks, err := task.List(ctx, q, task.Filter{AccountID: acc.ID, Desc: true, Limit: 200})
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		if t.Status == task.Open || t.Status == task.InProgress {
			v.OpenTasks = append(v.OpenTasks, t)
		} else if len(v.RecentTasks) < 5 {
			v.RecentTasks = append(v.RecentTasks, t)
		}
	}
	if v.Timeline, err = timeline(ctx, q, l, acc.ID); err != nil {
		return nil, err
	}
	h, err := account.GetHandoff(ctx, q, acc.ID)
	switch {
	case err == nil:
		v.Handoff = &h
	case !errors.Is(err, account.ErrNotFound):
		return nil, err
	}
	for name, val := range acc.Attributes {
		v.Attributes = append(v.Attributes, attribute{name, formatAttribute(l, val)})
	}
	sort.Slice(v.Attributes, func(i, j int) bool { return v.Attributes[i].Name < v.Attributes[j].Name })
	if err := a.formOptions(ctx, q, l, v); err != nil {
		return nil, err
	}
	return v, nil
}

// money fills the MRR, ARR, plan, renewal, the periods and the MRR chart.
func (a *accountsArea) money(ctx context.Context, q store.Querier, l *Locale, v *accountView, now time.Time) error {
	periods, err := billing.Periods(ctx, q, v.Account.ID)
	if err != nil {
		return err
	}
	conv, err := billing.LoadConverter(ctx, q)
	if err != nil {
		return err
	}
	v.Currency = conv.Reporting
	mrr, err := conv.MRR(periods, now)
	switch {
	case errors.Is(err, billing.ErrNoRate):
	case err != nil:
		return err
	default:
		v.MRR, v.ARR, v.MRRKnown = mrr, 12*mrr, true
	}
	var local localMoney
	largest := -1.0
	for _, p := range periods {
		exp, err := money.Exponent(p.Currency)
		if err != nil {
			exp = 2
		}
		row := periodRow{Period: p, MRR: float64(p.MRRMinor) / math.Pow10(exp), Active: p.ActiveAt(now)}
		v.Periods = append(v.Periods, row)
		if !row.Active {
			continue
		}
		if local.Currency == "" || local.Currency == p.Currency {
			local.Currency, local.MRR = p.Currency, local.MRR+row.MRR
		} else {
			local.Currency = "*" // several currencies: no single local figure
		}
		if c, err := conv.Convert(p.MRRMinor, p.Currency, now); err == nil && c > largest {
			largest, v.Plan = c, p.Plan
		}
		if p.End != nil && !continued(periods, p) && (v.Renewal == nil || p.End.Before(*v.Renewal)) {
			v.Renewal = p.End
		}
	}
	if local.Currency != "" && local.Currency != "*" && local.Currency != conv.Reporting {
		local.ARR = 12 * local.MRR
		v.Local = &local
	}
	slices.Reverse(v.Periods) // newest first
	if len(periods) == 0 {
		return nil // a prospect: no revenue to chart
	}
	// MRR at the end of each of the last 24 months (the current one: now).
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -23, 0)
	var labels []string
	values := make([]float64, 0, 24)
	for m := first; !m.After(now); m = m.AddDate(0, 1, 0) {
		at := m.AddDate(0, 1, 0).Add(-time.Second)
		if at.After(now) {
			at = now
		}
		x, err := conv.MRR(periods, at)
		if err != nil {
			x = math.NaN()
		}
		labels, values = append(labels, l.Month(m)), append(values, x)
	}
	cur := conv.Reporting
	c := chart.Bars(l.T("MRR at the end of each month (%s)", cur), labels,
		[]chart.Series{{Name: l.T("MRR"), Values: values}}, func(x float64) string { return l.Money(x, cur) })
	v.MRRChart = &c
	return nil
}

// continued reports whether a period of the same subscription starts where p ends.
func continued(periods []billing.Period, p billing.Period) bool {
	for _, n := range periods {
		if n.SubscriptionID == p.SubscriptionID && p.End != nil && n.Start.Equal(*p.End) {
			return true
		}
	}
	return false
}

// healthView fills the health explanation, its trend chart and the
// measures pulling the score down.
func (a *accountsArea) healthView(ctx context.Context, q store.Querier, l *Locale, v *accountView, now time.Time) error {
	h, err := health.GetAccount(ctx, q, v.Account.ID, now)
	if errors.Is(err, health.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	v.Health = &h
	v.HealthDay = formatDay(l, h.Day)
	if h.AsOf > h.Day {
		v.HealthAsOf = formatDay(l, h.AsOf)
	}
	if h.Previous != nil {
		v.PreviousDay = formatDay(l, h.Previous.Day)
	} else if len(h.Trend.History) > 1 {
		v.FirstDay = formatDay(l, h.Trend.History[0].Day)
	}
	for _, c := range h.Contributions {
		if lost := c.Share*100 - c.Points; c.Applied && c.Score < 50 && lost > 0 {
			v.Pulling = append(v.Pulling, pull{Measure: c.Measure, Score: c.Score, LostPoints: lost})
		}
	}
	sort.SliceStable(v.Pulling, func(i, j int) bool { return v.Pulling[i].LostPoints > v.Pulling[j].LostPoints })
	hist := h.Trend.History
	if len(hist) > 180 {
		hist = hist[len(hist)-180:]
	}
	if len(hist) > 0 {
		labels := make([]string, len(hist))
		values := make([]float64, len(hist))
		for i, p := range hist {
			labels[i], values[i] = formatDay(l, p.Day), p.Score
		}
		c := chart.Lines(l.T("Health score by day"), labels, []chart.Series{{Name: l.T("Health score"), Values: values}},
			func(x float64) string { return l.Num(x, 1) })
		v.HealthChart = &c
	}
	return nil
}

// formatDay shows a YYYY-MM-DD day in the locale (as given if it is not one).
func formatDay(l *Locale, day string) string {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return l.Date(d)
}

// usageDays is how far back the usage chart looks.
const usageDays = 91

// usageChart draws the last 13 weeks of usage, one stacked bar per week:
// the four most used events and the rest together.
func usageChart(ctx context.Context, q store.Querier, l *Locale, accountID string, now time.Time) (*chart.Chart, error) {
	today := store.Day(now.Unix())
	from := today - usageDays + 1
	counts, err := usage.Daily(ctx, q, accountID, from, today)
	if err != nil {
		return nil, err
	}
	if len(counts) == 0 {
		return nil, nil
	}
	weeks := usageDays / 7
	total := map[string]int64{}
	for _, c := range counts {
		total[c.Event] += c.Count
	}
	events := make([]string, 0, len(total))
	for e := range total {
		events = append(events, e)
	}
	sort.Slice(events, func(i, j int) bool {
		if total[events[i]] != total[events[j]] {
			return total[events[i]] > total[events[j]]
		}
		return events[i] < events[j]
	})
	top := events[:min(4, len(events))]
	series := make([]chart.Series, len(top), len(top)+1)
	for i, e := range top {
		series[i] = chart.Series{Name: e, Values: make([]float64, weeks)}
	}
	var other *chart.Series
	if len(events) > len(top) {
		series = append(series, chart.Series{Name: l.T("Other events"), Values: make([]float64, weeks)})
		other = &series[len(series)-1]
	}
	for _, c := range counts {
		w := int(c.Day-from) / 7
		if i := slices.Index(top, c.Event); i >= 0 {
			series[i].Values[w] += float64(c.Count)
		} else if other != nil {
			other.Values[w] += float64(c.Count)
		}
	}
	labels := make([]string, weeks)
	for w := range labels {
		labels[w] = l.Date(time.Unix((from+int64(w*7))*86400, 0))
	}
	c := chart.Bars(l.T("Events per week, last 13 weeks (week starting)"), labels, series, func(x float64) string { return l.Num(x, 0) })
	return &c, nil
}

// timelineLimit is how many entries the timeline shows.
const timelineLimit = 50

// timeline merges notes, tickets, survey answers and deliveries, newest first.
func timeline(ctx context.Context, q store.Querier, l *Locale, accountID string) ([]timelineEntry, error) {
	var out []timelineEntry
	notes, err := account.Notes(ctx, q, accountID, timelineLimit)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		out = append(out, timelineEntry{At: n.OccurredAt, Kind: l.T(noteKindLabel(n.Kind)), Body: n.Body, Who: n.AuthorEmail})
	}
	tickets, err := support.Tickets(ctx, q, accountID)
	if err != nil {
		return nil, err
	}
	for _, t := range tickets {
		body := strings.TrimSpace(strings.Join([]string{t.Status, t.Priority, t.Category}, " · "))
		out = append(out, timelineEntry{At: t.OpenedAt, Kind: l.T("Inquiry"), Title: t.Subject, Body: strings.Trim(body, " ·")})
	}
	responses, err := survey.Responses(ctx, q, accountID)
	if err != nil {
		return nil, err
	}
	for _, r := range responses {
		out = append(out, timelineEntry{At: r.AnsweredAt, Kind: l.T("Survey answer"),
			Title: fmt.Sprintf("%s %s: %d", r.Survey, strings.ToUpper(r.Kind), r.Score), Body: r.Comment})
	}
	deliveries, err := notify.List(ctx, q, notify.Filter{AccountID: accountID, Limit: timelineLimit})
	if err != nil {
		return nil, err
	}
	for _, d := range deliveries {
		d = d.Masked()
		at := d.CreatedAt
		if d.SentAt != nil {
			at = *d.SentAt
		}
		title := d.Subject
		if title == "" {
			title = d.Target
		}
		kind := l.T("Email sent")
		if d.Kind != notify.KindEmail {
			kind = l.T("Notification")
		}
		out = append(out, timelineEntry{At: at, Kind: kind, Title: title, Body: l.T("Status: %s", l.T(d.Status)), Who: d.PlaybookID})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out[:min(len(out), timelineLimit)], nil
}

func noteKindLabel(k string) string {
	switch k {
	case "call":
		return "Call"
	case "meeting":
		return "Meeting"
	case "email":
		return "Email message"
	}
	return "Note"
}

// formatAttribute shows a custom attribute's value in the locale.
func formatAttribute(l *Locale, v any) string {
	switch x := v.(type) {
	case time.Time:
		if x.Equal(x.Truncate(24 * time.Hour)) {
			return l.Date(x)
		}
		return l.DateTime(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return l.Num(x, 0)
		}
		return l.Num(x, 2)
	case bool:
		if x {
			return l.T("yes")
		}
		return l.T("no")
	case nil:
		return "–"
	}
	return fmt.Sprint(v)
}

// formOptions fills the choices of the page's forms and their defaults.
func (a *accountsArea) formOptions(ctx context.Context, q store.Querier, l *Locale, v *accountView) error {
	users, err := user.List(ctx, q)
	if err != nil {
		return err
	}
	owner := v.Account.OwnerEmail
	found := owner == ""
	for _, u := range users {
		if u.Role != user.RoleCSM && u.Role != user.RoleManager {
			continue // coverage assigns accounts to CSMs and managers only
		}
		label := u.Email
		if u.Name != "" {
			label = u.Name + " <" + u.Email + ">"
		}
		v.Owners = append(v.Owners, option{u.Email, label, u.Email == owner})
		found = found || u.Email == owner
	}
	if !found {
		v.Owners = append(v.Owners, option{owner, owner, true})
	}
	for _, k := range account.NoteKinds {
		v.NoteKinds = append(v.NoteKinds, option{k, l.T(noteKindLabel(k)), false})
	}
	for _, p := range task.Priorities {
		v.Priorities = append(v.Priorities, option{p, l.T(p), false})
	}
	for _, b := range []string{health.Green, health.Yellow, health.Red} {
		v.Bands = append(v.Bands, option{b, l.T(b), false})
	}
	v.Forms = map[string]*formState{
		"note":     newForm("kind", "note"),
		"owner":    newForm("owner", owner),
		"override": newForm("expires", v.Now.AddDate(0, 0, health.DefaultOverrideDays).Format(time.DateOnly)),
		"task":     newForm("assignee", owner, "priority", "normal"),
	}
	return nil
}

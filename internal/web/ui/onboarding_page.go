package ui

import (
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/chart"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/onboarding"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// overdueHorizon is how many days after signup an overdue account stays in
// the onboarding list: past it, onboarding is history, not work.
const overdueHorizon = 180

// onboardingRow is an account onboarding now.
type onboardingRow struct {
	onboarding.OpenAccount
	Name    string
	Overdue bool
}

type onboardingData struct {
	Definition             onboarding.OnboardingDefinition
	Report                 *onboarding.CompletionReport
	CohortChart, TierChart chart.Chart
	CohortTTV, TierTTV     chart.Chart
	Rows                   []onboardingRow
	Overdue                int // rows overdue, whatever the filter
	Filter                 string
	CanEdit                bool
	// Form and Errors hold a refused definition.
	Form    onboarding.OnboardingDefinition
	Errors  fieldErrors
	Problem string // why the page is shown again (422)
}

// onboardingPage serves GET /onboarding (?status=overdue lists only the
// overdue accounts).
func (u *UI) onboardingPage(w http.ResponseWriter, rq *Request) error {
	d, err := u.onboardingData(rq)
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "onboarding", rq.Loc.T("Onboarding"), d)
}

func (u *UI) onboardingData(rq *Request) (*onboardingData, error) {
	ctx := rq.Context()
	now := time.Now()
	rep, err := onboarding.BuildReport(ctx, u.db, now)
	if err != nil {
		return nil, err
	}
	open, err := onboarding.Open(ctx, u.db, now, overdueHorizon)
	if err != nil {
		return nil, err
	}
	d := &onboardingData{Definition: rep.Definition, Form: rep.Definition, Report: rep, Filter: rq.URL.Query().Get("status"),
		CanEdit: user.AtLeast(rq.User.Role, user.RoleManager)}
	for _, o := range open {
		late := o.Status == snapshot.OnboardingOverdue
		if late {
			d.Overdue++
		}
		if d.Filter == "overdue" && !late {
			continue
		}
		a, err := account.Get(ctx, u.db, o.AccountID)
		if err != nil {
			return nil, err
		}
		d.Rows = append(d.Rows, onboardingRow{OpenAccount: o, Name: a.Name, Overdue: late})
	}
	month := func(m string) string { return rq.Loc.Month(m) }
	d.CohortChart, d.CohortTTV = groupCharts(rq.Loc, rq.Loc.T("signup month"), rep.Cohorts, month)
	d.TierChart, d.TierTTV = groupCharts(rq.Loc, rq.Loc.T("tier"), rep.Tiers, func(t string) string { return t })
	return d, nil
}

// groupChart draws one number of each group (a signup month or a tier); a
// group without it (no closed window, no completion) is drawn as 0 and
// shown as – in the table beside.
func groupChart(caption, series string, groups []onboarding.CompletionGroup, label func(string) string,
	value func(onboarding.CompletionGroup) *float64, f chart.Format) chart.Chart {
	labels := make([]string, len(groups))
	values := make([]float64, len(groups))
	for i, g := range groups {
		labels[i] = label(g.Group)
		if v := value(g); v != nil {
			values[i] = *v
		}
	}
	return chart.Bars(caption, labels, []chart.Series{{Name: series, Values: values}}, f)
}

// groupCharts are the completion rate and the median time to value of
// groups.
func groupCharts(loc *Locale, by string, groups []onboarding.CompletionGroup, label func(string) string) (rate, ttv chart.Chart) {
	pct := func(g onboarding.CompletionGroup) *float64 {
		if g.CompletionRate == nil {
			return nil
		}
		v := *g.CompletionRate * 100
		return &v
	}
	days := func(g onboarding.CompletionGroup) *float64 { return g.MedianDaysToValue }
	rate = groupChart(loc.T("Completion rate by %s", by), loc.T("Completion rate"), groups, label, pct,
		func(x float64) string { return loc.Num(x, 1) + "%" })
	ttv = groupChart(loc.T("Median time to value (days) by %s", by), loc.T("Median time to value"), groups, label, days,
		func(x float64) string { return loc.Num(x, 1) })
	return rate, ttv
}

// onboardingSave serves POST /onboarding/definition: a new version of the
// definition, after its rules compile.
func (u *UI) onboardingSave(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	errs := fieldErrors{}
	def := onboarding.OnboardingDefinition{Rule: strings.TrimSpace(rq.PostFormValue("rule")),
		Applies: strings.TrimSpace(rq.PostFormValue("applies")), WindowDays: formIntOr(rq, errs, "window_days", "window_days", 0)}
	if len(errs) == 0 {
		if err := onboarding.Validate(def); err != nil {
			var fe *onboarding.FieldError
			if !errors.As(err, &fe) {
				return err
			}
			if fe.Rule != nil {
				errs[fe.Field], _ = ruleText(rq.Loc, fe.Rule)
			} else {
				errs[fe.Field] = rq.Loc.T("Enter a window from 1 to %d days.", onboarding.MaxWindowDays)
			}
		}
	}
	if len(errs) > 0 {
		d, err := u.onboardingData(rq)
		if err != nil {
			return err
		}
		d.Form, d.Errors, d.Problem = def, errs, rq.Loc.T("Not saved: see the messages in the form below.")
		return u.render(w, rq, http.StatusUnprocessableEntity, "onboarding", rq.Loc.T("Onboarding"), d)
	}
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := onboarding.Get(ctx, tx)
		if err != nil {
			return err
		}
		saved, err := onboarding.Save(ctx, tx, def, actor(rq), time.Now())
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionUpdate, "onboarding_definition", "current", before, saved)
	})
	if err != nil {
		return err
	}
	jobs.ChangedAll(ctx) // every account's result is stale
	redirect(w, rq.Request, "/onboarding", rq.Loc.T("Onboarding definition saved; the next recompute evaluates every account with it."))
	return nil
}

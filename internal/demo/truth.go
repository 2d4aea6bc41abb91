package demo

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Truth is what the generator planted and what it measured on the data it
// wrote, so that analytics can be checked against it. `kizuna demo` writes
// it beside the database as JSON. Rates are fractions; a ratio or lift is
// null where a denominator is 0.
type Truth struct {
	Seed        uint64  `json:"seed"`
	Scale       float64 `json:"scale"`
	Now         string  `json:"now"`          // the anchor day; usage runs to the day before
	FirstSignup string  `json:"first_signup"` // the start of the History months
	Counts      Counts  `json:"counts"`

	Usage      UsageCoverage `json:"usage"`
	Churn      ChurnModel    `json:"churn_model"`
	Onboarding string        `json:"onboarding_definition"`
	Effects    Effects       `json:"effects"`
}

// Counts are the rows of each kind in the generated database.
type Counts struct {
	Accounts     int64 `json:"accounts"`
	Customers    int64 `json:"customers"`       // accounts with a subscription
	Prospects    int64 `json:"trial_prospects"` // accounts with lifecycle = trial
	PayingNow    int64 `json:"paying_now"`      // customers with an open core subscription
	Churned      int64 `json:"churned"`         // customers that churned at least once
	Reactivated  int64 `json:"reactivated"`     // customers that came back after churning
	Users        int64 `json:"users"`
	Contacts     int64 `json:"contacts"`
	Periods      int64 `json:"subscription_periods"`
	Events       int64 `json:"raw_events"`
	RollupRows   int64 `json:"usage_daily_rows"`
	UserDayRows  int64 `json:"usage_daily_users_rows"`
	Tickets      int64 `json:"tickets"`
	Responses    int64 `json:"survey_responses"`
	Feedback     int64 `json:"feedback"`
	Notes        int64 `json:"notes"`
	Handoffs     int64 `json:"handoffs"`
	Costs        int64 `json:"costs"`
	FXRates      int64 `json:"fx_rates"`
	Participants int64 `json:"program_participants"`
}

// UsageCoverage says which usage history exists: older history is left out
// to keep the demo quick to build.
type UsageCoverage struct {
	Events         []string `json:"events"`
	RawEventsFrom  string   `json:"raw_events_from"` // raw events (and their rollups) from this day on
	RollupsFrom    string   `json:"rollups_from"`    // rollups only, from this day to raw_events_from
	OnboardingDays int      `json:"onboarding_days"` // plus rollups of every account's first days
	TrialProspects string   `json:"trial_prospects"` // prospects' usage
	Note           string   `json:"note"`
}

// ChurnModel is how churn was drawn.
type ChurnModel struct {
	Description       string             `json:"description"`
	BaseMonthlyHazard map[string]float64 `json:"base_monthly_hazard"` // by segment
	Multipliers       map[string]float64 `json:"multipliers"`
	Reactivation      string             `json:"reactivation"`
}

// Effects are the planted effects.
type Effects struct {
	ReportsAdoption ChurnEffect   `json:"reports_adoption"`
	Onboarding      ChurnEffect   `json:"onboarding"`
	LowUtilisation  ChurnEffect   `json:"low_utilisation"`
	Seminar         ProgramEffect `json:"reports_seminar"`
	Webinar         ProgramEffect `json:"reports_webinar"`
}

// ChurnEffect is a planted churn multiplier and the churn measured in the
// group it applies to and in the rest of the population.
type ChurnEffect struct {
	Description string `json:"description"`
	// Group says how to tell the group from the data.
	Group      string  `json:"group"`
	Population string  `json:"population"`
	Multiplier float64 `json:"hazard_multiplier"` // planted: the group's hazard over the rest's
	InGroup    Churn   `json:"in_group"`
	Rest       Churn   `json:"rest"`
	// RateRatio is the group's monthly churn rate over the rest's.
	RateRatio *float64 `json:"rate_ratio"`
	// AdjustedRateRatio is the Mantel–Haenszel rate ratio stratified by
	// segment and the other two planted traits: what a model that includes
	// them should recover.
	AdjustedRateRatio *float64 `json:"adjusted_rate_ratio"`
}

// Churn is the churn of a group of accounts.
type Churn struct {
	Accounts       int     `json:"accounts"`
	Churned        int     `json:"churned"`
	ExposureMonths float64 `json:"exposure_months"`
	MonthlyRate    float64 `json:"monthly_churn_rate"` // churned / exposure_months
}

// ProgramEffect is a CS program (hypothesis: attending makes customers adopt
// reports) and its measured result.
type ProgramEffect struct {
	Description string  `json:"description"`
	Program     string  `json:"program"` // the program record (internal/program) with the participants
	Date        string  `json:"date"`
	Feature     string  `json:"feature"`
	NoteKind    string  `json:"note_kind"` // participation is a timeline note of this kind …
	NoteBody    string  `json:"note_body"` // … with this body, dated on the program day
	WindowDays  int     `json:"window_days"`
	Eligible    string  `json:"eligible"`
	PlantedLift float64 `json:"planted_lift"` // added share of participants that adopt

	Participants []string               `json:"participants"`
	Treated      Adoption               `json:"participants_adoption"`
	Control      Adoption               `json:"non_participants_adoption"`
	BySegment    map[string][2]Adoption `json:"by_segment"` // [participants, non-participants]
	// NaiveLift is the difference of the two adoption rates; MatchedLift
	// compares within segments, weighted by participants (segments differ in
	// both attendance and adoption, so the naive lift is biased).
	NaiveLift   *float64 `json:"naive_lift"`
	MatchedLift *float64 `json:"matched_lift"`
}

// Adoption is how many of a group of eligible accounts adopted the feature in the window.
type Adoption struct {
	Accounts int     `json:"accounts"`
	Adopted  int     `json:"adopted"`
	Rate     float64 `json:"rate"`
}

// OnboardingDefinition is the onboarding rule the demo data follows.
const OnboardingDefinition = "setup_completed on a day in [signup day, signup day + 30) and a login in at least 60% " +
	"(3 or 4) of the first four weeks, week w being days [signup day + 7w, signup day + 7w + 7)"

func round(x float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(x*p) / p
}

func ratio(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	v := round(a/b, 4)
	return &v
}

// truth measures the planted effects on the generated data and counts the rows.
func (w *world) truth(ctx context.Context, db *store.DB) (*Truth, error) {
	day := func(d int64) string { return dayTime(d).Format(time.DateOnly) }
	t := &Truth{
		Seed: w.cfg.Seed, Scale: w.cfg.Scale, Now: day(w.now), FirstSignup: day(w.start),
		Usage: UsageCoverage{
			Events:         eventNames[:],
			RawEventsFrom:  day(w.raw),
			RollupsFrom:    day(w.recent),
			OnboardingDays: onboardingDays,
			TrialProspects: "raw events for the whole trial",
			Note: fmt.Sprintf("Each customer's first %d days and the last %d days are covered; other days have no usage rows, "+
				"though the accounts were active. Raw events cover the last %d days.", onboardingDays, recentDays, rawDays),
		},
		Churn: ChurnModel{
			Description: "At each monthly anniversary of a subscription's start, a customer churns with probability " +
				"base hazard of its segment × the multipliers that apply that day (capped at 0.9). The planted traits are " +
				"drawn independently of each other within a segment.",
			BaseMonthlyHazard: map[string]float64{},
			Multipliers: map[string]float64{
				"reports_not_adopted":  nonAdopterMultiplier,
				"onboarding_completed": onboardedMultiplier,
				"low_utilisation":      lowUtilMultiplier,
			},
			Reactivation: "12% of churned customers come back 60–420 days later (5% after a later churn).",
		},
		Onboarding: OnboardingDefinition,
	}
	for _, s := range segments {
		t.Churn.BaseMonthlyHazard[s.name] = s.hazard
	}
	if err := w.count(ctx, db, &t.Counts); err != nil {
		return nil, err
	}
	w.churnEffects(&t.Effects)
	t.Effects.Seminar = w.programEffect(0)
	t.Effects.Webinar = w.programEffect(1)
	t.Counts.Participants = int64(len(t.Effects.Seminar.Participants) + len(t.Effects.Webinar.Participants))
	return t, nil
}

func (w *world) count(ctx context.Context, db *store.DB, c *Counts) error {
	for _, q := range []struct {
		dst *int64
		sql string
	}{
		{&c.Accounts, `SELECT COUNT(*) FROM accounts`},
		{&c.Customers, `SELECT COUNT(DISTINCT account_id) FROM subscription_periods`},
		{&c.Prospects, `SELECT COUNT(*) FROM account_attributes WHERE name = 'lifecycle' AND value = 'trial'`},
		{&c.PayingNow, `SELECT COUNT(DISTINCT account_id) FROM subscription_periods WHERE (end_at IS NULL OR end_at > ` + strconv.FormatInt(w.now*86400, 10) + `) AND product = '` + CoreProduct + `'`},
		{&c.Users, `SELECT COUNT(*) FROM users`},
		{&c.Contacts, `SELECT COUNT(*) FROM contacts`},
		{&c.Periods, `SELECT COUNT(*) FROM subscription_periods`},
		{&c.Events, `SELECT COUNT(*) FROM events`},
		{&c.RollupRows, `SELECT COUNT(*) FROM usage_daily`},
		{&c.UserDayRows, `SELECT COUNT(*) FROM usage_daily_users`},
		{&c.Tickets, `SELECT COUNT(*) FROM tickets`},
		{&c.Responses, `SELECT COUNT(*) FROM survey_responses`},
		{&c.Feedback, `SELECT COUNT(*) FROM feedback`},
		{&c.Notes, `SELECT COUNT(*) FROM notes`},
		{&c.Handoffs, `SELECT COUNT(*) FROM handoffs`},
		{&c.Costs, `SELECT COUNT(*) FROM costs`},
		{&c.FXRates, `SELECT COUNT(*) FROM fx_rates`},
	} {
		if err := db.QueryRowContext(ctx, q.sql).Scan(q.dst); err != nil {
			return fmt.Errorf("generate demo: count: %w", err)
		}
	}
	for _, a := range w.accounts {
		if len(a.churns) > 0 {
			c.Churned++
		}
		if len(a.restarts) > 0 {
			c.Reactivated++
		}
	}
	return nil
}

// traitsOf is what the data shows of a customer's planted traits.
type traitsOf struct {
	seg                          segment
	nonAdopter, onboarded, lowUt bool
	churned                      bool
	months                       float64
}

// Population is the population of the churn effects.
const Population = "customers that signed up at least 35 days before the anchor day; exposure runs from signup " +
	"to the first churn (the first day without a core subscription) or to the anchor day"

func (w *world) observedTraits() []traitsOf {
	var out []traitsOf
	for _, a := range w.accounts {
		if a.prospect || a.signup > w.now-onboardingDays {
			continue
		}
		end, churned := w.now, len(a.churns) > 0
		if churned {
			end = a.churns[0]
		}
		out = append(out, traitsOf{
			seg:        a.seg,
			nonAdopter: !a.obs.reports28,
			onboarded:  a.obs.onboarded(),
			lowUt:      float64(a.obs.activeUsers28())/float64(a.periods[0].seats) < lowUtilThreshold,
			churned:    churned,
			months:     float64(end-a.signup) / daysPerMonth,
		})
	}
	return out
}

func (w *world) churnEffects(e *Effects) {
	units := w.observedTraits()
	e.ReportsAdoption = ChurnEffect{
		Description: "Customers that do not adopt the core feature reports in their first four weeks churn at " +
			"three times the rate of adopters (until they adopt it, which a few do later).",
		Group:      "no reports event on a day in [signup day, signup day + 28)",
		Multiplier: nonAdopterMultiplier,
	}
	e.Onboarding = ChurnEffect{
		Description: "Customers that complete onboarding churn half as often.",
		Group:       "onboarding completed: " + OnboardingDefinition,
		Multiplier:  onboardedMultiplier,
	}
	e.LowUtilisation = ChurnEffect{
		Description: "Customers using fewer than 30% of their seats churn twice as often. An account keeps its share " +
			"of active users for life: active users grow and shrink with its seats.",
		Group: "distinct users active on days [signup day, signup day + 28) divided by the quantity (seats) of the " +
			"core subscription period in force on the signup day is below 0.3",
		Multiplier: lowUtilMultiplier,
	}
	measure(&e.ReportsAdoption, units, func(u traitsOf) (bool, int) { return u.nonAdopter, strata(u.seg, u.onboarded, u.lowUt) })
	measure(&e.Onboarding, units, func(u traitsOf) (bool, int) { return u.onboarded, strata(u.seg, u.nonAdopter, u.lowUt) })
	measure(&e.LowUtilisation, units, func(u traitsOf) (bool, int) { return u.lowUt, strata(u.seg, u.nonAdopter, u.onboarded) })
}

func strata(s segment, x, y bool) int {
	n := int(s) * 4
	if x {
		n += 2
	}
	if y {
		n++
	}
	return n
}

// measure fills e's realised numbers: crude rates of the group and the rest,
// and the Mantel–Haenszel rate ratio over the strata.
func measure(e *ChurnEffect, units []traitsOf, classify func(traitsOf) (in bool, stratum int)) {
	e.Population = Population
	type cell struct{ events, exposure [2]float64 } // [rest, group]
	cells := map[int]*cell{}
	var g [2]Churn
	for _, u := range units {
		in, s := classify(u)
		i := 0
		if in {
			i = 1
		}
		g[i].Accounts++
		g[i].ExposureMonths += u.months
		c := cells[s]
		if c == nil {
			c = &cell{}
			cells[s] = c
		}
		c.exposure[i] += u.months
		if u.churned {
			g[i].Churned++
			c.events[i]++
		}
	}
	for i := range g {
		if g[i].ExposureMonths > 0 {
			g[i].MonthlyRate = round(float64(g[i].Churned)/g[i].ExposureMonths, 5)
		}
		g[i].ExposureMonths = round(g[i].ExposureMonths, 1)
	}
	e.Rest, e.InGroup = g[0], g[1]
	e.RateRatio = ratio(e.InGroup.MonthlyRate, e.Rest.MonthlyRate)
	// Sum in stratum order so that the result does not depend on map order.
	var num, den float64
	for s := range 4 * len(segments) {
		c := cells[s]
		if c == nil {
			continue
		}
		total := c.exposure[0] + c.exposure[1]
		num += c.events[1] * c.exposure[0] / total
		den += c.events[0] * c.exposure[1] / total
	}
	e.AdjustedRateRatio = ratio(num, den)
}

// programEffect measures program p (0 the seminar, 1 the webinar).
func (w *world) programEffect(p int) ProgramEffect {
	pe := ProgramEffect{
		Feature: EventReports, NoteKind: "meeting", WindowDays: programWindow,
		BySegment: map[string][2]Adoption{},
		Program:   w.demoProgram(p).ID,
	}
	d := w.seminarDay
	pe.Eligible = "customers paying on the program day that signed up at least 28 days before it and have no reports " +
		"event before it"
	switch p {
	case 0:
		pe.Description = "Live seminar on building reports for customers that do not use reports: participants adopt " +
			"reports 20 percentage points more often than comparable non-participants."
		pe.NoteBody, pe.PlantedLift = SeminarNote, seminarLift
	case 1:
		d = w.webinarDay
		pe.Description = "Recorded webinar on reports for the same kind of customers (seminar participants were not " +
			"invited): it makes no difference."
		pe.NoteBody, pe.PlantedLift = WebinarNote, webinarLift
		pe.Eligible += ", and did not attend the seminar"
	}
	pe.Date = dayTime(d).Format(time.DateOnly)
	pe.Eligible += fmt.Sprintf("; adoption = a reports event in the %d days from the program day", programWindow)

	var seg [len(segments)][2]Adoption // [treated, control]
	for _, a := range w.accounts {
		if a.prospect || !a.payingAt(d) || a.signup > d-7*onboardingWeeks || a.obs.usedBefore[p] || p == 1 && a.seminar {
			continue
		}
		in := a.seminar
		if p == 1 {
			in = a.webinar
		}
		i := 1
		if in {
			i = 0
			pe.Participants = append(pe.Participants, a.id)
		}
		seg[a.seg][i].Accounts++
		if a.obs.firstAfter[p] != noDay {
			seg[a.seg][i].Adopted++
		}
	}
	rate := func(x *Adoption) {
		if x.Accounts > 0 {
			x.Rate = round(float64(x.Adopted)/float64(x.Accounts), 4)
		}
	}
	var lift, weight float64
	for s, spec := range segments {
		t, c := seg[s][0], seg[s][1]
		pe.Treated.Accounts += t.Accounts
		pe.Treated.Adopted += t.Adopted
		pe.Control.Accounts += c.Accounts
		pe.Control.Adopted += c.Adopted
		rate(&t)
		rate(&c)
		pe.BySegment[spec.name] = [2]Adoption{t, c}
		if t.Accounts > 0 && c.Accounts > 0 {
			lift += float64(t.Accounts) * (t.Rate - c.Rate)
			weight += float64(t.Accounts)
		}
	}
	rate(&pe.Treated)
	rate(&pe.Control)
	if pe.Treated.Accounts > 0 && pe.Control.Accounts > 0 {
		v := round(pe.Treated.Rate-pe.Control.Rate, 4)
		pe.NaiveLift = &v
	}
	pe.MatchedLift = ratio(lift, weight)
	return pe
}

package churn

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Options configure Train.
type Options struct {
	// AsOf is the latest date features are taken at; zero means now minus
	// the horizon, the latest date whose outcome is known.
	AsOf time.Time
	// HorizonDays is how long after a date a churn counts (default 90).
	HorizonDays int
	// Windows is how many as-of dates to stack, each HorizonDays before
	// the next (default 1): more rows from a short history.
	Windows int
	// Folds of the cross-validation (default 5), Lambda the L2 strength
	// (default 1), Seed the fold shuffle's seed (default 1).
	Folds  int
	Lambda float64
	Seed   uint64
	// Exclude drops features by name, or by prefix when the entry ends
	// in "*" ("attr.*").
	Exclude []string
	// KeepRenewal keeps days_to_renewal, which is left out by default: a
	// stored end date with no period after it is usually a churn already
	// decided (or written after the fact), so the model would learn the
	// label rather than the risk.
	KeepRenewal bool
	// Now is the current time (zero means time.Now()); tests pin it.
	Now time.Time
}

func (o *Options) defaults() {
	if o.HorizonDays == 0 {
		o.HorizonDays = 90
	}
	if o.Windows == 0 {
		o.Windows = 1
	}
	if o.Folds == 0 {
		o.Folds = 5
	}
	if o.Lambda == 0 {
		o.Lambda = 1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.AsOf.IsZero() {
		o.AsOf = o.Now.AddDate(0, 0, -o.HorizonDays)
	}
}

// Report is a trained risk model with its quality and drivers.
type Report struct {
	AsOf        string    `json:"as_of"`
	HorizonDays int       `json:"horizon_days"`
	Windows     []string  `json:"windows"`
	Accounts    int       `json:"accounts"`
	Churned     int       `json:"churned"`
	AUC         float64   `json:"auc"`
	FoldAUC     []float64 `json:"fold_auc"`
	TrainAUC    float64   `json:"train_auc"`
	Brier       float64   `json:"brier"`
	Reliability []Bin     `json:"reliability"`
	Drivers     []Driver  `json:"drivers"`
	Intercept   float64   `json:"intercept"`
	Encoding    Encoding  `json:"encoding"`
	Lambda      float64   `json:"lambda"`
	Folds       int       `json:"folds"`
	// Seconds are the wall-clock times of reading the rows (snapshots and
	// outcomes from the database) and of fitting (cross-validation and the
	// final fit with its intervals).
	Seconds TrainSeconds `json:"seconds"`
	Model   *Model       `json:"-"`
}

// TrainSeconds are how long the parts of a training took.
type TrainSeconds struct {
	Rows float64 `json:"rows"`
	Fit  float64 `json:"fit"`
}

// Train builds the training set from account snapshots and fits the model.
// For each window date d (AsOf, AsOf − horizon, …) the rows are the accounts
// paying at d (MRR > 0), their features the snapshot at d, and the label
// whether they pay nothing at d + horizon. Nothing from after d enters a
// row's features, except custom attributes, which Kizuna keeps without
// history (exclude them with "attr.*" when they are filled in later).
func Train(ctx context.Context, q store.Querier, opt Options) (*Report, error) {
	opt.defaults()
	if opt.HorizonDays < 1 || opt.Windows < 1 {
		return nil, OptionError{fmt.Errorf("train churn model: horizon %d days and %d windows must be ≥ 1", opt.HorizonDays, opt.Windows)}
	}
	horizon := time.Duration(opt.HorizonDays) * 24 * time.Hour
	if end := opt.AsOf.Add(horizon); end.After(opt.Now) {
		return nil, OptionError{fmt.Errorf("train churn model: as-of %s + %d days is after now (%s): the outcome is not known yet",
			opt.AsOf.Format(time.DateOnly), opt.HorizonDays, opt.Now.Format(time.DateOnly))}
	}
	started := time.Now()
	rep := &Report{AsOf: opt.AsOf.UTC().Format(time.DateOnly), HorizonDays: opt.HorizonDays, Lambda: opt.Lambda, Folds: opt.Folds}
	cfg, err := loadUsageConfig(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("train churn model: %w", err)
	}
	var examples []Example
	for w := 0; w < opt.Windows; w++ {
		at := opt.AsOf.Add(-time.Duration(w) * horizon)
		rep.Windows = append(rep.Windows, at.UTC().Format(time.DateOnly))
		before, exs, err := rowsAt(ctx, q, cfg, at)
		if err != nil {
			return nil, fmt.Errorf("train churn model: rows at %s: %w", at.Format(time.DateOnly), err)
		}
		after, err := snapshot.All(ctx, q, at.Add(horizon))
		if err != nil {
			return nil, fmt.Errorf("train churn model: snapshots at %s: %w", at.Add(horizon).Format(time.DateOnly), err)
		}
		mrrAfter := make(map[string]float64, len(after))
		for _, s := range after {
			mrrAfter[s.AccountID] = s.MRR
		}
		for i, s := range before {
			exs[i].Churned = mrrAfter[s.AccountID] <= 0
		}
		examples = append(examples, exs...)
	}
	if !opt.KeepRenewal {
		opt.Exclude = append(opt.Exclude, "days_to_renewal")
	}
	exclude(examples, opt.Exclude)
	limitLevels(examples, maxLevels)
	d, enc, err := Encode(examples)
	if err != nil {
		return nil, fmt.Errorf("train churn model: %w", err)
	}
	rep.Encoding = enc
	rep.Accounts = d.Rows()
	for _, y := range d.Y {
		if y {
			rep.Churned++
		}
	}
	if rep.Churned < opt.Folds || rep.Accounts-rep.Churned < opt.Folds {
		return nil, OptionError{fmt.Errorf("train churn model: %d paying accounts of which %d churned within %d days: need at least %d of each class for %d folds",
			rep.Accounts, rep.Churned, opt.HorizonDays, opt.Folds, opt.Folds)}
	}
	fitStart := time.Now()
	rep.Seconds.Rows = fitStart.Sub(started).Seconds()
	e, err := Evaluate(d, opt.Folds, opt.Lambda, opt.Seed)
	rep.Seconds.Fit = time.Since(fitStart).Seconds()
	if err != nil {
		return nil, fmt.Errorf("train churn model: %w", err)
	}
	rep.AUC, rep.FoldAUC, rep.TrainAUC, rep.Brier, rep.Reliability, rep.Drivers = e.AUC, e.FoldAUC, e.TrainAUC, e.Brier, e.Reliability, e.Drivers
	rep.Intercept, rep.Model = e.Model.Intercept, e.Model
	return rep, nil
}

// maxLevels caps a text attribute's levels: beyond it the attribute is
// more likely an identifier than a category, and one-hot would overfit.
const maxLevels = 20

// Features are a snapshot's model inputs: its numbers and booleans, plan
// and onboarding status one-hot, used_30d.EVENT (0/1) for each event,
// low_seat_utilization (0/1: seats known and under 30 % of them active in
// 30 days; risk is not linear in the share, a few idle seats are normal)
// and custom attributes as attr.NAME (text one-hot). Left out: arr (12 ×
// mrr), customer (always true in training), csm_sentiment (the score
// carries it), and the stored health, segments and churn_risk: the model
// must not feed on its own earlier scores, nor on health scores that may be
// built from them. Train and Score add first_28d.onboarded (see
// firstWeeks.onboarded), which the snapshot has no field for.
func Features(s snapshot.Snapshot) Example {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	ex := Example{
		Numeric: map[string]float64{
			"mrr": s.MRR, "tenure_days": float64(s.TenureDays), "signup_days": float64(s.SignupDays),
			"days_to_renewal": float64(s.DaysToRenewal), "active_users_7d": float64(s.ActiveUsers7d),
			"active_users_30d": float64(s.ActiveUsers30d), "seats": s.Seats, "seat_utilization": s.SeatUtilization,
			"logins_per_user_week": s.LoginsPerUserWeek, "adoption_breadth": s.AdoptionBreadth, "events_30d": s.Events30d,
			"usage_trend": s.UsageTrend, "days_since_activity": float64(s.DaysSinceActivity), "setup_done": b(s.SetupDone),
			"days_to_setup": float64(s.DaysToSetup), "open_tickets": float64(s.OpenTickets), "tickets_90d": float64(s.Tickets90d),
			"has_nps": b(s.HasNPS), "last_nps": float64(s.LastNPS), "has_csat": b(s.HasCSAT), "last_csat": float64(s.LastCSAT),
			"payment_failures_90d": float64(s.PaymentFailures90d), "csm_sentiment_score": s.CSMSentimentScore,
			"low_seat_utilization": b(s.Seats > 0 && s.SeatUtilization < lowUtilization),
		},
		Category: map[string]string{"plan": s.Plan, "onboarding_status": s.OnboardingStatus},
	}
	// Whether each event was used at all in the last 30 days: counts are
	// too skewed across account sizes to be linear in the log-odds.
	for e, n := range s.Usage30d {
		ex.Numeric["used_30d."+e] = b(n > 0)
	}
	for k, v := range s.Attributes {
		switch x := v.(type) {
		case float64:
			ex.Numeric["attr."+k] = x
		case bool:
			ex.Numeric["attr."+k] = b(x)
		case string:
			ex.Category["attr."+k] = x
		}
	}
	return ex
}

// lowUtilization is the seat share under which low_seat_utilization is 1.
const lowUtilization = 0.3

// Row is ex's feature vector for m (features m does not know are ignored,
// unknown levels count as the baseline).
func (m *Model) Row(ex Example) []float64 {
	row := make([]float64, len(m.Features))
	for j, f := range m.Features {
		if v, ok := ex.Numeric[f]; ok {
			row[j] = v
			continue
		}
		if k, level, ok := strings.Cut(f, "="); ok {
			v, has := ex.Category[k]
			if !has {
				v = Missing
			}
			if v == level {
				row[j] = 1
			}
		}
	}
	return row
}

func exclude(examples []Example, patterns []string) {
	if len(patterns) == 0 {
		return
	}
	match := func(name string) bool {
		for _, p := range patterns {
			if pre, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(name, pre) || name == p {
				return true
			}
		}
		return false
	}
	for _, ex := range examples {
		for k := range ex.Numeric {
			if match(k) {
				delete(ex.Numeric, k)
			}
		}
		for k := range ex.Category {
			if match(k) {
				delete(ex.Category, k)
			}
		}
	}
}

// limitLevels drops categorical features with more than max levels.
func limitLevels(examples []Example, max int) {
	levels := map[string]map[string]bool{}
	for _, ex := range examples {
		for k, v := range ex.Category {
			if levels[k] == nil {
				levels[k] = map[string]bool{}
			}
			levels[k][v] = true
		}
	}
	for k, ls := range levels {
		if len(ls) > max {
			for _, ex := range examples {
				delete(ex.Category, k)
			}
		}
	}
}

// Risk is one account's churn probability now with its top reasons.
type Risk struct {
	AccountID   string   `json:"account_id"`
	Name        string   `json:"name"`
	Probability float64  `json:"probability"`
	Reasons     []Reason `json:"reasons"`
}

// Score predicts every paying account's churn probability at at, riskiest
// first.
func Score(ctx context.Context, q store.Querier, m *Model, at time.Time, reasons int) ([]Risk, error) {
	cfg, err := loadUsageConfig(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("score churn risk: %w", err)
	}
	snaps, exs, err := rowsAt(ctx, q, cfg, at)
	if err != nil {
		return nil, fmt.Errorf("score churn risk: %w", err)
	}
	risks := []Risk{}
	for i, s := range snaps {
		row := m.Row(exs[i])
		risks = append(risks, Risk{AccountID: s.AccountID, Name: s.Name, Probability: m.Predict(row), Reasons: m.Reasons(row, reasons)})
	}
	sort.SliceStable(risks, func(a, b int) bool { return risks[a].Probability > risks[b].Probability })
	return risks, nil
}

package program

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/survey"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// The correlation view's windows: adoption is use of the feature in the
// AdoptionWindowDays days before the base day, churn is not paying
// ChurnWindowDays days after it, and the base day is ChurnWindowDays
// before now so that the churn window has ended.
const (
	AdoptionWindowDays = 30
	ChurnWindowDays    = 90
)

// FeatureCorrelation is one key feature's adoption against later churn and
// against satisfaction. These are associations, not effects: the step of
// the five-step loop that forms hypotheses starts from them, and a program
// then tests one.
type FeatureCorrelation struct {
	Feature     string `json:"feature"`
	Adopters    int    `json:"adopters"`
	NonAdopters int    `json:"non_adopters"`
	// Churn is adopters' churn share − non-adopters' (negative: adopters churn less).
	Churn      RiskDiff    `json:"churn"`
	ChurnRatio RiskRatioCI `json:"churn_ratio"`
	// NPS and CSAT compare the mean score (each account's mean over its
	// responses in the churn window); nil when a group has fewer than 2
	// accounts that answered.
	NPS     *MeanDiff      `json:"nps,omitempty"`
	CSAT    *MeanDiff      `json:"csat,omitempty"`
	Verdict ProgramVerdict `json:"verdict" doc:"The churn comparison in words."`
}

// CorrelationView is every key feature's correlation, sorted by the size
// of the churn difference, largest first.
type CorrelationView struct {
	AdoptionFrom time.Time            `json:"adoption_from" doc:"Adoption is use in [adoption_from, base_day)."`
	BaseDay      time.Time            `json:"base_day" doc:"Customers paying on this day are compared."`
	ChurnTo      time.Time            `json:"churn_to" doc:"Churned: not paying on this day."`
	Customers    int                  `json:"customers"`
	Methods      []string             `json:"methods"`
	Features     []FeatureCorrelation `json:"features"`
}

// Correlations computes the correlation view as of now.
func Correlations(ctx context.Context, q store.Querier, now time.Time) (CorrelationView, error) {
	today := store.Day(now.Unix())
	base := today - ChurnWindowDays
	day := func(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }
	v := CorrelationView{AdoptionFrom: day(base - AdoptionWindowDays), BaseDay: day(base), ChurnTo: day(today),
		Methods: []string{MethodRiskDiff, MethodRiskRate, MethodMeanDiff}, Features: []FeatureCorrelation{}}
	r, err := snapshot.NewReader(ctx, q, v.BaseDay)
	if err != nil {
		return v, fmt.Errorf("correlations: %w", err)
	}
	before, err := snapshot.All(ctx, q, v.BaseDay)
	if err != nil {
		return v, fmt.Errorf("correlations: %w", err)
	}
	after, err := snapshot.All(ctx, q, v.ChurnTo)
	if err != nil {
		return v, fmt.Errorf("correlations: %w", err)
	}
	paying := map[string]bool{}
	for _, s := range after {
		paying[s.AccountID] = s.Customer
	}
	var customers []string
	for _, s := range before {
		if s.Customer {
			customers = append(customers, s.AccountID)
		}
	}
	v.Customers = len(customers)
	if len(customers) == 0 {
		return v, nil
	}
	scores := map[string]map[string]float64{}
	for _, kind := range []string{"nps", "csat"} {
		byAccount, err := survey.Scores(ctx, q, kind, v.BaseDay, v.ChurnTo, "")
		if err != nil {
			return v, fmt.Errorf("correlations: %w", err)
		}
		scores[kind] = map[string]float64{}
		for id, list := range byAccount {
			sum := 0
			for _, s := range list {
				sum += s
			}
			scores[kind][id] = float64(sum) / float64(len(list))
		}
	}
	for _, f := range r.KeyFeatures() {
		used, err := usage.Totals(ctx, q, f, base-AdoptionWindowDays, base)
		if err != nil {
			return v, fmt.Errorf("correlations: %w", err)
		}
		fc := FeatureCorrelation{Feature: f}
		var churnA, churnN int
		sat := map[string][2][]float64{}
		for _, id := range customers {
			adopter := used[id] > 0
			i := 1
			if adopter {
				fc.Adopters++
				i = 0
				if !paying[id] {
					churnA++
				}
			} else {
				fc.NonAdopters++
				if !paying[id] {
					churnN++
				}
			}
			for kind, m := range scores {
				if s, ok := m[id]; ok {
					g := sat[kind]
					g[i] = append(g[i], s)
					sat[kind] = g
				}
			}
		}
		label := f + " adopters' churn within 90 days"
		if fc.Adopters == 0 || fc.NonAdopters == 0 {
			fc.Verdict = insufficientVerdict(label, fc.Adopters, fc.NonAdopters, 1)
		} else {
			fc.Churn, _ = RiskDifference(churnA, fc.Adopters, churnN, fc.NonAdopters)
			fc.ChurnRatio = RiskRatio(churnA, fc.Adopters, churnN, fc.NonAdopters)
			fc.Verdict = effectVerdict(label, fc.Churn.Effect, fc.Churn.Low, fc.Churn.High, true)
		}
		if d, err := MeanDifference(sat["nps"][0], sat["nps"][1]); err == nil {
			fc.NPS = &d
		}
		if d, err := MeanDifference(sat["csat"][0], sat["csat"][1]); err == nil {
			fc.CSAT = &d
		}
		v.Features = append(v.Features, fc)
	}
	slices.SortStableFunc(v.Features, func(a, b FeatureCorrelation) int {
		return cmp.Or(cmp.Compare(math.Abs(b.Churn.Effect), math.Abs(a.Churn.Effect)), cmp.Compare(a.Feature, b.Feature))
	})
	return v, nil
}

package health

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Back-test parameters: the churn horizon and the spacing of as-of dates.
const (
	HorizonDays = 90
	StepDays    = 30
)

// Backtest is how well a model's score ranked churn over the stored history.
type Backtest struct {
	ModelID string `json:"model_id"`
	// AUC is the chance that a customer who churned within HorizonDays had a
	// lower score than one who did not (ties count half); nil when either
	// group is empty.
	AUC      *float64       `json:"auc"`
	Accounts int            `json:"accounts" doc:"Account × as-of date observations."`
	Churned  int            `json:"churned"`
	Dates    []BacktestDate `json:"dates"`
}

// BacktestDate is one as-of date of a back-test.
type BacktestDate struct {
	Date     string `json:"date"`
	Accounts int    `json:"accounts"`
	Churned  int    `json:"churned"`
}

// AUC is the area under the ROC curve of risk against churned, by the
// Mann–Whitney statistic with tied risks given their average rank; ok is
// false when there is no churned or no retained observation.
func AUC(risk []float64, churned []bool) (auc float64, ok bool) {
	idx := make([]int, len(risk))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(risk[a], risk[b]) })
	var rankSum float64
	var pos, neg int
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && risk[idx[j]] == risk[idx[i]] {
			j++
		}
		avg := float64(i+1+j) / 2 // ranks i+1 … j
		for k := i; k < j; k++ {
			if churned[idx[k]] {
				rankSum += avg
				pos++
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return 0, false
	}
	p := float64(pos)
	return (rankSum - p*(p+1)/2) / (p * float64(neg)), true
}

// RunBacktest back-tests m over the stored history up to now: at as-of dates
// every StepDays days, the last HorizonDays before the newest data, it scores
// the customers (mrr > 0) m applies to and labels as churned those with no
// MRR HorizonDays later.
func RunBacktest(ctx context.Context, q store.Querier, m Model, now time.Time) (Backtest, error) {
	bt := Backtest{ModelID: m.ID, Dates: []BacktestDate{}}
	c, err := compile(&m)
	if err != nil {
		return bt, err
	}
	// The newest data: the latest period start or end, period recorded or
	// usage day, but never after now.
	var first, newest, ended, recorded sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MIN(start_at), MAX(start_at), MAX(end_at), MAX(recorded_at) FROM subscription_periods`).
		Scan(&first, &newest, &ended, &recorded); err != nil {
		return bt, fmt.Errorf("back-test %q: %w", m.ID, err)
	}
	if !first.Valid {
		return bt, nil
	}
	var usage sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(day) FROM usage_daily`).Scan(&usage); err != nil {
		return bt, fmt.Errorf("back-test %q: %w", m.ID, err)
	}
	end := store.Day(max(newest.Int64, ended.Int64, recorded.Int64))
	if usage.Valid {
		end = max(end, usage.Int64+1)
	}
	end = min(end, store.Day(now.Unix()))
	var dates []int64
	for d := end - HorizonDays; d > store.Day(first.Int64); d -= StepDays {
		dates = append(dates, d)
	}
	slices.Reverse(dates)
	// Snapshots at every as-of date and every label date (as-of + horizon).
	need := map[int64]bool{}
	for _, d := range dates {
		need[d], need[d+HorizonDays] = true, true
	}
	var grid []int64
	for d := range need {
		grid = append(grid, d)
	}
	slices.Sort(grid)
	var risk []float64
	var churned []bool
	type obs struct {
		id    string
		score float64
	}
	scored := map[int64][]obs{}
	isDate := map[int64]bool{}
	for _, d := range dates {
		isDate[d] = true
	}
	for _, d := range grid {
		snaps, err := snapshot.All(ctx, q, time.Unix(d*86400, 0).UTC())
		if err != nil {
			return bt, fmt.Errorf("back-test %q: %w", m.ID, err)
		}
		mrr := make(map[string]float64, len(snaps))
		for i := range snaps {
			s := &snaps[i]
			mrr[s.AccountID] = s.MRR
			if !isDate[d] || !(s.MRR > 0) {
				continue
			}
			if c.applies != nil {
				ok, err := c.applies.Match(s)
				if err != nil {
					return bt, fmt.Errorf("back-test %q: applies_to: %w", m.ID, err)
				}
				if !ok {
					continue
				}
			}
			res, err := c.score(s)
			if err != nil {
				return bt, fmt.Errorf("back-test %q: %w", m.ID, err)
			}
			scored[d] = append(scored[d], obs{s.AccountID, res.Score})
		}
		if lab := d - HorizonDays; isDate[lab] {
			bd := BacktestDate{Date: store.DayString(lab)}
			for _, o := range scored[lab] {
				gone := !(mrr[o.id] > 0)
				risk = append(risk, 100-o.score)
				churned = append(churned, gone)
				bd.Accounts++
				if gone {
					bd.Churned++
				}
			}
			delete(scored, lab)
			bt.Dates = append(bt.Dates, bd)
			bt.Accounts += bd.Accounts
			bt.Churned += bd.Churned
		}
	}
	if auc, ok := AUC(risk, churned); ok {
		v := math.Round(auc*10000) / 10000
		bt.AUC = &v
	}
	return bt, nil
}

package health

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Point is one day of an account's score history.
type Point struct {
	Day        string  `json:"day" doc:"YYYY-MM-DD."`
	ModelID    string  `json:"model_id"`
	Score      float64 `json:"score"`
	Band       string  `json:"band"`
	Overridden bool    `json:"overridden"`
}

// Trend is an account's daily history and its recent change.
type Trend struct {
	History []Point `json:"history" doc:"One point a day, oldest first, from the first score through as_of: the score in force that day."`
	// Change7d and Change30d are the latest score less the score of 7 and 30
	// days before it (the latest at or before that day); nil when there is none.
	Change7d  *float64 `json:"change_7d"`
	Change30d *float64 `json:"change_30d"`
}

// AccountHealth is everything about an account's health score.
type AccountHealth struct {
	AccountID     string         `json:"account_id"`
	ModelID       string         `json:"model_id"`
	Score         float64        `json:"score" doc:"The effective score: the override's when one is in force."`
	Band          string         `json:"band"`
	PreviousBand  string         `json:"previous_band" doc:"The band in force the day before as_of (the band of the latest score of an earlier day); empty when none."`
	BandChanged   bool           `json:"band_changed"`
	ComputedScore float64        `json:"computed_score" doc:"What the model said."`
	Day           string         `json:"day" doc:"The day the score and its explanation were computed (the measures' values are that day's). A daily recompute keeps the score of an account whose score, band and measure scores did not change; as_of says through which day."`
	AsOf          string         `json:"as_of" doc:"The latest day the account was scored: the score has been the same from day through as_of."`
	Overridden    bool           `json:"overridden"`
	Override      *Override      `json:"override,omitempty" doc:"The override in force now."`
	Contributions []Contribution `json:"contributions"`
	// Changes are the per-measure movements since the previous score (the
	// one the current score replaced), largest first.
	Changes  []Change `json:"changes"`
	Previous *Point   `json:"previous,omitempty" doc:"The score the changes are measured against."`
	Trend    Trend    `json:"trend"`
}

// GetAccount returns accountID's stored health as of at (for the override in
// force), or ErrNotFound for an unknown account or one without a score yet
// (the message says which).
func GetAccount(ctx context.Context, q store.Querier, accountID string, at time.Time) (AccountHealth, error) {
	h := AccountHealth{AccountID: accountID}
	var day int64
	var overridden int
	var contrib string
	err := q.QueryRowContext(ctx, `SELECT model_id, score, band, previous_band, day, computed_score, overridden, contributions
		FROM health_current WHERE account_id = $1`, accountID).
		Scan(&h.ModelID, &h.Score, &h.Band, &h.PreviousBand, &day, &h.ComputedScore, &overridden, &contrib)
	if errors.Is(err, sql.ErrNoRows) {
		var known int
		err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE account_id = $1`, accountID).Scan(&known)
		switch {
		case err != nil:
			return h, fmt.Errorf("health of %s: %w", accountID, err)
		case known == 0:
			return h, fmt.Errorf("health of %s: no such account: %w", accountID, ErrNotFound)
		}
		return h, fmt.Errorf("health of %s: no score yet (none before the first recompute that includes it): %w", accountID, ErrNotFound)
	}
	if err != nil {
		return h, fmt.Errorf("health of %s: %w", accountID, err)
	}
	through, ok, err := ScoredThrough(ctx, q)
	if err != nil {
		return h, fmt.Errorf("health of %s: %w", accountID, err)
	}
	if !ok || through < day {
		through = day
	}
	h.Day, h.AsOf, h.Overridden = store.DayString(day), store.DayString(through), overridden == 1
	if through > day {
		// The stored previous band is the one before the row's day; the
		// day before as_of had the current band.
		h.PreviousBand = h.Band
	}
	h.BandChanged = h.PreviousBand != "" && h.PreviousBand != h.Band
	if h.Contributions, err = parseContributions(contrib); err != nil {
		return h, fmt.Errorf("health of %s: stored contributions: %w", accountID, err)
	}
	o, ok, err := ActiveOverride(ctx, q, accountID, at)
	if err != nil {
		return h, err
	}
	if ok {
		h.Override = &o
	}
	// The previous score: the one the current score replaced. The history
	// keeps the days on which the score changed, so that is the row before
	// the latest one at or before the current score's day.
	prev, err := q.QueryContext(ctx, `SELECT day, model_id, score, band, overridden, contributions FROM health_scores
		WHERE account_id = $1 AND day <= $2 ORDER BY day DESC LIMIT 2`, accountID, day)
	if err != nil {
		return h, fmt.Errorf("health of %s: previous score: %w", accountID, err)
	}
	type stored struct {
		p       Point
		contrib string
	}
	latest, err := store.Collect(prev, func(sc interface{ Scan(...any) error }) (stored, error) {
		var s stored
		var d int64
		var o int
		err := sc.Scan(&d, &s.p.ModelID, &s.p.Score, &s.p.Band, &o, &s.contrib)
		s.p.Day, s.p.Overridden = store.DayString(d), o == 1
		return s, err
	})
	if err != nil {
		return h, fmt.Errorf("health of %s: previous score: %w", accountID, err)
	}
	if len(latest) == 2 {
		p := latest[1].p
		h.Previous = &p
		before, err := parseContributions(latest[1].contrib)
		if err != nil {
			return h, fmt.Errorf("health of %s: stored contributions of %s: %w", accountID, p.Day, err)
		}
		h.Changes = Changes(before, h.Contributions)
	}
	if h.Changes == nil {
		h.Changes = []Change{}
	}
	h.Trend, err = getTrend(ctx, q, accountID, through)
	return h, err
}

// getTrend returns accountID's daily score history through the day it was
// last scored, and its change over 7 and 30 days. The history holds the days
// on which the score changed; each day between them, and from the last one
// to through, has the score of the latest one before it.
func getTrend(ctx context.Context, q store.Querier, accountID string, through int64) (Trend, error) {
	rows, err := q.QueryContext(ctx, `SELECT day, model_id, score, band, overridden FROM health_scores WHERE account_id = $1 ORDER BY day`, accountID)
	if err != nil {
		return Trend{}, fmt.Errorf("health trend of %s: %w", accountID, err)
	}
	var changed []int64
	pts, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (Point, error) {
		var p Point
		var d int64
		var o int
		err := sc.Scan(&d, &p.ModelID, &p.Score, &p.Band, &o)
		p.Day, p.Overridden = store.DayString(d), o == 1
		changed = append(changed, d)
		return p, err
	})
	if err != nil {
		return Trend{}, fmt.Errorf("health trend of %s: %w", accountID, err)
	}
	days, daily := everyDay(changed, pts, through)
	return trend(days, daily), nil
}

// everyDay expands a history of changes (days ascending) to one point a
// day from its first day through max(through, its last day).
func everyDay(changed []int64, pts []Point, through int64) ([]int64, []Point) {
	if len(pts) == 0 {
		return nil, nil
	}
	last := max(through, changed[len(changed)-1])
	days := make([]int64, 0, last-changed[0]+1)
	out := make([]Point, 0, last-changed[0]+1)
	i := 0
	for d := changed[0]; d <= last; d++ {
		for i+1 < len(changed) && changed[i+1] <= d {
			i++
		}
		p := pts[i]
		p.Day = store.DayString(d)
		days, out = append(days, d), append(out, p)
	}
	return days, out
}

// trend computes the changes over 7 and 30 days of a history in day order.
func trend(days []int64, pts []Point) Trend {
	t := Trend{History: pts}
	if t.History == nil {
		t.History = []Point{}
	}
	if len(pts) == 0 {
		return t
	}
	last := len(pts) - 1
	change := func(n int64) *float64 {
		// The latest score at or before n days before the last one.
		for i := last - 1; i >= 0; i-- {
			if days[i] <= days[last]-n {
				v := round2(pts[last].Score - pts[i].Score)
				return &v
			}
		}
		return nil
	}
	t.Change7d, t.Change30d = change(7), change(30)
	return t
}

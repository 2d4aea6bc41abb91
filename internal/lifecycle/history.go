package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Stay is one period an account spent in a stage.
type Stay struct {
	StageID   string     `json:"stage_id"`
	EnteredAt time.Time  `json:"entered_at"`
	LeftAt    *time.Time `json:"left_at" nullable:"true" doc:"Null while the account is still in the stage."`
	Days      int        `json:"days" doc:"Whole days in the stage: to left_at, or to now (or the at asked) while it lasts."`
}

// Current is an account's current stage.
type Current struct {
	StageID   string    `json:"stage_id"`
	EnteredAt time.Time `json:"entered_at"`
}

// CurrentOf returns the current stage of each of ids that has one, from
// one query per thousand accounts.
func CurrentOf(ctx context.Context, q store.Querier, ids []string) (map[string]Current, error) {
	out := map[string]Current{}
	for first := 0; first < len(ids); first += store.MaxInList {
		chunk := ids[first:min(first+store.MaxInList, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT account_id, stage_id, entered_at FROM account_stages
			WHERE account_id IN (`+store.Placeholders(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("current stages: %w", err)
		}
		for rows.Next() {
			var id string
			var c Current
			var at int64
			if err := rows.Scan(&id, &c.StageID, &at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("current stages: %w", err)
			}
			c.EnteredAt = time.Unix(at, 0).UTC()
			out[id] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("current stages: %w", err)
		}
	}
	return out, nil
}

// Stays returns an account's stays in stages that began on or before at,
// oldest first; a stay still running at at has no LeftAt and its days run
// to at.
func Stays(ctx context.Context, q store.Querier, accountID string, at time.Time) ([]Stay, error) {
	rows, err := q.QueryContext(ctx, `SELECT at, stage_id FROM stage_history WHERE account_id = $1 AND at <= $2 ORDER BY at`,
		accountID, at.Unix())
	if err != nil {
		return nil, fmt.Errorf("stages of %s: %w", accountID, err)
	}
	changes, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (row, error) {
		var r row
		return r, sc.Scan(&r.at, &r.stage)
	})
	if err != nil {
		return nil, fmt.Errorf("stages of %s: %w", accountID, err)
	}
	return stays(changes, at.Unix()), nil
}

// stays turns an account's changes (oldest first, all on or before t)
// into stays.
func stays(changes []row, t int64) []Stay {
	out := []Stay{}
	for i, c := range changes {
		if c.stage == "" {
			continue
		}
		s := Stay{StageID: c.stage, EnteredAt: time.Unix(c.at, 0).UTC()}
		end := t
		if i+1 < len(changes) {
			end = changes[i+1].at
			left := time.Unix(end, 0).UTC()
			s.LeftAt = &left
		}
		s.Days = int((end - c.at) / 86400)
		out = append(out, s)
	}
	return out
}

// StageCount is one stage's accounts as of an instant.
type StageCount struct {
	StageID  string  `json:"stage_id"`
	Name     string  `json:"name" doc:"Empty for a stage since deleted that accounts are still in until the next recompute."`
	Accounts int     `json:"accounts"`
	ARR      float64 `json:"arr" doc:"12 × the accounts' MRR at the instant, in the reporting currency."`
	// MedianDays is the median of the current accounts' whole days in the
	// stage; MedianStayDays that of the stays that ended by the instant.
	MedianDays     *float64 `json:"median_days_in_stage" nullable:"true" doc:"Median whole days the accounts now in the stage have been in it; null when none is."`
	CompletedStays int      `json:"completed_stays" doc:"Stays in the stage that ended by the instant."`
	MedianStayDays *float64 `json:"median_completed_stay_days" nullable:"true" doc:"Median whole days of those stays; null when there are none."`
}

// Summary is the accounts per stage as of an instant.
type Summary struct {
	At       time.Time    `json:"at"`
	Currency string       `json:"currency" doc:"The reporting currency of arr."`
	Stages   []StageCount `json:"stages" doc:"Every defined stage in evaluation order, then stages since deleted that accounts are still in."`
	// NoStage counts the accounts in no stage (no rule matched, or never
	// recomputed).
	NoStage int `json:"no_stage" doc:"Accounts in no stage: no rule matched, or no recompute has classified them yet."`
	// ARRUnknown counts the accounts left out of arr because a
	// subscription's currency has no exchange rate.
	ARRUnknown int `json:"arr_unknown" doc:"Accounts left out of arr: a subscription's currency has no exchange rate."`
}

// Summarize counts the accounts and ARR per stage as of instant at, from
// the history (so a past instant gives the stages as they were then), with
// the median time in stage.
func Summarize(ctx context.Context, q store.Querier, at time.Time) (Summary, error) {
	t := at.Unix()
	out := Summary{At: at.UTC(), Stages: []StageCount{}}
	defs, err := List(ctx, q)
	if err != nil {
		return out, err
	}
	index := map[string]int{}
	for _, d := range defs {
		index[d.ID] = len(out.Stages)
		out.Stages = append(out.Stages, StageCount{StageID: d.ID, Name: d.Name})
	}
	count := func(id string) *StageCount {
		i, ok := index[id]
		if !ok {
			i = len(out.Stages)
			index[id] = i
			out.Stages = append(out.Stages, StageCount{StageID: id})
		}
		return &out.Stages[i]
	}
	rows, err := q.QueryContext(ctx, `SELECT account_id, at, stage_id FROM stage_history WHERE at <= $1 ORDER BY account_id, at`, t)
	if err != nil {
		return out, fmt.Errorf("stage summary: %w", err)
	}
	all, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (row, error) {
		var r row
		return r, sc.Scan(&r.account, &r.at, &r.stage)
	})
	if err != nil {
		return out, fmt.Errorf("stage summary: %w", err)
	}
	current := map[string][]int{} // stage → current accounts' days
	done := map[string][]int{}    // stage → completed stays' days
	var ids []string
	members := map[string]string{} // account → current stage
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].account == all[i].account {
			j++
		}
		for _, s := range stays(all[i:j], t) {
			if s.LeftAt == nil {
				current[s.StageID] = append(current[s.StageID], s.Days)
				members[all[i].account] = s.StageID
				ids = append(ids, all[i].account)
			} else {
				done[s.StageID] = append(done[s.StageID], s.Days)
			}
		}
		i = j
	}
	for id, days := range current {
		c := count(id)
		c.Accounts = len(days)
		c.MedianDays = median(days)
	}
	for id, days := range done {
		c := count(id)
		c.CompletedStays = len(days)
		c.MedianStayDays = median(days)
	}
	var total int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&total); err != nil {
		return out, fmt.Errorf("stage summary: %w", err)
	}
	out.NoStage = max(0, total-len(ids))

	mrr, err := billing.CurrentMRR(ctx, q, ids, at)
	if err != nil {
		return out, fmt.Errorf("stage summary: %w", err)
	}
	conv, err := billing.LoadConverter(ctx, q)
	if err != nil {
		return out, fmt.Errorf("stage summary: %w", err)
	}
	out.Currency = conv.Reporting
	slices.Sort(ids) // a fixed order of addition, so the same data give the same sums
	for _, id := range ids {
		v, err := conv.Total(mrr[id], at)
		if errors.Is(err, billing.ErrNoRate) {
			out.ARRUnknown++
			continue
		}
		if err != nil {
			return out, fmt.Errorf("stage summary: account %s: %w", id, err)
		}
		count(members[id]).ARR += 12 * v
	}
	return out, nil
}

// median of whole days; nil for none.
func median(days []int) *float64 {
	if len(days) == 0 {
		return nil
	}
	s := slices.Clone(days)
	slices.Sort(s)
	m := float64(s[len(s)/2])
	if len(s)%2 == 0 {
		m = float64(s[len(s)/2-1]+s[len(s)/2]) / 2
	}
	return &m
}

// AllCurrent returns the current stage of every account that has one, from
// one read of account_stages.
func AllCurrent(ctx context.Context, q store.Querier) (map[string]Current, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, stage_id, entered_at FROM account_stages`)
	if err != nil {
		return nil, fmt.Errorf("all current stages: %w", err)
	}
	defer rows.Close()
	out := map[string]Current{}
	for rows.Next() {
		var id string
		var c Current
		var at int64
		if err := rows.Scan(&id, &c.StageID, &at); err != nil {
			return nil, fmt.Errorf("all current stages: %w", err)
		}
		c.EnteredAt = time.Unix(at, 0).UTC()
		out[id] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("all current stages: %w", err)
	}
	return out, nil
}

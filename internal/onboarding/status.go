package onboarding

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// AccountOnboarding is one account's onboarding.
type AccountOnboarding struct {
	AccountID string `json:"account_id"`
	Status    string `json:"status" enum:"completed,in_progress,overdue,not_applicable"`
	// Overdue: the window closed without the definition holding.
	Overdue    bool    `json:"overdue"`
	SignupDate *string `json:"signup_date,omitempty" doc:"YYYY-MM-DD; absent without a signup."`
	WindowDays int     `json:"window_days"`
	DueDate    *string `json:"due_date,omitempty" doc:"The window's last day."`
	// DaysElapsed counts the days from the signup day to today (0 on the
	// signup day).
	DaysElapsed    int     `json:"days_elapsed"`
	CompletedDate  *string `json:"completed_date,omitempty" doc:"The first day at whose end the definition held."`
	DaysToComplete *int    `json:"days_to_complete,omitempty" doc:"Time to value: days from signup to completion."`
	// Final: the recompute stored a result that can no longer change
	// (completed, or the window closed); otherwise the status was
	// evaluated now.
	Final     bool            `json:"final"`
	Checklist []ChecklistItem `json:"checklist"`
}

// AccountStatus is the onboarding of one account at instant at. Without a
// final stored result the definition is evaluated now (nothing is written).
func AccountStatus(ctx context.Context, q store.Querier, accountID string, at time.Time) (AccountOnboarding, error) {
	st := AccountOnboarding{AccountID: accountID}
	d, err := Get(ctx, q)
	if err != nil {
		return st, err
	}
	c, err := compile(d)
	if err != nil {
		return st, fmt.Errorf("onboarding definition %d: %w", d.Version, err)
	}
	r, err := snapshot.NewReader(ctx, q, at)
	if err != nil {
		return st, err
	}
	cur, err := r.IDs(ctx, q, []string{accountID})
	if err != nil {
		return st, err
	}
	if len(cur) == 0 {
		return st, fmt.Errorf("account %q: %w", accountID, ErrNotFound)
	}
	if st.Checklist, err = Checklist(ctx, q, accountID); err != nil {
		return st, err
	}
	st.WindowDays = d.WindowDays
	today := store.Day(at.Unix())
	signups, err := signupDays(ctx, q, []string{accountID}, at)
	if err != nil {
		return st, err
	}
	sd, known := signups[accountID]
	if !known {
		st.Status = snapshot.OnboardingNotApplicable
		return st, nil
	}
	stored, err := loadResults(ctx, q, []string{accountID})
	if err != nil {
		return st, err
	}
	res := stored[accountID]
	st.Final = res.final(c, sd)
	if !st.Final {
		e := &evaluator{def: c, reader: r.Only(c.fields()...)}
		got, err := e.evaluate(ctx, q, today, signups, stored, map[string]*snapshot.Snapshot{accountID: &cur[0]})
		if err != nil {
			return st, err
		}
		if len(got) == 1 {
			res = &got[0]
		}
	}
	st.Status = snapshot.OnboardingStatusAt(storedFor(res, c, sd), true, sd, d.WindowDays, today)
	st.Overdue = st.Status == snapshot.OnboardingOverdue
	sdate, due := store.DayString(sd), store.DayString(sd+int64(d.WindowDays)-1)
	st.SignupDate, st.DueDate = &sdate, &due
	st.DaysElapsed = int(today - sd)
	if st.Status == snapshot.OnboardingCompleted && res != nil {
		cd := store.DayString(res.completedDay)
		n := int(res.completedDay - sd)
		st.CompletedDate, st.DaysToComplete = &cd, &n
	}
	return st, nil
}

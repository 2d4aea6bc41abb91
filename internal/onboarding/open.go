package onboarding

import (
	"context"
	"time"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// OpenAccount is an account whose onboarding has not completed: in
// progress, or overdue (its window closed without the definition holding).
type OpenAccount struct {
	AccountID   string
	Status      string // snapshot.OnboardingInProgress or snapshot.OnboardingOverdue
	SignupDate  string // YYYY-MM-DD
	DueDate     string // the window's last day
	DaysElapsed int    // from the signup day to today (0 on the signup day)
}

// Open lists the accounts onboarding at instant at: those in progress and
// those overdue whose signup is at most maxDays days old (0: any), in
// account order, from the stored results as BuildReport reads them.
func Open(ctx context.Context, q store.Querier, at time.Time, maxDays int) ([]OpenAccount, error) {
	d, os, err := outcomes(ctx, q, at)
	if err != nil {
		return nil, err
	}
	today := store.Day(at.Unix())
	var out []OpenAccount
	for _, o := range os {
		if o.status != snapshot.OnboardingInProgress && o.status != snapshot.OnboardingOverdue {
			continue
		}
		elapsed := int(today - o.signupDay)
		if maxDays > 0 && elapsed > maxDays {
			continue
		}
		out = append(out, OpenAccount{AccountID: o.id, Status: o.status, SignupDate: store.DayString(o.signupDay),
			DueDate: store.DayString(o.signupDay + int64(d.WindowDays) - 1), DaysElapsed: elapsed})
	}
	return out, nil
}

package metrics

import (
	"context"
	"time"

	"github.com/kizuna-cs/kizuna/internal/onboarding"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// fillOnboarding sets onboarding_completion_rate on the rows of a monthly
// table without breakdown, from the stored onboarding results as of asOf
// (see [onboarding.CompletionByMonth]); finer or broken-down tables leave it
// null, as the rate is a property of signup months, not of MRR groups.
func fillOnboarding(ctx context.Context, q store.Querier, t *Table, asOf time.Time) error {
	if t.Interval != Month || t.By != "" {
		return nil
	}
	rates, err := onboarding.CompletionByMonth(ctx, q, asOf)
	if err != nil {
		return err
	}
	for i := range t.Rows {
		t.Rows[i].OnboardingCompletionRate = rates[t.Rows[i].Month]
	}
	return nil
}

package program

import (
	"fmt"
	"testing"
	"time"
)

// TestVerdicts words estimates as the results state them, and the format
// and arguments give the same text again for translation.
func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name       string
		v          ProgramVerdict
		code, text string
	}{
		{"adoption up", effectVerdict("reports adoption", 0.18, 0.09, 0.27, true),
			VerdictIncrease, "reports adoption +18 points, 95% CI 9 to 27"},
		{"narrow share", effectVerdict("expansion", 0.041, 0.012, 0.07, true),
			VerdictIncrease, "expansion +4.1 points, 95% CI 1.2 to 7.0"},
		{"churn down", effectVerdict("churn within 90 days", -0.12, -0.2, -0.04, true),
			VerdictDecrease, "churn within 90 days -12 points, 95% CI -20 to -4"},
		{"no effect", effectVerdict("reports adoption", -0.031, -0.157, 0.079, true),
			VerdictNoEffect, "no measurable effect yet on reports adoption (-3 points, 95% CI -16 to 8)"},
		{"zero is not signed", effectVerdict("health score", -0.0004, -1.2, 1.2, false),
			VerdictNoEffect, "no measurable effect yet on health score (0.0, 95% CI -1.2 to 1.2)"},
		{"events", effectVerdict("reports events per account per 30 days", 1.31, 0.4, 2.2, false),
			VerdictIncrease, "reports events per account per 30 days +1.3, 95% CI 0.4 to 2.2"},
		{"too few", insufficientVerdict("health score", 1, 0, 2),
			VerdictInsufficient, "not enough accounts to measure health score (participants 1, control 0; at least 2 each)"},
		{"pending", pendingVerdict("churn within 90 days", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)),
			VerdictPending, "too early to measure churn within 90 days: its window ends on 2026-12-01"},
		{"no change", noChangeVerdict("reports events per account per 30 days"),
			VerdictNoEffect, "no measurable effect yet on reports events per account per 30 days: no account's value changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.v.Code != tc.code || tc.v.Text != tc.text {
				t.Errorf("got %s %q, want %s %q", tc.v.Code, tc.v.Text, tc.code, tc.text)
			}
			if again := fmt.Sprintf(tc.v.Format, tc.v.Args...); again != tc.v.Text {
				t.Errorf("format and args give %q", again)
			}
		})
	}
}

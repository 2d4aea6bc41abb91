package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// demoPlaybooks are the playbooks a demo database starts with: the three
// a CS team sets up first. Each keeps 10 % of its firings as a holdout
// group, so the demo shows how a playbook's effect is measured. Tasks of
// accounts without an owner go to the demo login.
func demoPlaybooks() []playbook.Playbook {
	return []playbook.Playbook{
		{
			ID: "health-red-call", Name: "Health turned red → call", Enabled: true, CooldownDays: 30, HoldoutShare: 0.1,
			Trigger: playbook.Trigger{Type: playbook.TriggerHealthBand, Band: "red"},
			Filter:  "customer",
			Actions: []playbook.Action{{Type: playbook.ActionTask, Priority: "high", DueInDays: 3, FallbackAssignee: LoginEmail,
				Title:       "Call {{.Account.Name}}: health turned red",
				Description: "{{.Reason}}. Health {{printf \"%.0f\" .Account.HealthScore}}, ARR {{printf \"%.0f\" .Account.ARR}}, {{.Account.ActiveUsers30d}} active users in 30 days, usage trend {{percent .Account.UsageTrend}}."}},
		},
		{
			ID: "renewal-90-prep", Name: "Renewal in 90 days → renewal prep", Enabled: true, CooldownDays: 180, HoldoutShare: 0.1,
			Trigger: playbook.Trigger{Type: playbook.TriggerRenewalInDays, Days: 90},
			Filter:  "arr >= 5000",
			Actions: []playbook.Action{{Type: playbook.ActionTask, DueInDays: 30, FallbackAssignee: LoginEmail,
				Title:       "Prepare the renewal of {{.Account.Name}} ({{.Account.DaysToRenewal}} days)",
				Description: "Review usage and outcomes with the customer before the renewal; plan {{.Account.Plan}}, ARR {{printf \"%.0f\" .Account.ARR}}."}},
		},
		{
			ID: "nps-detractor-followup", Name: "NPS detractor → follow-up", Enabled: true, CooldownDays: 60, HoldoutShare: 0.1,
			Trigger: playbook.Trigger{Type: playbook.TriggerNPSDetractor},
			Actions: []playbook.Action{{Type: playbook.ActionTask, Priority: "high", DueInDays: 5, FallbackAssignee: LoginEmail,
				Title:       "Follow up on {{.Account.Name}}'s NPS {{.Account.LastNPS}}",
				Description: "{{.Reason}}: ask what went wrong and agree on a next step."}},
		},
	}
}

// writePlaybooks stores the demo playbooks, created at the demo's anchor time.
func writePlaybooks(ctx context.Context, q store.Querier, now time.Time) error {
	for _, p := range demoPlaybooks() {
		if _, _, err := playbook.Save(ctx, q, p, now); err != nil {
			return fmt.Errorf("demo playbook %s: %w", p.ID, err)
		}
	}
	return nil
}

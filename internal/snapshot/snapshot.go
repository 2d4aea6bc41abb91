// Package snapshot computes the account snapshot: what Kizuna knows about
// each account at a moment, as typed fields that rules (segments, playbook
// triggers, health measures, stage rules) are written against. Usage fields
// come from the daily rollups, never from raw events.
//
// The field names are part of the contract with users, who write rules such
// as `active_users_30d < 3 && days_to_renewal <= 90`: [Fields] documents
// each, and README.md lists them.
package snapshot

import "time"

// Snapshot is one account at one moment. The expr tags are the names rules
// use; the JSON names are the same.
type Snapshot struct {
	AccountID string    `json:"account_id" expr:"account_id"`
	Name      string    `json:"name" expr:"name"`
	Owner     string    `json:"owner" expr:"owner"`
	At        time.Time `json:"at" expr:"-"`

	MRR           float64  `json:"mrr" expr:"mrr"`
	ARR           float64  `json:"arr" expr:"arr"`
	Customer      bool     `json:"customer" expr:"customer"`
	Plan          string   `json:"plan" expr:"plan"`
	Products      []string `json:"products" expr:"products"`
	TenureDays    int      `json:"tenure_days" expr:"tenure_days"`
	SignupDays    int      `json:"signup_days" expr:"signup_days"`
	DaysToRenewal int      `json:"days_to_renewal" expr:"days_to_renewal"`

	ActiveUsers7d     int                `json:"active_users_7d" expr:"active_users_7d"`
	ActiveUsers30d    int                `json:"active_users_30d" expr:"active_users_30d"`
	Seats             float64            `json:"seats" expr:"seats"`
	SeatUtilization   float64            `json:"seat_utilization" expr:"seat_utilization"`
	LoginsPerUserWeek float64            `json:"logins_per_user_week" expr:"logins_per_user_week"`
	AdoptionBreadth   float64            `json:"adoption_breadth" expr:"adoption_breadth"`
	FeaturesUsed30d   []string           `json:"features_used_30d" expr:"features_used_30d"`
	Usage30d          map[string]float64 `json:"usage_30d" expr:"usage_30d"`
	Events30d         float64            `json:"events_30d" expr:"events_30d"`
	UsageTrend        float64            `json:"usage_trend" expr:"usage_trend"`
	DaysSinceActivity int                `json:"days_since_activity" expr:"days_since_activity"`
	SetupDone         bool               `json:"setup_done" expr:"setup_done"`
	DaysToSetup       int                `json:"days_to_setup" expr:"days_to_setup"`
	LoginWeeks        int                `json:"login_weeks" expr:"login_weeks"`
	LoginWeekRate     float64            `json:"login_week_rate" expr:"login_week_rate"`
	OnboardingStatus  string             `json:"onboarding_status" expr:"onboarding_status"`
	// Milestones of the onboarding checklist done by the snapshot's instant
	// (internal/onboarding), in checklist order.
	OnboardingMilestones []string `json:"onboarding_milestones" expr:"onboarding_milestones"`

	OpenTickets        int            `json:"open_tickets" expr:"open_tickets"`
	OpenTicketsBy      map[string]int `json:"open_tickets_by_priority" expr:"open_tickets_by_priority"`
	Tickets90d         int            `json:"tickets_90d" expr:"tickets_90d"`
	HasNPS             bool           `json:"has_nps" expr:"has_nps"`
	LastNPS            int            `json:"last_nps" expr:"last_nps"`
	HasCSAT            bool           `json:"has_csat" expr:"has_csat"`
	LastCSAT           int            `json:"last_csat" expr:"last_csat"`
	PaymentFailures90d int            `json:"payment_failures_90d" expr:"payment_failures_90d"`

	CSMSentiment      string  `json:"csm_sentiment" expr:"csm_sentiment"`
	CSMSentimentScore float64 `json:"csm_sentiment_score" expr:"csm_sentiment_score"`

	// Filled from what the recompute stored: the account's current health
	// and segments (see internal/health and internal/segment).
	HealthScore        float64  `json:"health_score" expr:"health_score"`
	HealthBand         string   `json:"health_band" expr:"health_band"`
	HealthBandPrevious string   `json:"health_band_previous" expr:"health_band_previous"`
	Segments           []string `json:"segments" expr:"segments"`

	// Filled from the stored churn scores (internal/churn): the probability
	// of the latest scoring run at or before the snapshot's instant.
	ChurnRisk float64 `json:"churn_risk" expr:"churn_risk"`
	// The lifecycle stage stored as of the snapshot's instant (see
	// internal/lifecycle); read even in a recompute, whose health stage
	// sees the stage before the run and whose later stages the new one.
	Stage       string `json:"stage" expr:"stage"`
	DaysInStage int    `json:"days_in_stage" expr:"days_in_stage"`

	Attributes map[string]any `json:"attributes" expr:"attr"`
}

// Field documents one snapshot field for people writing rules.
type Field struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Doc  string `json:"doc"`
}

// Fields are the snapshot's fields as rules see them, in the order of the
// documentation.
var Fields = []Field{
	{"account_id", "string", "The account's id."},
	{"name", "string", "The account's name."},
	{"owner", "string", "The owning CSM's email; empty when unassigned."},
	{"mrr", "number", "MRR now, in the reporting currency (major units)."},
	{"arr", "number", "12 × mrr."},
	{"customer", "bool", "mrr > 0."},
	{"plan", "string", "The plan of the account's largest current subscription period."},
	{"products", "list of strings", "The products of its current periods with MRR > 0."},
	{"tenure_days", "integer", "Days since its first subscription period started (0 before)."},
	{"signup_days", "integer", "Days since signup_at (the first period's start when not set)."},
	{"days_to_renewal", "integer", "Days until the soonest current period ends with no period after it; -1 when none does."},
	{"active_users_7d", "integer", "Distinct users active in the last 7 days."},
	{"active_users_30d", "integer", "Distinct users active in the last 30 days."},
	{"seats", "number", "The seats attribute when it is a number, else the sum of quantity over current periods; 0 when unknown."},
	{"seat_utilization", "number", "active_users_30d / seats (0 when seats is 0)."},
	{"logins_per_user_week", "number", "Login events of the last 28 days / 4 / active_users_30d (the login_event setting, default login)."},
	{"adoption_breadth", "number", "Share of the key features (key_features setting, comma-separated; default: every event but login and setup) used in the last 30 days."},
	{"features_used_30d", "list of strings", "Events seen in the last 30 days."},
	{"usage_30d", "map of numbers", "Count of each event in the last 30 days: usage_30d[\"reports\"]."},
	{"events_30d", "number", "All events of the last 30 days."},
	{"usage_trend", "number", "events_30d / events of the 30 days before, less 1 (0 when both are 0, 1 when only the recent ones exist)."},
	{"days_since_activity", "integer", "Days since the last day with any event; -1 when never active."},
	{"setup_done", "bool", "The setup event (setup_event setting, default setup_completed) has been seen."},
	{"days_to_setup", "integer", "Days from signup to the first setup event; -1 when not done."},
	{"login_weeks", "integer", "Weeks of the onboarding window (week w: days [signup + 7w, signup + 7w + 7), whole weeks of the window only) with a login event so far."},
	{"login_week_rate", "number", "login_weeks / the whole weeks of the onboarding window (0 when it is shorter than a week): 0.75 is a login in 3 of 4 weeks."},
	{"onboarding_status", "string", "completed, in_progress, overdue (the window closed without the onboarding definition holding) or not_applicable (no signup yet, or the definition's applies rule is false), from the stored onboarding results."},
	{"onboarding_milestones", "list of strings", "The onboarding checklist's milestones done: \"setup\" in onboarding_milestones."},
	{"open_tickets", "integer", "Inquiries open now."},
	{"open_tickets_by_priority", "map of integers", "Open inquiries by priority: open_tickets_by_priority[\"urgent\"]."},
	{"tickets_90d", "integer", "Inquiries opened in the last 90 days."},
	{"has_nps", "bool", "There is an NPS answer."},
	{"last_nps", "integer", "The latest NPS score (0–10); 0 when has_nps is false."},
	{"has_csat", "bool", "There is a CSAT answer."},
	{"last_csat", "integer", "The latest CSAT score (1–5); 0 when has_csat is false."},
	{"payment_failures_90d", "integer", "Failed invoice payments in the last 90 days."},
	{"csm_sentiment", "string", "The owning CSM's latest recorded sentiment: green, yellow or red; empty when none."},
	{"csm_sentiment_score", "number", "csm_sentiment as a number: green 100, yellow 50, red 0; -1 when none."},
	{"health_score", "number", "The latest stored health score (0–100); -1 before the first recompute."},
	{"health_band", "string", "The latest stored health band (green, yellow or red); empty before the first recompute."},
	{"health_band_previous", "string", "The band of the score before the latest one; empty when there is none."},
	{"segments", "list of strings", "The segments the account was a member of at the latest recompute: \"at_risk\" in segments."},
	{"churn_risk", "number", "The churn probability (0–1) from the latest stored churn scoring at or before the snapshot's instant (`kizuna churn train --store` or the weekly churn_retrain job); -1 when the account had none (not paying then, or no scoring yet)."},
	{"stage", "string", "The lifecycle stage (internal/lifecycle) as stored as of the snapshot's instant: \"onboarding\", \"at_risk\"…; empty when none. In a recompute, health models see the stage before the run; segments and playbooks the one it just set."},
	{"days_in_stage", "integer", "Whole days since the account entered stage; -1 when stage is empty."},
	{"attr", "map", "Custom attributes by name, typed (number, bool, date as time, text): attr[\"segment\"] == \"enterprise\"."},
}

// IDs returns the account ids of snaps, in order.
func IDs(snaps []Snapshot) []string {
	ids := make([]string, len(snaps))
	for i := range snaps {
		ids[i] = snaps[i].AccountID
	}
	return ids
}

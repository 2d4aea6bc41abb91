package lifecycle_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/lifecycle"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// paying is a snapshot of a settled paying customer that no default rule
// but adoption's matches; each case changes what it tests.
func paying() snapshot.Snapshot {
	return snapshot.Snapshot{AccountID: "x", MRR: 1000, ARR: 12000, Customer: true, TenureDays: 400, SignupDays: 400,
		DaysToRenewal: -1, OnboardingStatus: "done", HealthBand: "yellow", SeatUtilization: 0.5, AdoptionBreadth: 0.5,
		Attributes: map[string]any{}}
}

// TestDefaultStages classifies hand-built snapshots with the stages the
// migration seeds: each stage, the priority between them, and the
// boundaries of each rule.
func TestDefaultStages(t *testing.T) {
	db := storetest.SQLite(t)
	defs, err := lifecycle.List(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range defs {
		ids = append(ids, d.ID)
	}
	if want := []string{"prospect", "churned", "onboarding", "at_risk", "renewal", "expansion", "adoption"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("default stages in order %v, want %v", ids, want)
	}
	c := lifecycle.NewClassifier(defs)
	if len(c.Invalid) != 0 {
		t.Fatalf("invalid default rules: %v", c.Invalid)
	}
	for _, tc := range []struct {
		name string
		edit func(s *snapshot.Snapshot)
		want string
	}{
		{"adoption", func(s *snapshot.Snapshot) {}, "adoption"},
		{"trial prospect", func(s *snapshot.Snapshot) {
			*s = snapshot.Snapshot{Attributes: map[string]any{"lifecycle": "trial"}, SignupDays: 10, DaysToRenewal: -1, OnboardingStatus: "in_progress"}
		}, "prospect"},
		{"a trial that bought is a customer", func(s *snapshot.Snapshot) {
			s.Attributes["lifecycle"], s.SignupDays, s.OnboardingStatus = "trial", 20, "in_progress"
		}, "onboarding"},
		{"never bought, no trial: no stage", func(s *snapshot.Snapshot) {
			*s = snapshot.Snapshot{Attributes: map[string]any{}, DaysToRenewal: -1}
		}, ""},
		{"churned: had a subscription", func(s *snapshot.Snapshot) {
			s.MRR, s.ARR, s.Customer, s.TenureDays, s.HealthBand = 0, 0, false, 1, "red"
		}, "churned"},
		{"tenure 0 and no MRR: not churned", func(s *snapshot.Snapshot) {
			s.MRR, s.ARR, s.Customer, s.TenureDays = 0, 0, false, 0
		}, ""},
		{"onboarding in progress, red: onboarding wins", func(s *snapshot.Snapshot) {
			s.SignupDays, s.OnboardingStatus, s.HealthBand = 10, "in_progress", "red"
		}, "onboarding"},
		{"onboarding overdue on day 89", func(s *snapshot.Snapshot) { s.SignupDays, s.OnboardingStatus = 89, "overdue" }, "onboarding"},
		{"onboarding overdue on day 90: out", func(s *snapshot.Snapshot) { s.SignupDays, s.OnboardingStatus = 90, "overdue" }, "adoption"},
		{"onboarding done on day 5: out", func(s *snapshot.Snapshot) { s.SignupDays, s.OnboardingStatus = 5, "done" }, "adoption"},
		{"red health", func(s *snapshot.Snapshot) { s.HealthBand = "red" }, "at_risk"},
		{"red CSM sentiment", func(s *snapshot.Snapshot) { s.CSMSentiment = "red" }, "at_risk"},
		{"red and renewing: at risk first", func(s *snapshot.Snapshot) { s.HealthBand, s.DaysToRenewal = "red", 30 }, "at_risk"},
		{"renewal in 90 days", func(s *snapshot.Snapshot) { s.DaysToRenewal = 90 }, "renewal"},
		{"renewal in 0 days", func(s *snapshot.Snapshot) { s.DaysToRenewal = 0 }, "renewal"},
		{"renewal in 91 days: out", func(s *snapshot.Snapshot) { s.DaysToRenewal = 91 }, "adoption"},
		{"renewing and full: renewal first", func(s *snapshot.Snapshot) { s.DaysToRenewal, s.SeatUtilization = 60, 1 }, "renewal"},
		{"seats 90% used", func(s *snapshot.Snapshot) { s.SeatUtilization = 0.9 }, "expansion"},
		{"seats 89% used: out", func(s *snapshot.Snapshot) { s.SeatUtilization = 0.89 }, "adoption"},
		{"green and broad adoption", func(s *snapshot.Snapshot) { s.HealthBand, s.AdoptionBreadth = "green", 0.8 }, "expansion"},
		{"green, adoption 0.79: out", func(s *snapshot.Snapshot) { s.HealthBand, s.AdoptionBreadth = "green", 0.79 }, "adoption"},
		{"yellow, broad adoption: out", func(s *snapshot.Snapshot) { s.AdoptionBreadth = 1 }, "adoption"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := paying()
			tc.edit(&s)
			if got := c.Classify(&s); got != tc.want {
				t.Errorf("stage %q, want %q", got, tc.want)
			}
		})
	}
	if len(c.Failures) != 0 {
		t.Errorf("run-time failures: %v", c.Failures)
	}
}

// TestPriority: the first matching stage in ascending priority wins, ties
// by id; a rule that fails at run time is skipped, one that no longer
// compiles is set aside.
func TestPriority(t *testing.T) {
	defs := []lifecycle.StageDefinition{
		{ID: "b", Rule: "mrr > 10", Priority: 1},
		{ID: "a", Rule: "mrr > 100", Priority: 2},
		{ID: "c", Rule: `attr["n"] > 1`, Priority: 3},
		{ID: "d", Rule: "mrrr > 1", Priority: 4},
		{ID: "e", Rule: "true", Priority: 5},
	}
	c := lifecycle.NewClassifier(defs)
	for _, tc := range []struct {
		mrr  float64
		attr any
		want string
	}{{500, nil, "b"}, {50, nil, "b"}, {5, 2.0, "c"}, {5, "text", "e"}} {
		s := snapshot.Snapshot{MRR: tc.mrr, Attributes: map[string]any{"n": tc.attr}}
		if got := c.Classify(&s); got != tc.want {
			t.Errorf("mrr %v attr %v: %q, want %q", tc.mrr, tc.attr, got, tc.want)
		}
	}
	if _, ok := c.Invalid["d"]; !ok || len(c.Invalid) != 1 {
		t.Errorf("invalid: %v", c.Invalid)
	}
	if c.Failures["c"] != 1 {
		t.Errorf("failures: %v", c.Failures)
	}
	// List orders equal priorities by id.
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `DELETE FROM lifecycle_stages`); err != nil {
			t.Fatal(err)
		}
		for _, d := range []lifecycle.StageDefinition{{ID: "z", Name: "Z", Rule: "true", Priority: 1}, {ID: "m", Name: "M", Rule: "true", Priority: 1}, {ID: "a", Name: "A", Rule: "true", Priority: 2}} {
			if _, err := lifecycle.Create(ctx, db, d, time.Unix(1, 0)); err != nil {
				t.Fatal(err)
			}
		}
		list, err := lifecycle.List(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if got := []string{list[0].ID, list[1].ID, list[2].ID}; !reflect.DeepEqual(got, []string{"m", "z", "a"}) {
			t.Errorf("order %v", got)
		}
	})
}

func TestValidate(t *testing.T) {
	ok := lifecycle.StageDefinition{ID: "renewal", Name: "Renewal", Rule: "days_to_renewal <= 90", Priority: 5}
	if err := lifecycle.Validate(ok); err != nil {
		t.Fatalf("valid: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(d *lifecycle.StageDefinition)
	}{
		{"id upper case", func(d *lifecycle.StageDefinition) { d.ID = "Renewal" }},
		{"id reserved", func(d *lifecycle.StageDefinition) { d.ID = "summary" }},
		{"empty name", func(d *lifecycle.StageDefinition) { d.Name = " " }},
		{"negative priority", func(d *lifecycle.StageDefinition) { d.Priority = -1 }},
	} {
		d := ok
		tc.edit(&d)
		if err := lifecycle.Validate(d); !errors.Is(err, lifecycle.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
		}
	}
	d := ok
	d.Rule = "customer &&\n  days_to_renewl <= 90"
	var re *rule.Error
	if err := lifecycle.Validate(d); !errors.As(err, &re) || re.Line != 2 || re.Column != 3 {
		t.Errorf("typo on line 2: %v", err)
	} else if want := "unknown name days_to_renewl (did you mean days_to_renewal?)"; re.Message != want {
		t.Errorf("message %q, want %q", re.Message, want)
	}
	// A stage rule may use the stage before the evaluation.
	d.Rule = `stage == "at_risk" && days_in_stage < 14`
	if err := lifecycle.Validate(d); err != nil {
		t.Errorf("a rule on stage: %v", err)
	}
}

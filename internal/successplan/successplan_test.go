package successplan

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func ptr[T any](v T) *T { return &v }

func TestEvaluate(t *testing.T) {
	snap := &snapshot.Snapshot{AccountID: "a", ActiveUsers30d: 12, SeatUtilization: 0.6, OpenTickets: 6, SetupDone: true}
	cases := []struct {
		name    string
		g       PlanGoal
		s       *snapshot.Snapshot
		percent float64
		met     bool
		value   *float64
		err     bool
	}{
		{"rule met", PlanGoal{Tracking: TrackRule, Rule: "setup_done && active_users_30d >= 10"}, snap, 100, true, nil, false},
		{"rule not met", PlanGoal{Tracking: TrackRule, Rule: "active_users_30d >= 20"}, snap, 0, false, nil, false},
		// 0.6 of the way from 0 to 0.8: 75%.
		{"metric rising", PlanGoal{Tracking: TrackMetric, Metric: "seat_utilization", Target: ptr(0.8)}, snap, 75, false, ptr(0.6), false},
		// From 10 open tickets down to 2: at 6, half way.
		{"metric falling", PlanGoal{Tracking: TrackMetric, Metric: "float(open_tickets)", Baseline: ptr(10.0), Target: ptr(2.0)}, snap, 50, false, ptr(6.0), false},
		// Past the target: clamped to 100 and met.
		{"metric beyond target", PlanGoal{Tracking: TrackMetric, Metric: "float(active_users_30d)", Target: ptr(10.0)}, snap, 100, true, ptr(12.0), false},
		// Below the baseline: 0, not negative.
		{"metric below baseline", PlanGoal{Tracking: TrackMetric, Metric: "float(active_users_30d)", Baseline: ptr(20.0), Target: ptr(30.0)}, snap, 0, false, ptr(12.0), false},
		{"manual", PlanGoal{Tracking: TrackManual, ManualPercent: 40}, nil, 40, false, nil, false},
		{"manual done", PlanGoal{Tracking: TrackManual, ManualPercent: 100}, nil, 100, true, nil, false},
		{"achieved by hand", PlanGoal{Tracking: TrackRule, Rule: "active_users_30d >= 20", Status: GoalAchieved}, snap, 100, true, nil, false},
		{"no snapshot", PlanGoal{Tracking: TrackRule, Rule: "setup_done"}, nil, 0, false, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Evaluate(c.g, c.s)
			if p.Percent != c.percent || p.Met != c.met || !reflect.DeepEqual(p.Value, c.value) || (p.Error != "") != c.err {
				t.Errorf("Evaluate = %+v (value %v), want percent %v met %v value %v error %v", p, p.Value, c.percent, c.met, c.value, c.err)
			}
		})
	}
}

func TestCheckGoal(t *testing.T) {
	base := PlanGoal{Title: "Weekly reports", Status: GoalDraft, Source: SourceManual}
	with := func(f func(g *PlanGoal)) PlanGoal { g := base; f(&g); return g }
	cases := []struct {
		name  string
		g     PlanGoal
		field string // "" for valid
	}{
		{"manual", with(func(g *PlanGoal) { g.Tracking = TrackManual; g.ManualPercent = 30 }), ""},
		{"rule", with(func(g *PlanGoal) { g.Tracking = TrackRule; g.Rule = "setup_done" }), ""},
		{"metric", with(func(g *PlanGoal) { g.Tracking = TrackMetric; g.Metric = "seat_utilization"; g.Target = ptr(0.8) }), ""},
		{"no title", with(func(g *PlanGoal) { g.Title = " "; g.Tracking = TrackManual }), "title"},
		{"rule typo", with(func(g *PlanGoal) { g.Tracking = TrackRule; g.Rule = "setup_dne" }), "rule"},
		{"rule not a condition", with(func(g *PlanGoal) { g.Tracking = TrackRule; g.Rule = "mrr" }), "rule"},
		{"metric without target", with(func(g *PlanGoal) { g.Tracking = TrackMetric; g.Metric = "mrr" }), "target"},
		{"target equals baseline", with(func(g *PlanGoal) {
			g.Tracking = TrackMetric
			g.Metric = "mrr"
			g.Target = ptr(5.0)
			g.Baseline = ptr(5.0)
		}), "target"},
		{"manual with rule", with(func(g *PlanGoal) { g.Tracking = TrackManual; g.Rule = "setup_done" }), "tracking"},
		{"percent over 100", with(func(g *PlanGoal) { g.Tracking = TrackManual; g.ManualPercent = 101 }), "manual_percent"},
		{"bad status", with(func(g *PlanGoal) { g.Tracking = TrackManual; g.Status = "done" }), "status"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckGoal(c.g)
			var field string
			var ve *ValidationError
			var re *RuleError
			switch {
			case errors.As(err, &re):
				field = re.Field
				var rerr *rule.Error
				if !errors.As(err, &rerr) || rerr.Line != 1 {
					t.Errorf("rule error %v lacks its position", err)
				}
			case errors.As(err, &ve):
				field = ve.Field
			case err != nil:
				t.Fatalf("CheckGoal = %v, not a field error", err)
			}
			if field != c.field {
				t.Errorf("CheckGoal = %v, want a problem with %q", err, c.field)
			}
		})
	}
}

func TestHandoffCompleteness(t *testing.T) {
	full := account.Handoff{WhyBought: "Churn", Challenges: "Spreadsheets", Proposed: "Growth plan", Promised: "Go-live in 30 days",
		SuccessCriteria: "80% seats active", DecisionMakers: "Aiko (Champion)"}
	cases := []struct {
		name    string
		h       account.Handoff
		percent int
		missing []string
	}{
		{"none", account.Handoff{}, 0, HandoffParts},
		{"full", full, 100, []string{}},
		{"placeholders are blank", func() account.Handoff {
			h := full
			h.Promised, h.DecisionMakers, h.Challenges = " n/a ", "TBD.", "未定"
			return h
		}(), 50, []string{"challenges", "promised", "decision_makers"}},
		// 5 of 6: 83% rounded down.
		{"one missing", func() account.Handoff { h := full; h.SuccessCriteria = ""; return h }(), 83, []string{"success_criteria"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Assess(c.h)
			if got.Percent != c.percent || !reflect.DeepEqual(got.Missing, c.missing) || got.Complete != (c.percent == 100) ||
				got.Total != 6 || got.Filled != 6-len(c.missing) {
				t.Errorf("Assess = %+v, want %d%% missing %v", got, c.percent, c.missing)
			}
		})
	}
}

func TestSplitCriteria(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"80% of seats active every week within 60 days.", []string{"80% of seats active every week within 60 days."}},
		{"- Reports used weekly\n• NPS above 40\r\n\n3. Churn down 10%", []string{"Reports used weekly", "NPS above 40", "Churn down 10%"}},
		{"Go-live in 30 days; Salesforce sync；n/a", []string{"Go-live in 30 days", "Salesforce sync"}},
		{"  ", nil},
	}
	for _, c := range cases {
		if got := SplitCriteria(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitCriteria(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPlanStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now()
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "Acme"}); err != nil {
			t.Fatal(err)
		}
		// MRR 500 now.
		if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s", AccountID: "a", Start: now.AddDate(0, -1, 0),
			MRRMinor: 50000, Currency: "USD"}); err != nil {
			t.Fatal(err)
		}
		if _, err := AddGoal(ctx, db, PlanGoal{AccountID: "a", Title: "x"}, now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("goal without a plan = %v, want ErrNotFound", err)
		}
		p, created, err := EnsurePlan(ctx, db, "a", "kei@example.com", now)
		if err != nil || !created || p.Language != "en" || p.Status != "draft" || p.OwnerEmail != "kei@example.com" {
			t.Fatalf("EnsurePlan = %+v, %v, %v", p, created, err)
		}
		if _, err := PutPlan(ctx, db, SuccessPlan{AccountID: "a", Language: "fr"}, now); err == nil {
			t.Error("language fr accepted")
		}
		if p, err = PutPlan(ctx, db, SuccessPlan{AccountID: "a", Title: "Acme 2025", Language: "ja", Status: "active"}, now); err != nil || p.Language != "ja" {
			t.Fatalf("PutPlan = %+v, %v", p, err)
		}
		g1, err := AddGoal(ctx, db, PlanGoal{AccountID: "a", Title: "Double MRR", Tracking: TrackMetric, Metric: "mrr", Target: ptr(2000.0),
			Status: GoalAgreed}, now)
		if err != nil || g1.Position != 1 || g1.Source != SourceManual {
			t.Fatalf("AddGoal = %+v, %v", g1, err)
		}
		g2, err := AddGoal(ctx, db, PlanGoal{AccountID: "a", Title: "Internal draft", Tracking: TrackRule, Rule: "customer"}, now)
		if err != nil || g2.Position != 2 || g2.Status != GoalDraft {
			t.Fatalf("AddGoal = %+v, %v", g2, err)
		}
		if _, err := AddGoal(ctx, db, PlanGoal{AccountID: "a", Title: "Typo", Tracking: TrackRule, Rule: "custmer"}, now); err == nil {
			t.Error("a rule with a typo was stored")
		}
		due := now.Add(-48 * time.Hour).UTC().Truncate(time.Second)
		m, err := AddMilestone(ctx, db, PlanMilestone{AccountID: "a", GoalID: g1.ID, Title: "Kick-off", OwnerEmail: "kei@example.com", DueAt: &due}, now)
		if err != nil || m.Status != MilestoneOpen || m.CompletedAt != nil {
			t.Fatalf("AddMilestone = %+v, %v", m, err)
		}
		if _, err := AddMilestone(ctx, db, PlanMilestone{AccountID: "a", GoalID: "g_nope", Title: "x"}, now); err == nil {
			t.Error("a milestone of an unknown goal was stored")
		}

		v, err := Load(ctx, db, "a", now)
		if err != nil {
			t.Fatal(err)
		}
		// MRR 500 of a target 2,000 from 0: 25%. The draft goal (met) does not count in the plan's progress.
		if len(v.Goals) != 2 || v.Goals[0].Progress.Percent != 25 || *v.Goals[0].Progress.Value != 500 ||
			!v.Goals[1].Progress.Met || v.Progress == nil || *v.Progress != 25 {
			t.Fatalf("Load = %+v", v)
		}
		if len(v.Milestones) != 1 || !v.Milestones[0].Overdue {
			t.Errorf("milestones = %+v, want one overdue", v.Milestones)
		}
		pub := v.Public()
		if len(pub.Goals) != 1 || pub.Goals[0].ID != g1.ID || pub.Goals[0].Metric != "" || len(pub.Milestones) != 1 {
			t.Errorf("Public = %+v, want only the agreed goal, without its metric, and its milestone", pub)
		}

		// Done records when; open again clears it.
		m.Status = MilestoneDone
		_, after, err := UpdateMilestone(ctx, db, m, now)
		if err != nil || after.CompletedAt == nil || after.Overdue(now) {
			t.Fatalf("done: %+v, %v", after, err)
		}
		after.Status = MilestoneOpen
		if _, after, err = UpdateMilestone(ctx, db, after, now); err != nil || after.CompletedAt != nil {
			t.Fatalf("reopen: %+v, %v", after, err)
		}
		// Deleting a goal keeps its milestones, for the whole plan.
		if err := DeleteGoal(ctx, db, "a", g1.ID); err != nil {
			t.Fatal(err)
		}
		if ms, _ := Milestones(ctx, db, "a"); len(ms) != 1 || ms[0].GoalID != "" {
			t.Errorf("milestones after deleting the goal: %+v", ms)
		}

		// Links.
		sh, token, err := CreateShare(ctx, db, "a", "user:kei@example.com", now)
		if err != nil || !ValidToken(token) || sh.Prefix != token[:11] {
			t.Fatalf("CreateShare = %+v %q %v", sh, token, err)
		}
		var stored string
		if err := db.QueryRowContext(ctx, `SELECT token_hash FROM success_plan_shares`).Scan(&stored); err != nil || stored == token || stored != hashToken(token) {
			t.Errorf("stored %q for token %q: want its hash only", stored, token)
		}
		if got, err := Resolve(ctx, db, token); err != nil || got.ID != sh.ID {
			t.Errorf("Resolve = %+v, %v", got, err)
		}
		for _, bad := range []string{"", "sp_short", token[:len(token)-1] + "a", "SP_" + token[3:]} {
			if bad == token {
				continue
			}
			if _, err := Resolve(ctx, db, bad); !errors.Is(err, ErrNotFound) {
				t.Errorf("Resolve(%q) = %v, want ErrNotFound", bad, err)
			}
		}
		if _, after, err := RevokeShare(ctx, db, "a", sh.ID, "user:kei@example.com", now); err != nil || after.RevokedAt == nil {
			t.Fatalf("RevokeShare = %+v, %v", after, err)
		}
		if _, err := Resolve(ctx, db, token); !errors.Is(err, ErrRevoked) {
			t.Errorf("Resolve of a revoked link = %v, want ErrRevoked", err)
		}
		_, token2, err := CreateShare(ctx, db, "a", "user:kei@example.com", now)
		if err != nil || token2 == token {
			t.Fatalf("second link: %q, %v", token2, err)
		}
		if err := DeletePlan(ctx, db, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := Resolve(ctx, db, token2); !errors.Is(err, ErrNotFound) {
			t.Errorf("Resolve after the plan was deleted = %v, want ErrNotFound", err)
		}
	})
}

func TestGoalsFromHandoffAndMissing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now()
		start := now.AddDate(0, -2, 0)
		// p1 pays 100 and has no handoff; p2 pays 300 with an incomplete one;
		// p3 pays 200 with a complete one; free has none and pays nothing.
		for id, minor := range map[string]int64{"p1": 10000, "p2": 30000, "p3": 20000, "free": 0} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: "N" + id, OwnerEmail: "kei@example.com"}); err != nil {
				t.Fatal(err)
			}
			if minor > 0 {
				if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s" + id, AccountID: id, Start: start, MRRMinor: minor, Currency: "USD"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		p2 := account.Handoff{AccountID: "p2", WhyBought: "Churn", SuccessCriteria: "Reports used by every CSM each week.\nNPS above 40"}
		p3 := account.Handoff{AccountID: "p3", WhyBought: "a", Challenges: "b", Proposed: "c", Promised: "d", SuccessCriteria: "e", DecisionMakers: "f"}
		for _, h := range []account.Handoff{p2, p3} {
			if err := account.SetHandoff(ctx, db, h); err != nil {
				t.Fatal(err)
			}
		}
		list, err := MissingHandoffs(ctx, db, now, false)
		if err != nil || len(list) != 1 || list[0].AccountID != "p1" || list[0].MRR != 100 || list[0].HasHandoff {
			t.Fatalf("MissingHandoffs = %+v, %v", list, err)
		}
		list, err = MissingHandoffs(ctx, db, now, true)
		if err != nil || len(list) != 2 || list[0].AccountID != "p2" || list[0].Completeness.Percent != 33 || list[1].AccountID != "p1" {
			t.Fatalf("MissingHandoffs incomplete = %+v, %v", list, err)
		}

		goals, created, err := GoalsFromHandoff(ctx, db, p2, "kei@example.com", now)
		if err != nil || !created || len(goals) != 2 || goals[0].Title != "Reports used by every CSM each week." ||
			goals[1].Title != "NPS above 40" || goals[0].Status != GoalDraft || goals[0].Source != SourceHandoff || goals[0].Tracking != TrackManual {
			t.Fatalf("GoalsFromHandoff = %+v, %v, %v", goals, created, err)
		}
		// Again: nothing new, and no suggestion left.
		goals, created, err = GoalsFromHandoff(ctx, db, p2, "kei@example.com", now)
		if err != nil || created || len(goals) != 0 {
			t.Fatalf("GoalsFromHandoff again = %+v, %v, %v", goals, created, err)
		}
		all, _ := Goals(ctx, db, "p2")
		if s := Suggestions(p2, all); len(s) != 0 {
			t.Errorf("Suggestions after = %+v", s)
		}
		if s := Suggestions(p2, all[:1]); len(s) != 1 || s[0].Title != "NPS above 40" {
			t.Errorf("Suggestions with one goal = %+v", s)
		}
	})
}

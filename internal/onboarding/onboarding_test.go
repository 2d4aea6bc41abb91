package onboarding_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/onboarding"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// signup is the signup day of the test accounts: 2024-01-01, day S.
var signup = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// dayAt is noon of day S+n.
func dayAt(n int) time.Time { return signup.AddDate(0, 0, n).Add(12 * time.Hour) }

// addAccount creates an account signed up on signupAt with rollups of
// events on days S+n (offsets from signup).
func addAccount(t *testing.T, db *store.DB, id string, signupAt time.Time, events map[string][]int) {
	t.Helper()
	ctx := context.Background()
	if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id, SignupAt: &signupAt}); err != nil {
		t.Fatal(err)
	}
	sd := store.Day(signupAt.Unix())
	var counts []usage.DailyCount
	for ev, days := range events {
		for _, n := range days {
			counts = append(counts, usage.DailyCount{Day: sd + int64(n), Event: ev, Count: 1})
		}
	}
	if len(counts) > 0 {
		if err := usage.AddRollups(ctx, db, id, counts, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func save(t *testing.T, db *store.DB, rule, applies string, window int) {
	t.Helper()
	if _, err := onboarding.Save(context.Background(), db, onboarding.OnboardingDefinition{Rule: rule, Applies: applies, WindowDays: window}, "test", signup); err != nil {
		t.Fatal(err)
	}
}

// run runs the pipeline with the onboarding stage (and extra stages after
// it) at instant at, over every account or the ones given.
func run(t *testing.T, db *store.DB, at time.Time, accounts []string, extra ...recompute.Stage) *onboarding.Stage {
	t.Helper()
	ctx := context.Background()
	st, err := onboarding.NewStage(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recompute.Run(ctx, db, at, recompute.Options{Accounts: accounts, Stages: append([]recompute.Stage{st}, extra...)}); err != nil {
		t.Fatal(err)
	}
	return st
}

func status(t *testing.T, db *store.DB, id string, at time.Time) onboarding.AccountOnboarding {
	t.Helper()
	s, err := onboarding.AccountStatus(context.Background(), db, id, at)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWindowBoundaries: a 30-day window is days S..S+29; setup on day 29
// completes onboarding, on day 30 or 31 it is too late.
func TestWindowBoundaries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		save(t, db, "setup_done", "", 30)
		for id, d := range map[string]int{"d0": 0, "d29": 29, "d30": 30, "d31": 31} {
			addAccount(t, db, id, signup, map[string][]int{"setup_completed": {d}})
		}
		addAccount(t, db, "never", signup, nil)
		addAccount(t, db, "later", signup.AddDate(0, 0, 20), nil) // window open on day S+40

		// Day 29 at noon: the setup of that day is seen; day 30's not yet.
		run(t, db, dayAt(29), nil)
		for id, want := range map[string]string{"d0": "completed", "d29": "completed", "d30": "in_progress", "d31": "in_progress", "never": "in_progress"} {
			if got := status(t, db, id, dayAt(29)); got.Status != want || got.Final != (want == "completed") || got.DaysElapsed != 29 {
				t.Errorf("day 29: %s = %+v, want %s", id, got, want)
			}
		}
		// Day 30: the window closed at the end of day 29.
		run(t, db, dayAt(30), nil)
		snaps, err := snapshot.All(context.Background(), db, dayAt(40))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, s := range snaps {
			got[s.AccountID] = s.OnboardingStatus
		}
		want := map[string]string{"d0": "completed", "d29": "completed", "d30": "overdue", "d31": "overdue", "never": "overdue", "later": "in_progress"}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("snapshot at day 40: %s = %q, want %q", id, got[id], w)
			}
		}
		s29 := status(t, db, "d29", dayAt(40))
		if s29.CompletedDate == nil || *s29.CompletedDate != "2024-01-30" || *s29.DaysToComplete != 29 || *s29.DueDate != "2024-01-30" || s29.Overdue {
			t.Errorf("d29 = %+v", s29)
		}
		if s := status(t, db, "d30", dayAt(40)); !s.Overdue || s.CompletedDate != nil {
			t.Errorf("d30 = %+v", s)
		}
		// As of day 10, d29 had not completed yet.
		if s := status(t, db, "d29", dayAt(10)); s.Status != "in_progress" {
			t.Errorf("d29 as of day 10 = %+v", s)
		}
	})
}

// TestDemoRule: the demo's definition, setup within 30 days and a login in
// 3 of the first 4 weeks; the completion day is the first day both hold.
func TestDemoRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		save(t, db, "setup_done && login_week_rate >= 0.6", "", 30)
		cases := []struct {
			id     string
			setup  []int
			logins []int
			done   int // -1: missed
		}{
			{"weeks013", []int{2}, []int{1, 8, 27}, 27},   // third week's login on day 27
			{"weeks01_28", []int{2}, []int{1, 8, 28}, -1}, // day 28 is outside the four weeks
			{"weeks012_setup29", []int{29}, []int{0, 7, 14}, 29},
			{"all_weeks_setup30", []int{30}, []int{0, 7, 14, 21}, -1},
			{"two_logins_same_week", []int{0}, []int{0, 6, 7}, -1},
		}
		for _, c := range cases {
			addAccount(t, db, c.id, signup, map[string][]int{"setup_completed": c.setup, "login": c.logins})
		}
		// One run long after: every window is evaluated from its last day
		// and the completion day found by bisection.
		run(t, db, dayAt(90), nil)
		for _, c := range cases {
			s := status(t, db, c.id, dayAt(90))
			switch {
			case c.done < 0 && (s.Status != "overdue" || !s.Final):
				t.Errorf("%s = %+v, want overdue", c.id, s)
			case c.done >= 0 && (s.Status != "completed" || s.DaysToComplete == nil || *s.DaysToComplete != c.done):
				t.Errorf("%s = %+v, want completed on day %d", c.id, s, c.done)
			}
		}
		snap, err := snapshot.Get(context.Background(), db, "weeks013", dayAt(90))
		if err != nil || snap.LoginWeeks != 3 || snap.LoginWeekRate != 0.75 {
			t.Errorf("weeks013 snapshot: login_weeks %d, rate %g, %v", snap.LoginWeeks, snap.LoginWeekRate, err)
		}
		// Day by day, the same results.
		db2 := db
		if _, err := db2.ExecContext(context.Background(), `DELETE FROM onboarding_results`); err != nil {
			t.Fatal(err)
		}
		for n := 0; n <= 31; n++ {
			run(t, db2, dayAt(n), nil)
		}
		for _, c := range cases {
			s := status(t, db2, c.id, dayAt(31))
			if c.done >= 0 && (s.DaysToComplete == nil || *s.DaysToComplete != c.done) || c.done < 0 && s.Status != "overdue" {
				t.Errorf("daily runs: %s = %+v, want day %d", c.id, s, c.done)
			}
		}
	})
}

func TestDefinitionValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		d, err := onboarding.Get(ctx, db)
		if err != nil || d.Version != 0 || d.Rule != "setup_done" || d.WindowDays != 30 {
			t.Fatalf("default definition %+v, %v", d, err)
		}
		for _, c := range []struct {
			def          onboarding.OnboardingDefinition
			field, error string
		}{
			{onboarding.OnboardingDefinition{Rule: "setup_done && login_week_rat >= 0.6", WindowDays: 30}, "rule", "line 1, column 15: unknown name login_week_rat (did you mean login_week_rate?)"},
			{onboarding.OnboardingDefinition{Rule: "setup_done", Applies: "mrr +", WindowDays: 30}, "applies", "line 1"},
			{onboarding.OnboardingDefinition{Rule: "mrr", WindowDays: 30}, "rule", "expected bool"},
			{onboarding.OnboardingDefinition{Rule: "setup_done", WindowDays: 0}, "window_days", "0: want 1 to 365 days"},
			{onboarding.OnboardingDefinition{Rule: "setup_done", WindowDays: 366}, "window_days", "366: want 1 to 365 days"},
		} {
			_, err := onboarding.Save(ctx, db, c.def, "test", signup)
			var fe *onboarding.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, onboarding.ErrInvalid) || !contains(err.Error(), c.error) {
				t.Errorf("Save(%+v) = %v, want %s: %s", c.def, err, c.field, c.error)
			}
			var re *rule.Error
			if c.field != "window_days" && !errors.As(fe.Rule, &re) {
				t.Errorf("%+v: no rule position", c.def)
			}
		}
		saved, err := onboarding.Save(ctx, db, onboarding.OnboardingDefinition{Rule: " setup_done ", WindowDays: 14}, "cli:ann", signup)
		if err != nil || saved.Version != 1 || saved.Rule != "setup_done" {
			t.Fatalf("Save = %+v, %v", saved, err)
		}
		if d, _ := onboarding.Get(ctx, db); d.Version != 1 || d.WindowDays != 14 || d.SavedBy != "cli:ann" {
			t.Errorf("Get after save = %+v", d)
		}
	})
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestMilestonesFromEvents: milestones are completed from the rollups by the
// recompute, kept when uncompleted by hand, and an ingested event completes
// one after the recompute of its account (what the ingest hook queues).
func TestMilestonesFromEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i, m := range []onboarding.ChecklistMilestone{
			{ID: "setup", Name: "Initial setup", Event: "setup_completed"},
			{ID: "reports", Name: "First report", Event: "reports"},
			{ID: "kickoff", Name: "Kickoff call"},
			{ID: "dashboards", Name: "First dashboard", Event: "dashboards"},
		} {
			m.Position = i + 1
			if _, err := onboarding.PutMilestone(ctx, db, m, signup); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := onboarding.PutMilestone(ctx, db, onboarding.ChecklistMilestone{ID: "Bad id", Name: "x"}, signup); !errors.Is(err, onboarding.ErrInvalid) {
			t.Errorf("bad milestone id: %v", err)
		}
		addAccount(t, db, "a", signup, map[string][]int{"setup_completed": {3}, "reports": {10, 12}})
		addAccount(t, db, "b", signup, nil)
		st := run(t, db, dayAt(20), nil)
		if st.Completions != 2 {
			t.Errorf("completions = %d, want 2", st.Completions)
		}
		list, err := onboarding.Checklist(ctx, db, "a")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 4 || !list[0].Done || list[0].Source != "event" || !list[0].At.Equal(signup.AddDate(0, 0, 3)) ||
			!list[1].Done || !list[1].At.Equal(signup.AddDate(0, 0, 10)) || list[2].Done || list[3].Done {
			t.Errorf("checklist of a: %+v", list)
		}
		// By hand: kickoff done, reports undone; the recompute keeps both.
		_, after, err := onboarding.SetDone(ctx, db, "a", "kickoff", true, dayAt(15), "user:kei@example.com")
		if err != nil || !after.Done || after.By != "user:kei@example.com" {
			t.Fatalf("SetDone kickoff: %+v, %v", after, err)
		}
		before, _, err := onboarding.SetDone(ctx, db, "a", "reports", false, dayAt(16), "user:kei@example.com")
		if err != nil || !before.Done || before.Source != "event" {
			t.Fatalf("SetDone reports: before %+v, %v", before, err)
		}
		if _, _, err := onboarding.SetDone(ctx, db, "a", "nope", true, dayAt(16), "x"); !errors.Is(err, onboarding.ErrNotFound) {
			t.Errorf("unknown milestone: %v", err)
		}
		run(t, db, dayAt(21), nil)
		sn, err := snapshot.Get(ctx, db, "a", dayAt(21))
		if err != nil || len(sn.OnboardingMilestones) != 2 || sn.OnboardingMilestones[0] != "setup" || sn.OnboardingMilestones[1] != "kickoff" {
			t.Errorf("onboarding_milestones of a = %v, %v", sn.OnboardingMilestones, err)
		}
		// An event arrives through ingestion; the recompute of that account
		// (the recompute_accounts job the ingest hook queues) completes it.
		if _, err := usage.Ingest(ctx, db, []usage.Event{{MessageID: "m1", AccountID: "b", UserID: "u1", Event: "dashboards", Timestamp: dayAt(22)}}); err != nil {
			t.Fatal(err)
		}
		run(t, db, dayAt(22), []string{"b"})
		list, _ = onboarding.Checklist(ctx, db, "b")
		if !list[3].Done || list[3].Source != "event" || !list[3].At.Equal(signup.AddDate(0, 0, 22)) || list[0].Done {
			t.Errorf("checklist of b after the event: %+v", list)
		}
		// A rule may read the milestones.
		save(t, db, `"kickoff" in onboarding_milestones`, "", 30)
		run(t, db, dayAt(40), nil)
		if s := status(t, db, "a", dayAt(40)); s.Status != "completed" || *s.DaysToComplete != 15 {
			t.Errorf("a with the kickoff rule = %+v", s)
		}
	})
}

// TestCompletionRate: the monthly table's onboarding_completion_rate, by
// hand: January has 3 accounts whose windows closed, 2 completed; February
// has one whose window is still open on the as-of day (null); a prospect
// left out by the applies rule does not count.
func TestCompletionRate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		save(t, db, "setup_done", `attr["lifecycle"] != "trial"`, 30)
		addAccount(t, db, "j1", signup, map[string][]int{"setup_completed": {5}})
		addAccount(t, db, "j2", signup.AddDate(0, 0, 10), map[string][]int{"setup_completed": {29}})
		addAccount(t, db, "j3", signup.AddDate(0, 0, 20), map[string][]int{"setup_completed": {30}})
		if err := account.Upsert(ctx, db, account.Account{ID: "trial", Name: "t", SignupAt: &signup, Attributes: map[string]any{"lifecycle": "trial"}}); err != nil {
			t.Fatal(err)
		}
		addAccount(t, db, "f1", time.Date(2024, 2, 20, 0, 0, 0, 0, time.UTC), map[string][]int{"setup_completed": {1}})
		p := billing.Period{SubscriptionID: "s", AccountID: "j1", Start: signup, MRRMinor: 10000, Currency: "USD", Plan: "p", Product: "core"}
		if err := billing.UpsertPeriod(ctx, db, p); err != nil {
			t.Fatal(err)
		}
		asOf := time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC)
		run(t, db, asOf, nil)
		table, err := metrics.Compute(ctx, db, metrics.Options{From: signup, To: asOf, AsOf: &asOf})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]*float64{}
		for _, r := range table.Rows {
			got[r.Month] = r.OnboardingCompletionRate
		}
		if r := got["2024-01"]; r == nil || *r != 2.0/3 {
			t.Errorf("2024-01 onboarding_completion_rate = %v, want 2/3", r)
		}
		if got["2024-02"] != nil || got["2024-03"] != nil {
			t.Errorf("2024-02 = %v, 2024-03 = %v, want null (window open; no signups)", got["2024-02"], got["2024-03"])
		}
		// Once February's window closed: 1/1.
		later := time.Date(2024, 4, 1, 12, 0, 0, 0, time.UTC)
		run(t, db, later, nil)
		table, _ = metrics.Compute(ctx, db, metrics.Options{From: signup, To: later, AsOf: &later})
		if r := table.Rows[1].OnboardingCompletionRate; table.Rows[1].Month != "2024-02" || r == nil || *r != 1 {
			t.Errorf("2024-02 later = %v", r)
		}
		if s := status(t, db, "trial", later); s.Status != "not_applicable" {
			t.Errorf("trial = %+v", s)
		}

		rep, err := onboarding.BuildReport(ctx, db, later)
		if err != nil {
			t.Fatal(err)
		}
		o := rep.Overall
		// Completed j1 (day 5), j2 (day 29), f1 (day 1): median 5.
		if o.Accounts != 4 || o.Completed != 3 || o.Overdue != 1 || o.Closed != 4 || *o.CompletionRate != 0.75 || *o.MedianDaysToValue != 5 {
			t.Errorf("overall %+v", o)
		}
		if len(rep.Cohorts) != 2 || rep.Cohorts[0].Group != "2024-01" || *rep.Cohorts[0].CompletionRate != 2.0/3 ||
			*rep.Cohorts[0].MedianDaysToValue != 17 || rep.Cohorts[1].Group != "2024-02" {
			t.Errorf("cohorts %+v", rep.Cohorts)
		}
		if len(rep.Tiers) != 1 || rep.Tiers[0].Group != "(none)" || rep.Tiers[0].Accounts != 4 || rep.NotEvaluated != 0 {
			t.Errorf("tiers %+v, not evaluated %d", rep.Tiers, rep.NotEvaluated)
		}
	})
}

// TestOverduePlaybook: the "onboarding overdue" trigger fires on the
// status the onboarding stage computes from the definition, in the same
// recompute.
func TestOverduePlaybook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		save(t, db, "setup_done", "", 30)
		addAccount(t, db, "late", signup, map[string][]int{"setup_completed": {31}})
		addAccount(t, db, "ontime", signup, map[string][]int{"setup_completed": {3}})
		p := playbook.Playbook{ID: "ob", Name: "Onboarding overdue", Enabled: true, Trigger: playbook.Trigger{Type: playbook.TriggerOnboardingOverdue},
			Actions: []playbook.Action{{Type: "task", Title: "Call {{.Account.Name}}", DueInDays: 3}}}
		if _, _, err := playbook.Save(ctx, db, p, signup); err != nil {
			t.Fatal(err)
		}
		pb, err := playbook.NewStage(ctx, db, playbook.Options{})
		if err != nil {
			t.Fatal(err)
		}
		run(t, db, dayAt(35), nil, pb)
		rows, err := db.QueryContext(ctx, `SELECT account_id, title FROM tasks WHERE playbook_id = 'ob'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var id, title string
			if err := rows.Scan(&id, &title); err != nil {
				t.Fatal(err)
			}
			got = append(got, id+": "+title)
		}
		if len(got) != 1 || got[0] != "late: Call late" {
			t.Errorf("tasks %v, want one for late", got)
		}
	})
}

// TestOpen: the accounts still onboarding are the one in its window and the
// overdue one, with days since signup; the completed one and an overdue one
// older than maxDays are left out.
func TestOpen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		save(t, db, "setup_done", "", 30)
		addAccount(t, db, "done", signup, map[string][]int{"setup_completed": {3}})
		addAccount(t, db, "late", signup, nil)
		addAccount(t, db, "new", signup.AddDate(0, 0, 35), nil)
		asOf := dayAt(40) // S+40: "late"'s window (S..S+29) closed, "new"'s (S+35..S+64) open
		run(t, db, asOf, nil)
		got, err := onboarding.Open(ctx, db, asOf, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []onboarding.OpenAccount{
			{AccountID: "late", Status: "overdue", SignupDate: "2024-01-01", DueDate: "2024-01-30", DaysElapsed: 40},
			{AccountID: "new", Status: "in_progress", SignupDate: "2024-02-05", DueDate: "2024-03-05", DaysElapsed: 5},
		}
		if len(got) != len(want) {
			t.Fatalf("Open = %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("Open[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
		recent, err := onboarding.Open(ctx, db, asOf, 39)
		if err != nil {
			t.Fatal(err)
		}
		if len(recent) != 1 || recent[0].AccountID != "new" {
			t.Errorf("Open(maxDays 39) = %+v, want only new", recent)
		}
	})
}

// TestBackfill: a first run after every window closed evaluates each
// account once from the start (the backfill) and stores the results, so
// that the batches evaluate none again, whether they are written in one lot
// or two at a time.
func TestBackfill(t *testing.T) {
	for _, flush := range []int{1 << 16, 2} {
		testBackfill(t, flush)
	}
}

func testBackfill(t *testing.T, flush int) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		defer onboarding.SetBackfillFlush(flush)()
		save(t, db, "setup_done", "", 30)
		type want struct {
			status    string
			completed string // the completion date, "" when none
		}
		cases := map[string]struct {
			signup int // days after S
			setup  []int
			want   want
		}{
			"early":    {0, []int{5, 40}, want{"completed", "2024-01-06"}},
			"last-day": {3, []int{29}, want{"completed", "2024-02-02"}},
			"late":     {7, []int{30}, want{"overdue", ""}},
			"never":    {0, nil, want{"overdue", ""}},
			"first":    {7, []int{0}, want{"completed", "2024-01-08"}},
			"pre-1970": {-19763, nil, want{"overdue", ""}}, // signed up on 22 Nov 1969: a negative timestamp
		}
		for id, c := range cases {
			addAccount(t, db, id, signup.AddDate(0, 0, c.signup), map[string][]int{"setup_completed": c.setup})
		}
		st := run(t, db, dayAt(100), nil)
		// The batch finds every result stored and final, so evaluates
		// none again.
		if st.Backfilled != len(cases) || st.Evaluated != 0 {
			t.Errorf("flush %d: %d backfilled and %d evaluated, want %d and 0", flush, st.Backfilled, st.Evaluated, len(cases))
		}
		stored := map[string]string{}
		rows, err := db.QueryContext(context.Background(), `SELECT account_id, status FROM onboarding_results`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, status string
			if err := rows.Scan(&id, &status); err != nil {
				t.Fatal(err)
			}
			stored[id] = status
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		for id, c := range cases {
			if w := map[string]string{"completed": "completed", "overdue": "missed"}[c.want.status]; stored[id] != w {
				t.Errorf("flush %d: %s stored as %q, want %q", flush, id, stored[id], w)
			}
		}
		for id, c := range cases {
			s := status(t, db, id, dayAt(100))
			got := want{status: s.Status}
			if s.CompletedDate != nil {
				got.completed = *s.CompletedDate
			}
			if got != c.want || s.Final != (c.want.status != "in_progress") {
				t.Errorf("flush %d: %s = %+v, want %+v", flush, id, s, c.want)
			}
		}
		// The next run's backfill finds only the account whose result went
		// stale: its signup moved 10 days later, so its setup on S+37
		// falls in the new window.
		if _, err := db.ExecContext(context.Background(), `UPDATE accounts SET signup_at = $1 WHERE account_id = 'late'`,
			signup.AddDate(0, 0, 17).Unix()); err != nil {
			t.Fatal(err)
		}
		st = run(t, db, dayAt(101), nil)
		if st.Backfilled != 1 || st.Evaluated != 0 {
			t.Errorf("flush %d, the next run: %d backfilled and %d evaluated, want 1 and 0", flush, st.Backfilled, st.Evaluated)
		}
		if s := status(t, db, "late", dayAt(101)); s.Status != "completed" || s.CompletedDate == nil || *s.CompletedDate != "2024-02-07" {
			t.Errorf("flush %d: late after its signup moved: %+v, want completed on 2024-02-07", flush, s)
		}
	})
}

package snapshot_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
func ptr[T any](v T) *T                        { return &v }

// TestCompute builds one account by hand, as of noon on 2024-06-30, and
// checks every field against the numbers worked out below.
func TestCompute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := day(2024, 6, 30).Add(12 * time.Hour)
		today := store.Day(at.Unix())
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		exec(`INSERT INTO settings (key, value) VALUES ('key_features', 'reports, dashboards,integrations,alerts')`)
		if err := billing.SetFXRate(ctx, db, "JPY", day(2020, 1, 1), 0.007); err != nil {
			t.Fatal(err)
		}
		for _, a := range []account.Account{
			{ID: "a", Name: "Acme", OwnerEmail: "kei@example.com", SignupAt: ptr(day(2024, 1, 1)),
				Attributes: map[string]any{"segment": "enterprise", "renewal_owner": "sales"}},
			{ID: "b", Name: "Quiet"},
			{ID: "c", Name: "Late", SignupAt: ptr(day(2024, 5, 30))}, // 31 days, no setup: overdue
		} {
			if err := account.Upsert(ctx, db, a); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []billing.Period{
			// Started January 10: tenure 172 days at noon on June 30.
			{SubscriptionID: "core", AccountID: "a", Start: day(2024, 1, 10), End: ptr(day(2024, 3, 1)), MRRMinor: 50000, Currency: "USD", Plan: "growth", Product: "platform", Quantity: ptr(10.0)},
			// Renewed at a new price on March 1; ends August 1 with nothing after: 32 days to renewal.
			{SubscriptionID: "core", AccountID: "a", Start: day(2024, 3, 1), End: ptr(day(2024, 8, 1)), MRRMinor: 60000, Currency: "USD", Plan: "growth", Product: "platform", Quantity: ptr(12.0)},
			{SubscriptionID: "jp", AccountID: "a", Start: day(2024, 2, 1), MRRMinor: 10000, Currency: "JPY", Plan: "addon", Product: "analytics", Quantity: ptr(3.0)},
		} {
			if err := billing.UpsertPeriod(ctx, db, p); err != nil {
				t.Fatal(err)
			}
		}
		// Usage: setup on January 15 (14 days after signup); in the last 30
		// days (June 1–30) reports 10, dashboards 4, login 40 (in the last 28
		// days: 32); in the 30 days before (May 2–31) 30 events.
		counts := []usage.DailyCount{
			{Day: store.Day(day(2024, 1, 15).Unix()), Event: "setup_completed", Count: 1},
			{Day: store.Day(day(2024, 5, 10).Unix()), Event: "reports", Count: 30},
			{Day: store.Day(day(2024, 6, 1).Unix()), Event: "login", Count: 8},
			{Day: store.Day(day(2024, 6, 10).Unix()), Event: "login", Count: 32},
			{Day: store.Day(day(2024, 6, 10).Unix()), Event: "reports", Count: 10},
			{Day: store.Day(day(2024, 6, 27).Unix()), Event: "dashboards", Count: 4},
			{Day: store.Day(day(2024, 7, 5).Unix()), Event: "reports", Count: 99}, // after the snapshot
		}
		users := map[int64][]string{
			store.Day(day(2024, 6, 10).Unix()): {"u1", "u2", "u3"},
			store.Day(day(2024, 6, 27).Unix()): {"u1", "u4"},
			store.Day(day(2024, 5, 10).Unix()): {"u5"},
		}
		if err := usage.AddRollups(ctx, db, "a", counts, users); err != nil {
			t.Fatal(err)
		}
		for _, tk := range []struct {
			id, priority   string
			opened, closed time.Time
		}{
			{"t1", "urgent", day(2024, 6, 20), time.Time{}},
			{"t2", "normal", day(2024, 6, 1), time.Time{}},
			{"t3", "normal", day(2024, 5, 1), day(2024, 5, 3)}, // closed, opened in the last 90 days
			{"t4", "high", day(2024, 1, 1), day(2024, 7, 2)},   // closed after the snapshot: open then
			{"t5", "low", day(2024, 7, 1), time.Time{}},        // opened after it
		} {
			var closed any
			if !tk.closed.IsZero() {
				closed = tk.closed.Unix()
			}
			exec(`INSERT INTO tickets (ticket_id, account_id, opened_at, closed_at, priority, recorded_at, updated_at) VALUES ($1, 'a', $2, $3, $4, 1, 1)`,
				tk.id, tk.opened.Unix(), closed, tk.priority)
		}
		for i, r := range []struct {
			kind  string
			score int
			at    time.Time
		}{{"nps", 9, day(2024, 2, 1)}, {"nps", 5, day(2024, 5, 1)}, {"csat", 4, day(2024, 6, 1)}, {"nps", 10, day(2024, 7, 1)}} {
			exec(`INSERT INTO survey_responses (response_id, account_id, survey, kind, score, answered_at, recorded_at, updated_at)
				VALUES ($1, 'a', 's', $2, $3, $4, 1, 1)`, string(rune('p'+i)), r.kind, r.score, r.at.Unix())
		}
		for i, at := range []time.Time{day(2024, 6, 2), day(2024, 4, 15), day(2024, 1, 2)} {
			exec(`INSERT INTO payment_events (account_id, invoice_id, kind, amount_minor, currency, at, recorded_at) VALUES ('a', $1, 'failed', 100, 'USD', $2, 1)`,
				string(rune('i'+i)), at.Unix())
		}

		for _, sn := range []account.Sentiment{
			{AccountID: "a", SetAt: day(2024, 5, 1), Sentiment: "yellow"},
			{AccountID: "a", SetAt: day(2024, 6, 1), Sentiment: "red", Note: "champion left", SetBy: "kei@example.com"},
			{AccountID: "a", SetAt: day(2024, 7, 1), Sentiment: "green"}, // after the snapshot
		} {
			if err := account.SetSentiment(ctx, db, sn); err != nil {
				t.Fatal(err)
			}
		}
		if err := account.SetSentiment(ctx, db, account.Sentiment{AccountID: "a", Sentiment: "blue"}); !errors.Is(err, account.ErrBadSentiment) {
			t.Errorf("sentiment blue: %v", err)
		}

		got, err := snapshot.Get(ctx, db, "a", at)
		if err != nil {
			t.Fatal(err)
		}
		want := snapshot.Snapshot{
			AccountID: "a", Name: "Acme", Owner: "kei@example.com", At: at,
			MRR: 670, ARR: 8040, Customer: true, Plan: "growth", Products: []string{"platform", "analytics"},
			TenureDays: 172, SignupDays: 181, DaysToRenewal: 32,
			ActiveUsers7d: 2, ActiveUsers30d: 4, Seats: 15, SeatUtilization: 4.0 / 15, LoginsPerUserWeek: 32.0 / 4 / 4,
			AdoptionBreadth: 0.5, FeaturesUsed30d: []string{"dashboards", "login", "reports"},
			Usage30d: map[string]float64{"dashboards": 4, "login": 40, "reports": 10}, Events30d: 54, UsageTrend: 54.0/30 - 1,
			DaysSinceActivity: int(today - store.Day(day(2024, 6, 27).Unix())), SetupDone: true, DaysToSetup: 14, OnboardingStatus: "completed",
			OpenTickets: 3, OpenTicketsBy: map[string]int{"urgent": 1, "normal": 1, "high": 1}, Tickets90d: 3,
			HasNPS: true, LastNPS: 5, HasCSAT: true, LastCSAT: 4, PaymentFailures90d: 2,
			CSMSentiment: "red", CSMSentimentScore: 0, HealthScore: -1, Segments: []string{}, ChurnRisk: -1, DaysInStage: -1, OnboardingMilestones: []string{},
			Attributes: map[string]any{"segment": "enterprise", "renewal_owner": "sales"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("snapshot\n got %+v\nwant %+v", got, want)
		}

		// An account with nothing: zeros, and -1 where "never" must not read as 0.
		quiet, err := snapshot.Get(ctx, db, "b", at)
		if err != nil {
			t.Fatal(err)
		}
		if quiet.Customer || quiet.DaysSinceActivity != -1 || quiet.DaysToRenewal != -1 || quiet.DaysToSetup != -1 || quiet.HasNPS || len(quiet.Usage30d) != 0 ||
			quiet.OnboardingStatus != "not_applicable" || quiet.CSMSentiment != "" || quiet.CSMSentimentScore != -1 {
			t.Errorf("quiet account %+v", quiet)
		}
		all, err := snapshot.All(ctx, db, at)
		if err != nil || len(all) != 3 || !reflect.DeepEqual(all[0], got) || all[1].AccountID != "b" || all[2].OnboardingStatus != "overdue" {
			t.Errorf("All: %v, %d snapshots", err, len(all))
		}
		if _, err := snapshot.Get(ctx, db, "nope", at); !errors.Is(err, snapshot.ErrNotFound) {
			t.Errorf("unknown account: %v", err)
		}
	})
}

// TestUsageEventNames: event names with the list's own separators, or
// letters of several bytes, are counted under their own names.
func TestUsageEventNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := day(2024, 6, 30).Add(12 * time.Hour)
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "Acme"}); err != nil {
			t.Fatal(err)
		}
		d := func(m time.Month, dd int) int64 { return store.Day(day(2024, m, dd).Unix()) }
		counts := []usage.DailyCount{
			{Day: d(6, 1), Event: "a,b", Count: 2},
			{Day: d(6, 2), Event: "a,b", Count: 3},
			{Day: d(6, 20), Event: "x:1+2-", Count: 7},
			{Day: d(6, 20), Event: "レポート作成", Count: 11},
			{Day: d(6, 1), Event: "login", Count: 5}, // day 29 before: not in the last 28
			{Day: d(6, 3), Event: "login", Count: 4},
			{Day: d(5, 20), Event: "レポート作成", Count: 6}, // the 30 days before
		}
		if err := usage.AddRollups(ctx, db, "a", counts, map[int64][]string{d(6, 3): {"u1"}}); err != nil {
			t.Fatal(err)
		}
		s, err := snapshot.Get(ctx, db, "a", at)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]float64{"a,b": 5, "x:1+2-": 7, "レポート作成": 11, "login": 9}
		if !reflect.DeepEqual(s.Usage30d, want) {
			t.Errorf("Usage30d = %v, want %v", s.Usage30d, want)
		}
		if names := []string{"a,b", "login", "x:1+2-", "レポート作成"}; !reflect.DeepEqual(s.FeaturesUsed30d, names) {
			t.Errorf("FeaturesUsed30d = %q, want %q", s.FeaturesUsed30d, names)
		}
		if s.Events30d != 32 || s.UsageTrend != 32.0/6-1 {
			t.Errorf("Events30d, UsageTrend = %v, %v; want 32, %v", s.Events30d, s.UsageTrend, 32.0/6-1)
		}
		// 4 logins in the last 28 days, one active user: 4 / 4 weeks / 1.
		if s.LoginsPerUserWeek != 1 {
			t.Errorf("LoginsPerUserWeek = %v, want 1", s.LoginsPerUserWeek)
		}
		// No rollup row is of the setup event, so no history is searched
		// for it; the last activity is still read.
		if s.SetupDone || s.DaysToSetup != -1 || s.DaysSinceActivity != 10 {
			t.Errorf("SetupDone, DaysToSetup, DaysSinceActivity = %v, %v, %v; want false, -1, 10", s.SetupDone, s.DaysToSetup, s.DaysSinceActivity)
		}
	})
}

// TestDaysSinceActivity: the last activity comes from the usage read for an
// account active in the 60 days and from a seek of its own for one that
// is not; the same by id (Get), by key range (Between) and for all.
func TestDaysSinceActivity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := day(2024, 6, 30).Add(12 * time.Hour)
		today := store.Day(at.Unix())
		cases := []struct {
			id   string
			ago  []int64 // days before today with usage
			want int
		}{
			{"a-today", []int64{0, 40}, 0},
			{"b-recent", []int64{3, 70}, 3},
			{"c-edge", []int64{59}, 59},          // the 60 days' first
			{"d-just-out", []int64{60, 200}, 60}, // the day before them
			{"e-old", []int64{75}, 75},
			{"f-none", nil, -1},
			{"g-future", []int64{-2}, -1}, // after the snapshot's day
		}
		for _, c := range cases {
			if err := account.Upsert(ctx, db, account.Account{ID: c.id, Name: c.id}); err != nil {
				t.Fatal(err)
			}
			var counts []usage.DailyCount
			for _, ago := range c.ago {
				counts = append(counts, usage.DailyCount{Day: today - ago, Event: "login", Count: 1})
			}
			if err := usage.AddRollups(ctx, db, c.id, counts, nil); err != nil {
				t.Fatal(err)
			}
		}
		r, err := snapshot.NewReader(ctx, db, at)
		if err != nil {
			t.Fatal(err)
		}
		between, err := r.Between(ctx, db, "a", "z")
		if err != nil {
			t.Fatal(err)
		}
		all, err := snapshot.All(ctx, db, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(between) != len(cases) || len(all) != len(cases) {
			t.Fatalf("%d snapshots between, %d in all; want %d", len(between), len(all), len(cases))
		}
		for i, c := range cases {
			one, err := snapshot.Get(ctx, db, c.id, at)
			if err != nil {
				t.Fatal(err)
			}
			for how, s := range map[string]snapshot.Snapshot{"Get": one, "Between": between[i], "All": all[i]} {
				if s.AccountID != c.id || s.DaysSinceActivity != c.want {
					t.Errorf("%s: %s: days since activity %d, want %d", how, s.AccountID, s.DaysSinceActivity, c.want)
				}
			}
		}
	})
}

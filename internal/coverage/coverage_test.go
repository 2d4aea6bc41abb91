package coverage_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/coverage"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
func ptr[T any](v T) *T                        { return &v }

// at is the moment of every test: mid-June 2026, so the churn window is
// June 2025 – May 2026.
var at = day(2026, 6, 15)

// setup builds the book the tests work out by hand (USD; MRR → ARR):
//
//	a1 ann  10,000 → 120,000   a2 bob  5,000 → 60,000   a3 —  1,000 → 12,000
//	a4 —       500 →   6,000   a5 —    2,000 → 24,000   a7 ann 500,000 JPY × 0.007 = 3,500 → 42,000
//	a6 ghost@example.com (no user), no periods; x1 churned in September 2025.
//
// Total customer ARR 264,000. Users: ann, bob (csm), cat (manager), vic (viewer).
func setup(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	for _, u := range []struct{ email, role string }{
		{"ann@example.com", user.RoleCSM}, {"bob@example.com", user.RoleCSM},
		{"cat@example.com", user.RoleManager}, {"vic@example.com", user.RoleViewer},
	} {
		if _, err := user.Create(ctx, db, u.email, u.email[:3], u.role, "password-1234"); err != nil {
			t.Fatal(err)
		}
	}
	if err := billing.SetFXRate(ctx, db, "JPY", day(2020, 1, 1), 0.007); err != nil {
		t.Fatal(err)
	}
	start := day(2025, 1, 1)
	for _, a := range []struct {
		id, owner string
		minor     int64
		cur       string
		end       *time.Time
	}{
		{"a1", "ann@example.com", 1000000, "USD", nil},
		{"a2", "bob@example.com", 500000, "USD", nil},
		{"a3", "", 100000, "USD", nil},
		{"a4", "", 50000, "USD", nil},
		{"a5", "", 200000, "USD", nil},
		{"a6", "ghost@example.com", 0, "", nil},
		{"a7", "ann@example.com", 500000, "JPY", nil},
		// Active at the end of August 2025, gone at the end of September:
		// the one churn of the window.
		{"x1", "", 100000, "USD", ptr(day(2025, 9, 1))},
	} {
		if err := account.Upsert(ctx, db, account.Account{ID: a.id, Name: "Acct " + a.id, OwnerEmail: a.owner}); err != nil {
			t.Fatal(err)
		}
		if a.minor == 0 {
			continue
		}
		if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s" + a.id, AccountID: a.id, Start: start, End: a.end,
			MRRMinor: a.minor, Currency: a.cur, Plan: "p"}); err != nil {
			t.Fatal(err)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6*math.Max(1, math.Abs(b)) }

func setSettings(t *testing.T, db *store.DB, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if _, err := db.ExecContext(context.Background(), `INSERT INTO settings (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTiers(t *testing.T) {
	type tier struct {
		n   int
		arr float64
	}
	for _, tc := range []struct {
		name     string
		settings []string
		basis    string
		want     [3]tier // high, low, tech
	}{
		// Defaults: ARR ≥ 100,000 high, ≥ 10,000 low.
		{"arr defaults", nil, "arr", [3]tier{{1, 120000}, {4, 138000}, {1, 6000}}},
		// ARR with thresholds 50,000 and 20,000: a1, a2 high; a7, a5 low; a3, a4 tech.
		{"arr custom", []string{"touch_tier.high", "50000", "touch_tier.low", "20000"}, "arr",
			[3]tier{{2, 180000}, {2, 66000}, {2, 18000}}},
		// LTV: churn 1/7 in one month of 12 → 1/84 a month; margin 0.8, so
		// LTV = MRR × 67.2: a1 672,000, a2 336,000, a7 235,200, a5 134,400,
		// a3 67,200, a4 33,600. High ≥ 300,000: a1, a2; low ≥ 50,000: a7, a5, a3.
		{"ltv", []string{"touch_tier.basis", "ltv", "touch_tier.low", "50000", "gross_margin", "0.8"}, "ltv",
			[3]tier{{2, 180000}, {3, 78000}, {1, 6000}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				setup(t, db)
				setSettings(t, db, tc.settings...)
				b, err := coverage.LoadBook(context.Background(), db, at)
				if err != nil {
					t.Fatal(err)
				}
				r := coverage.TierCounts(b)
				if r.EffectiveBasis != tc.basis || r.Customers != 6 || !near(r.TotalARR, 264000) {
					t.Errorf("basis %s, customers %d, total %v", r.EffectiveBasis, r.Customers, r.TotalARR)
				}
				for i, w := range tc.want {
					got := r.Tiers[i]
					if got.Accounts != w.n || !near(got.ARR, w.arr) || !near(got.ShareOfARR, w.arr/264000) {
						t.Errorf("%s: %d accounts, ARR %v, share %v; want %d, %v", got.Tier, got.Accounts, got.ARR, got.ShareOfARR, w.n, w.arr)
					}
				}
				if tc.basis == "ltv" {
					if r.LogoChurnRate == nil || !near(*r.LogoChurnRate, 1.0/84) {
						t.Errorf("logo churn rate = %v, want 1/84", r.LogoChurnRate)
					}
					for _, a := range b.Accounts {
						if a.AccountID == "a7" && (a.LTV == nil || !near(*a.LTV, 235200)) {
							t.Errorf("a7 LTV = %v, want 235200", a.LTV)
						}
					}
				}
			})
		})
	}
}

func TestBadSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, kv := range [][2]string{{"touch_tier.basis", "mrr"}, {"touch_tier.high", "lots"}, {"touch_tier.low", "-1"}, {"touch_tier.x", "1"}} {
			if _, err := coverage.SetSetting(ctx, db, kv[0], kv[1]); !errors.Is(err, coverage.ErrBadSetting) {
				t.Errorf("SetSetting(%s, %s) = %v, want ErrBadSetting", kv[0], kv[1], err)
			}
		}
		if _, err := coverage.SetSetting(ctx, db, "touch_tier.low", "200000"); err != nil {
			t.Fatal(err)
		}
		// low 200,000 above the default high of 100,000.
		if _, err := coverage.LoadSettings(ctx, db); !errors.Is(err, coverage.ErrBadSetting) {
			t.Errorf("low above high: %v", err)
		}
	})
}

func TestRanking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		setup(t, db)
		b, err := coverage.LoadBook(context.Background(), db, at)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			rank      int
			id        string
			share, cu float64
		}
		// Shares of 264,000: 120k, 60k, 42k, 24k, 12k, 6k; cumulative 120k,
		// 180k, 222k, 246k, 258k, 264k.
		all := []row{{1, "a1", 120000. / 264000, 120000. / 264000}, {2, "a2", 60000. / 264000, 180000. / 264000},
			{3, "a7", 42000. / 264000, 222000. / 264000}, {4, "a5", 24000. / 264000, 246000. / 264000},
			{5, "a3", 12000. / 264000, 258000. / 264000}, {6, "a4", 6000. / 264000, 1}}
		for _, tc := range []struct {
			name    string
			f       coverage.RankFilter
			want    []row
			matched int
		}{
			{"all", coverage.RankFilter{}, all, 6},
			{"ann", coverage.RankFilter{Owner: "ann@example.com"}, []row{all[0], all[2]}, 2},
			{"unassigned", coverage.RankFilter{Owner: "none"}, []row{all[3], all[4], all[5]}, 3},
			{"low tier", coverage.RankFilter{Tier: "low"}, []row{all[1], all[2], all[3], all[4]}, 4},
			{"page", coverage.RankFilter{Offset: 2, Limit: 2}, []row{all[2], all[3]}, 6},
		} {
			r := coverage.Rank(b, tc.f)
			var got []row
			for _, a := range r.Accounts {
				got = append(got, row{a.Rank, a.AccountID, a.Share, a.CumulativeShare})
			}
			if len(got) != len(tc.want) || r.Matched != tc.matched || r.Customers != 6 {
				t.Errorf("%s: %+v (matched %d)", tc.name, got, r.Matched)
				continue
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.rank != w.rank || g.id != w.id || !near(g.share, w.share) || !near(g.cu, w.cu) {
					t.Errorf("%s row %d = %+v, want %+v", tc.name, i, g, w)
				}
			}
		}
	})
}

func TestWorkload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		setup(t, db)
		ctx := context.Background()
		// ann: two open tasks (one in progress), one done, and a1 red; a7
		// green. bob: a2 red. An unassigned task counts for nobody.
		for _, tk := range []struct{ id, account, assignee, status string }{
			{"t1", "a1", "ann@example.com", "open"}, {"t2", "a7", "ann@example.com", "in_progress"},
			{"t3", "a1", "ann@example.com", "done"}, {"t4", "a3", "", "open"}, {"t5", "a2", "ann@example.com", "cancelled"},
		} {
			var assignee any
			if tk.assignee != "" {
				assignee = tk.assignee
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO tasks (task_id, account_id, assignee, status, title, created_at, updated_at)
				VALUES ($1, $2, $3, $4, 'call', 1, 1)`, tk.id, tk.account, assignee, tk.status); err != nil {
				t.Fatal(err)
			}
		}
		for _, h := range []struct{ account, band string }{{"a1", "red"}, {"a7", "green"}, {"a2", "red"}, {"a3", "red"}} {
			if _, err := db.ExecContext(ctx, `INSERT INTO health_current (account_id, model_id, score, band, day, computed_score, updated_at)
				VALUES ($1, 'default', 10, $2, 1, 10, 1)`, h.account, h.band); err != nil {
				t.Fatal(err)
			}
		}
		ws, err := coverage.Workloads(ctx, db, at)
		if err != nil {
			t.Fatal(err)
		}
		want := []coverage.Workload{
			{Email: "ann@example.com", Name: "ann", Role: "csm", Accounts: 2, ARR: 162000, OpenTasks: 2, RedAccounts: 1},
			{Email: "bob@example.com", Name: "bob", Role: "csm", Accounts: 1, ARR: 60000, RedAccounts: 1},
			{Email: "cat@example.com", Name: "cat", Role: "manager"},
			{Email: "ghost@example.com", Accounts: 1},
		}
		if len(ws) != len(want) {
			t.Fatalf("workloads = %+v", ws)
		}
		for i := range ws {
			arr := ws[i].ARR
			ws[i].ARR = math.Round(arr) // compared with near below
			if !reflect.DeepEqual(ws[i], want[i]) || !near(arr, want[i].ARR) {
				t.Errorf("workload %d = %+v, want %+v", i, ws[i], want[i])
			}
		}
		// The segments page takes them from the book it loaded already.
		b, err := coverage.LoadBook(ctx, db, at)
		if err != nil {
			t.Fatal(err)
		}
		of, err := coverage.WorkloadsOf(ctx, db, b)
		if err != nil {
			t.Fatal(err)
		}
		for i := range of {
			of[i].ARR = math.Round(of[i].ARR)
		}
		if !reflect.DeepEqual(of, want) {
			t.Errorf("workloads of the book = %+v, want %+v", of, want)
		}
	})
}

func TestAssignStrategies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		setup(t, db)
		ctx := context.Background()
		// The unassigned customers, by ARR: a5 24k, a3 12k, a4 6k. ann owns
		// 2 accounts (162k), bob 1 (60k).
		for _, tc := range []struct {
			name     string
			o        coverage.AssignOptions
			want     []string // owner of a5, a3, a4
			accounts []int    // per CSM after, in email order
		}{
			// a5 → bob (1 < 2); a3 → ann (2 = 2, ann first by email); a4 → bob (2 < 3).
			{"fewest", coverage.AssignOptions{Strategy: coverage.FewestAccounts}, []string{"bob", "ann", "bob"}, []int{3, 3}},
			// bob's ARR stays below ann's 162k throughout: 84k, 96k, 102k.
			{"least arr", coverage.AssignOptions{Strategy: coverage.LeastARR}, []string{"bob", "bob", "bob"}, []int{2, 4}},
			{"round robin", coverage.AssignOptions{Strategy: coverage.RoundRobin}, []string{"ann", "bob", "ann"}, []int{4, 2}},
			// bob 1, cat 0: a5 → cat; a3 → bob (1 = 1, by email); a4 → cat.
			{"given csms", coverage.AssignOptions{Strategy: coverage.FewestAccounts, CSMs: []string{"cat@example.com", "BOB@example.com"}},
				[]string{"cat", "bob", "cat"}, []int{2, 2}},
		} {
			tc.o.DryRun, tc.o.At = true, at
			p, err := coverage.Assign(ctx, db, tc.o)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var got []string
			for _, c := range p.Assignments {
				got = append(got, c.To[:3])
			}
			if !reflect.DeepEqual(got, tc.want) || p.Assignments[0].AccountID != "a5" || p.Assignments[2].AccountID != "a4" {
				t.Errorf("%s: %+v, want %v", tc.name, p.Assignments, tc.want)
			}
			var accounts []int
			for _, l := range p.Loads {
				accounts = append(accounts, l.Accounts)
			}
			if !reflect.DeepEqual(accounts, tc.accounts) {
				t.Errorf("%s: loads %+v, want accounts %v", tc.name, p.Loads, tc.accounts)
			}
		}
		// Dry runs wrote nothing.
		if a, _ := account.Get(ctx, db, "a5"); a.OwnerEmail != "" {
			t.Errorf("a dry run assigned a5 to %s", a.OwnerEmail)
		}
		for _, bad := range []coverage.AssignOptions{
			{Strategy: "random"},
			{Strategy: coverage.RoundRobin, CSMs: []string{"vic@example.com"}},
			{Strategy: coverage.RoundRobin, CSMs: []string{"nobody@example.com"}},
			{Strategy: coverage.RoundRobin, Reassign: true},
			{Strategy: coverage.RoundRobin, SegmentID: "nope"},
		} {
			if _, err := coverage.Assign(ctx, db, bad); err == nil {
				t.Errorf("Assign(%+v) = nil error", bad)
			}
		}
		// Reassign the segment of accounts with ARR ≥ 50,000 (a1 ann, a2 bob)
		// by least ARR: outside it ann has a7 (42k) and bob nothing, so a1
		// (120k) → bob, then a2 (60k) → ann (42k < 120k).
		if _, err := segment.Create(ctx, db, segment.Segment{ID: "big", Name: "Big", Rule: "arr >= 50000"}, at); err != nil {
			t.Fatal(err)
		}
		snaps := []snapshot.Snapshot{{AccountID: "a1", ARR: 120000}, {AccountID: "a2", ARR: 60000}, {AccountID: "a3", ARR: 12000}}
		if _, _, err := segment.Refresh(ctx, db, "big", at, snaps); err != nil {
			t.Fatal(err)
		}
		p, err := coverage.Assign(ctx, db, coverage.AssignOptions{Strategy: coverage.LeastARR, SegmentID: "big", Reassign: true,
			At: at, Actor: "cli:test"})
		if err != nil {
			t.Fatal(err)
		}
		want := []coverage.OwnerChange{{"a1", "ann@example.com", "bob@example.com"}, {"a2", "bob@example.com", "ann@example.com"}}
		if !reflect.DeepEqual(p.Assignments, want) {
			t.Errorf("reassign = %+v, want %+v", p.Assignments, want)
		}
		for _, c := range want {
			a, err := account.Get(ctx, db, c.AccountID)
			if err != nil || a.OwnerEmail != c.To {
				t.Errorf("%s owner = %q, %v; want %s", c.AccountID, a.OwnerEmail, err, c.To)
			}
			es, err := audit.List(ctx, db, audit.Filter{ObjectType: "account", ObjectID: c.AccountID, Actor: "cli:test"})
			if err != nil || len(es) != 1 {
				t.Errorf("%s audit entries = %d, %v", c.AccountID, len(es), err)
			}
		}
	})
}

func TestSetOwner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		setup(t, db)
		ctx := context.Background()
		for _, tc := range []struct {
			account, email string
			want           error
		}{
			{"a3", "nobody@example.com", coverage.ErrNotAssignable},
			{"a3", "vic@example.com", coverage.ErrNotAssignable},
			{"zz", "ann@example.com", account.ErrNotFound},
		} {
			if _, err := coverage.SetOwner(ctx, db, tc.account, tc.email, "cli:test"); !errors.Is(err, tc.want) {
				t.Errorf("SetOwner(%s, %s) = %v, want %v", tc.account, tc.email, err, tc.want)
			}
		}
		c, err := coverage.SetOwner(ctx, db, "a2", "Cat@Example.com", "cli:test")
		if err != nil || c != (coverage.OwnerChange{AccountID: "a2", From: "bob@example.com", To: "cat@example.com"}) {
			t.Fatalf("SetOwner = %+v, %v", c, err)
		}
		a, _ := account.Get(ctx, db, "a2")
		es, _ := audit.List(ctx, db, audit.Filter{ObjectType: "account", ObjectID: "a2"})
		if a.OwnerEmail != "cat@example.com" || len(es) != 1 || string(es[0].Before) != `{"owner_email":"bob@example.com"}` {
			t.Errorf("owner %s, audit %+v", a.OwnerEmail, es)
		}
	})
}

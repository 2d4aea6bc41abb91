package billing_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
func ptr[T any](v T) *T                        { return &v }

func mustAccounts(t *testing.T, db *store.DB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := account.Upsert(context.Background(), db, account.Account{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUpsertPeriod(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a1", "a2")
		p := func(sub string, start time.Time, end *time.Time, mrr int64, cur string) billing.Period {
			return billing.Period{SubscriptionID: sub, AccountID: "a1", Start: start, End: end, MRRMinor: mrr, Currency: cur, Plan: "pro"}
		}
		jan, feb, mar, apr, may := day(2024, 1, 1), day(2024, 2, 1), day(2024, 3, 1), day(2024, 4, 1), day(2024, 5, 1)
		steps := []struct {
			name    string
			p       billing.Period
			overlap bool // want ErrOverlap
			fail    bool // want another error
		}{
			{"first period", p("s1", jan, &feb, 4990, "USD"), false, false},
			{"adjacent period (end == start)", p("s1", feb, &mar, 5990, "usd"), false, false},
			{"overlaps both", p("s1", day(2024, 1, 15), ptr(day(2024, 2, 15)), 1, "USD"), true, false},
			{"inside the first", p("s1", day(2024, 1, 10), ptr(day(2024, 1, 20)), 1, "USD"), true, false},
			{"covers the first", p("s1", day(2023, 12, 1), ptr(day(2024, 3, 1)), 1, "USD"), true, false},
			{"ends one second into the first", p("s1", day(2023, 12, 1), ptr(jan.Add(time.Second)), 1, "USD"), true, false},
			{"ends exactly at the first's start", p("s1", day(2023, 12, 1), &jan, 3990, "USD"), false, false},
			{"re-upsert same key with a new price", p("s1", jan, &feb, 4500, "USD"), false, false},
			{"re-upsert same key, longer, into the next", p("s1", jan, &mar, 4500, "USD"), true, false},
			{"open period after the last", p("s1", mar, nil, 6990, "USD"), false, false},
			{"after an open period", p("s1", may, ptr(day(2024, 6, 1)), 1, "USD"), true, false},
			{"open period starting earlier", p("s1", day(2024, 2, 15), nil, 1, "USD"), true, false},
			{"other subscription may overlap", p("s2", jan, nil, 500000, "jpy"), false, false},
			{"end equals start", p("s3", apr, &apr, 1, "USD"), false, true},
			{"end before start", p("s3", apr, &mar, 1, "USD"), false, true},
			{"unknown currency", p("s3", apr, nil, 1, "ZZZ"), false, true},
			{"currency not three letters", p("s3", apr, nil, 1, "US"), false, true},
			{"empty currency", p("s3", apr, nil, 1, ""), false, true},
			{"no subscription id", billing.Period{AccountID: "a1", Start: apr, Currency: "USD"}, false, true},
			{"no account id", billing.Period{SubscriptionID: "s3", Start: apr, Currency: "USD"}, false, true},
			{"unknown account", billing.Period{SubscriptionID: "s3", AccountID: "ghost", Start: apr, Currency: "USD"}, false, true},
		}
		for _, s := range steps {
			err := billing.UpsertPeriod(ctx, db, s.p)
			switch {
			case s.overlap && !errors.Is(err, billing.ErrOverlap):
				t.Errorf("%s: err = %v, want ErrOverlap", s.name, err)
			case s.fail && (err == nil || errors.Is(err, billing.ErrOverlap)):
				t.Errorf("%s: err = %v, want a validation error", s.name, err)
			case !s.overlap && !s.fail && err != nil:
				t.Errorf("%s: %v", s.name, err)
			}
		}
		got, err := billing.Periods(ctx, db, "a1")
		if err != nil {
			t.Fatal(err)
		}
		want := []billing.Period{
			{SubscriptionID: "s1", AccountID: "a1", Start: day(2023, 12, 1), End: &jan, MRRMinor: 3990, Currency: "USD", Plan: "pro"},
			{SubscriptionID: "s1", AccountID: "a1", Start: jan, End: &feb, MRRMinor: 4500, Currency: "USD", Plan: "pro"},
			{SubscriptionID: "s2", AccountID: "a1", Start: jan, MRRMinor: 500000, Currency: "JPY", Plan: "pro"},
			{SubscriptionID: "s1", AccountID: "a1", Start: feb, End: &mar, MRRMinor: 5990, Currency: "USD", Plan: "pro"},
			{SubscriptionID: "s1", AccountID: "a1", Start: mar, MRRMinor: 6990, Currency: "USD", Plan: "pro"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Periods =\n%v\nwant\n%v", fmtPeriods(got), fmtPeriods(want))
		}
		if got, err := billing.Periods(ctx, db, "a2"); err != nil || len(got) != 0 {
			t.Fatalf("Periods(a2) = %v, %v", got, err)
		}

		// Moving a period to another account and setting product and quantity.
		if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s2", AccountID: "a2", Start: jan,
			MRRMinor: 100, Currency: "EUR", Product: "core", Quantity: ptr(2.5)}); err != nil {
			t.Fatal(err)
		}
		got, _ = billing.Periods(ctx, db, "a2")
		if len(got) != 1 || got[0].Product != "core" || got[0].Quantity == nil || *got[0].Quantity != 2.5 ||
			got[0].Currency != "EUR" || got[0].Plan != "" || got[0].End != nil {
			t.Fatalf("Periods(a2) = %v", fmtPeriods(got))
		}
		if got, _ := billing.Periods(ctx, db, "a1"); len(got) != 4 {
			t.Fatalf("Periods(a1) after the move = %d periods, want 4", len(got))
		}

		// Upserting a period as it is stored leaves it alone, updated_at too;
		// a real change moves updated_at.
		updated := func() int64 {
			t.Helper()
			var at int64
			if err := db.QueryRowContext(ctx, `SELECT updated_at FROM subscription_periods WHERE subscription_id = 's2' AND start_at = $1`,
				jan.Unix()).Scan(&at); err != nil {
				t.Fatal(err)
			}
			return at
		}
		if _, err := db.ExecContext(ctx, `UPDATE subscription_periods SET updated_at = 1 WHERE subscription_id = 's2'`); err != nil {
			t.Fatal(err)
		}
		same := billing.Period{SubscriptionID: "s2", AccountID: "a2", Start: jan, MRRMinor: 100, Currency: "EUR", Product: "core", Quantity: ptr(2.5)}
		if err := billing.UpsertPeriod(ctx, db, same); err != nil {
			t.Fatal(err)
		}
		if at := updated(); at != 1 {
			t.Errorf("unchanged upsert set updated_at to %d", at)
		}
		same.Quantity = nil
		if err := billing.UpsertPeriod(ctx, db, same); err != nil {
			t.Fatal(err)
		}
		if at := updated(); at == 1 {
			t.Error("dropping the quantity left updated_at alone")
		}
	})
}

func fmtPeriods(ps []billing.Period) string {
	s := ""
	for _, p := range ps {
		end, q := "open", "nil"
		if p.End != nil {
			end = p.End.Format("2006-01-02")
		}
		if p.Quantity != nil {
			q = fmt.Sprint(*p.Quantity)
		}
		s += fmt.Sprintf("  %s %s %s…%s %d %s %s/%s q=%s\n", p.SubscriptionID, p.AccountID, p.Start.Format("2006-01-02"), end,
			p.MRRMinor, p.Currency, p.Plan, p.Product, q)
	}
	return s
}

func TestActiveAt(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	closed := billing.Period{Start: start, End: &end}
	open := billing.Period{Start: start}
	for _, c := range []struct {
		name string
		p    billing.Period
		t    time.Time
		want bool
	}{
		{"before start", closed, start.Add(-time.Nanosecond), false},
		{"at start", closed, start, true},
		{"at start in another zone", closed, start.In(time.FixedZone("X", -5*3600)), true},
		{"inside", closed, start.Add(10 * 24 * time.Hour), true},
		{"just before end", closed, end.Add(-time.Nanosecond), true},
		{"at end", closed, end, false},
		{"after end", closed, end.Add(time.Hour), false},
		{"open at start", open, start, true},
		{"open before start", open, start.Add(-time.Second), false},
		{"open far later", open, start.AddDate(50, 0, 0), true},
	} {
		if got := c.p.ActiveAt(c.t); got != c.want {
			t.Errorf("%s: ActiveAt(%v) = %v, want %v", c.name, c.t, got, c.want)
		}
	}
}

type overlap struct {
	Line, OtherLine int64
	Sub             string
	OtherStart      int64
}

func TestOverlapsSQLAndMergePeriods(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a1")
		u := func(tm time.Time) int64 { return tm.Unix() }
		jan, feb, mar, apr, may, jun, jul := day(2024, 1, 1), day(2024, 2, 1), day(2024, 3, 1), day(2024, 4, 1), day(2024, 5, 1), day(2024, 6, 1), day(2024, 7, 1)
		for _, p := range []billing.Period{
			{SubscriptionID: "s1", AccountID: "a1", Start: jan, End: &mar, MRRMinor: 100, Currency: "USD"},
			{SubscriptionID: "s2", AccountID: "a1", Start: jan, End: &feb, MRRMinor: 100, Currency: "USD"},
			{SubscriptionID: "s4", AccountID: "a1", Start: jan, MRRMinor: 100, Currency: "USD"},
			{SubscriptionID: "s7", AccountID: "a1", Start: apr, End: &may, MRRMinor: 100, Currency: "USD"},
		} {
			if err := billing.UpsertPeriod(ctx, db, p); err != nil {
				t.Fatal(err)
			}
		}
		row := func(sub string, start, end time.Time, open bool) []any {
			var e any = u(end)
			if open {
				e = nil
			}
			return []any{sub, u(start), e, "a1", int64(1000), "USD", "", "", nil}
		}
		rows := [][]any{
			row("s3", jan, mar, false), // line 2
			row("s3", feb, apr, false), // line 3: overlaps line 2 → reported against line 2
			row("s1", feb, apr, false), // line 4: overlaps stored s1 Jan–Mar, which the file does not replace → other_line 0
			row("s2", jan, jun, false), // line 5: replaces stored s2 Jan–Feb (same start) → no overlap
			row("s2", jun, jul, false), // line 6: adjacent to line 5 → no overlap
			row("s3", apr, may, false), // line 7: adjacent to line 3 → no overlap
			row("s4", jan, feb, false), // line 8: replaces the open stored s4 → no overlap
			row("s4", mar, apr, false), // line 9: after line 8 → no overlap (the stored open period is replaced)
			row("s5", jan, feb, true),  // line 10: open-ended
			row("s5", jun, jul, false), // line 11: overlaps the open line 10
			row("s7", jan, mar, false), // line 12
			row("s7", feb, jun, false), // line 13: overlaps line 12 (from Jan) and stored s7 Apr–May (line 0, from Apr)
		}
		storetest.WithStage(t, db, "stage_periods", billing.StagePeriods, billing.StagePeriodsColumns, rows, func(tx *sql.Tx) {
			res, err := tx.QueryContext(ctx, billing.OverlapsSQL("stage_periods")+" ORDER BY 1")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Close()
			var got []overlap
			for res.Next() {
				var o overlap
				if err := res.Scan(&o.Line, &o.Sub, &o.OtherLine, &o.OtherStart); err != nil {
					t.Fatal(err)
				}
				got = append(got, o)
			}
			if err := res.Err(); err != nil {
				t.Fatal(err)
			}
			want := []overlap{
				{Line: 3, Sub: "s3", OtherLine: 2, OtherStart: u(jan)},
				{Line: 4, Sub: "s1", OtherLine: 0, OtherStart: u(jan)},
				{Line: 11, Sub: "s5", OtherLine: 10, OtherStart: u(jan)},
				// other_start belongs to other_line: the stored period starts in April.
				{Line: 13, Sub: "s7", OtherLine: 0, OtherStart: u(apr)},
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("OverlapsSQL = %+v, want %+v", got, want)
			}
		})

		// Merging a valid file: new rows inserted, replaced rows updated, the same file again changes nothing.
		good := [][]any{
			row("s2", jan, jun, false), // replaces stored s2 Jan–Feb
			row("s2", jun, jul, false), // new
			row("s1", jan, mar, false), // stored s1, mrr 100 → 1000
			row("s6", feb, feb, true),  // new, open
		}
		good[2] = []any{"s1", u(jan), u(mar), "a1", int64(100), "USD", "", "", nil} // same as stored: unchanged
		for i, want := range []int64{3, 0} {
			storetest.WithStage(t, db, "stage_periods", billing.StagePeriods, billing.StagePeriodsColumns, good, func(tx *sql.Tx) {
				n, err := billing.MergePeriods(ctx, tx, "stage_periods", 1000+int64(i))
				if err != nil || n != want {
					t.Fatalf("MergePeriods round %d = %d, %v; want %d", i+1, n, err, want)
				}
			})
		}
		ps, _ := billing.Periods(ctx, db, "a1")
		var s2 []string
		for _, p := range ps {
			if p.SubscriptionID == "s2" {
				s2 = append(s2, p.Start.Format("01-02")+"…"+p.End.Format("01-02"))
			}
		}
		if !reflect.DeepEqual(s2, []string{"01-01…06-01", "06-01…07-01"}) || len(ps) != 6 {
			t.Fatalf("periods after merge: s2 = %v, %d periods in all", s2, len(ps))
		}
	})
}

func TestReportingCurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		steps := []struct {
			set     string
			wantErr bool
			want    string
		}{
			{"", false, "USD"}, // the migration's default
			{"eur", false, "EUR"},
			{"JPY", false, "JPY"},
			{"EURO", true, "JPY"},
			{"ZZZ", true, "JPY"},
			{"", true, "JPY"},
			{"usd", false, "USD"},
		}
		for i, s := range steps {
			if i > 0 {
				err := billing.SetReportingCurrency(ctx, db, s.set)
				if (err != nil) != s.wantErr {
					t.Fatalf("SetReportingCurrency(%q): err = %v, want error %v", s.set, err, s.wantErr)
				}
			}
			got, err := billing.ReportingCurrency(ctx, db)
			if err != nil || got != s.want {
				t.Fatalf("after %q: ReportingCurrency = %q, %v; want %q", s.set, got, err, s.want)
			}
		}
		// Without the setting row, USD.
		if _, err := db.ExecContext(ctx, `DELETE FROM settings WHERE key = 'reporting_currency'`); err != nil {
			t.Fatal(err)
		}
		if got, err := billing.ReportingCurrency(ctx, db); err != nil || got != "USD" {
			t.Fatalf("ReportingCurrency without a setting = %q, %v", got, err)
		}
		if err := billing.SetReportingCurrency(ctx, db, "GBP"); err != nil {
			t.Fatal(err)
		}
		if got, _ := billing.ReportingCurrency(ctx, db); got != "GBP" {
			t.Fatalf("ReportingCurrency = %q, want GBP", got)
		}
	})
}

func TestConverter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, r := range []struct {
			cur  string
			from time.Time
			rate float64
		}{
			{"JPY", day(2024, 3, 1), 0.0067},
			{"jpy", day(2024, 1, 1), 0.0070},                              // set out of order, lower-case
			{"EUR", time.Date(2024, 2, 10, 18, 30, 0, 0, time.UTC), 1.10}, // counts from its day
			{"EUR", day(2024, 2, 10), 1.08},                               // replaces the rate of the same day
		} {
			if err := billing.SetFXRate(ctx, db, r.cur, r.from, r.rate); err != nil {
				t.Fatal(err)
			}
		}
		for _, bad := range []struct {
			cur  string
			rate float64
		}{{"JPY", 0}, {"JPY", -1}, {"JPY", math.NaN()}, {"XYZ", 1}, {"", 1}} {
			if err := billing.SetFXRate(ctx, db, bad.cur, day(2024, 1, 1), bad.rate); err == nil {
				t.Errorf("SetFXRate(%q, %v) succeeded", bad.cur, bad.rate)
			}
		}
		c, err := billing.LoadConverter(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if c.Reporting != "USD" {
			t.Fatalf("Reporting = %q", c.Reporting)
		}
		jst := time.FixedZone("JST", 9*3600)
		for _, r := range []struct {
			name string
			cur  string
			at   time.Time
			want float64
			err  error
		}{
			{"reporting currency", "USD", day(2000, 1, 1), 1, nil},
			{"before the first rate: the earliest", "JPY", day(2023, 6, 1), 0.0070, nil},
			{"on the first rate's day", "JPY", day(2024, 1, 1), 0.0070, nil},
			{"between rates", "JPY", day(2024, 2, 15), 0.0070, nil},
			{"last second before the second rate", "JPY", day(2024, 3, 1).Add(-time.Second), 0.0070, nil},
			{"on the second rate's day", "JPY", day(2024, 3, 1), 0.0067, nil},
			{"later", "JPY", day(2030, 1, 1), 0.0067, nil},
			{"day is taken in UTC", "JPY", time.Date(2024, 3, 1, 8, 0, 0, 0, jst), 0.0070, nil},
			{"same-day rate replaced", "EUR", day(2024, 2, 10), 1.08, nil},
			{"EUR before its only rate", "EUR", day(2020, 1, 1), 1.08, nil},
			{"no rate", "GBP", day(2024, 1, 1), 0, billing.ErrNoRate},
		} {
			got, err := c.Rate(r.cur, r.at)
			if r.err != nil {
				if !errors.Is(err, r.err) {
					t.Errorf("%s: Rate(%s) err = %v, want %v", r.name, r.cur, err, r.err)
				}
				continue
			}
			if err != nil || got != r.want {
				t.Errorf("%s: Rate(%s, %v) = %v, %v; want %v", r.name, r.cur, r.at, got, err, r.want)
			}
		}
		for _, cv := range []struct {
			minor int64
			cur   string
			at    time.Time
			want  float64
		}{
			{4990, "USD", day(2024, 4, 1), 49.90},
			{5000, "JPY", day(2024, 4, 1), 33.5},
			{5000, "JPY", day(2024, 1, 1), 35},
			{-250, "EUR", day(2024, 4, 1), -2.70},
			{0, "JPY", day(2024, 4, 1), 0},
		} {
			got, err := c.Convert(cv.minor, cv.cur, cv.at)
			if err != nil || math.Abs(got-cv.want) > 1e-9 {
				t.Errorf("Convert(%d %s) = %v, %v; want %v", cv.minor, cv.cur, got, err, cv.want)
			}
		}
		if _, err := c.Convert(100, "GBP", day(2024, 1, 1)); !errors.Is(err, billing.ErrNoRate) {
			t.Errorf("Convert(GBP) err = %v, want ErrNoRate", err)
		}

		// MRR over mixed currencies, by hand: 49.90 USD + 5000 JPY × 0.0067 = 49.90 + 33.50 = 83.40.
		at := day(2024, 4, 15)
		ended := day(2024, 4, 1)
		periods := []billing.Period{
			{MRRMinor: 4990, Currency: "USD", Start: day(2024, 1, 1)},
			{MRRMinor: 5000, Currency: "JPY", Start: day(2024, 4, 1), End: ptr(day(2024, 5, 1))},
			{MRRMinor: 9999, Currency: "GBP", Start: day(2024, 1, 1), End: &ended}, // ended: its missing rate does not matter
			{MRRMinor: 7777, Currency: "USD", Start: day(2024, 4, 16)},             // not started yet
		}
		got, err := c.MRR(periods, at)
		if err != nil || math.Abs(got-83.40) > 1e-9 {
			t.Fatalf("MRR = %v, %v; want 83.40", got, err)
		}
		if got, err := c.MRR(periods, day(2024, 3, 31)); err == nil {
			t.Fatalf("MRR on 2024-03-31 (GBP period active, no rate) = %v, want ErrNoRate", got)
		} else if !errors.Is(err, billing.ErrNoRate) {
			t.Fatalf("MRR err = %v, want ErrNoRate", err)
		}
		if got, err := c.MRR(nil, at); err != nil || got != 0 {
			t.Fatalf("MRR(nil) = %v, %v", got, err)
		}

		// With JPY as the reporting currency, JPY converts at 1 and USD has no rate.
		if err := billing.SetReportingCurrency(ctx, db, "JPY"); err != nil {
			t.Fatal(err)
		}
		c, err = billing.LoadConverter(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := c.Convert(5000, "JPY", at); err != nil || v != 5000 {
			t.Fatalf("Convert(5000 JPY) in JPY = %v, %v", v, err)
		}
		if _, err := c.Convert(4990, "USD", at); !errors.Is(err, billing.ErrNoRate) {
			t.Fatalf("Convert(USD) in JPY: err = %v, want ErrNoRate", err)
		}
	})
}

func TestMergeOrdersAndCosts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a1")
		orders := [][]any{
			{"o1", "a1", int64(1700000000), int64(4990), "USD"},
			{"o2", "a1", int64(1700000100), int64(5000), "JPY"},
		}
		costs := [][]any{
			{"2024-01", "acquisition", "USD", int64(100000)},
			{"2024-01", "retention", "USD", int64(20000)},
		}
		for i, want := range []int64{2, 0} {
			storetest.WithStage(t, db, "stage_orders", billing.StageOrders, billing.StageOrdersColumns, orders, func(tx *sql.Tx) {
				if n, err := billing.MergeOrders(ctx, tx, "stage_orders", int64(i)); err != nil || n != want {
					t.Fatalf("MergeOrders round %d = %d, %v; want %d", i+1, n, err, want)
				}
			})
			storetest.WithStage(t, db, "stage_costs", billing.StageCosts, billing.StageCostsColumns, costs, func(tx *sql.Tx) {
				if n, err := billing.MergeCosts(ctx, tx, "stage_costs", int64(i)); err != nil || n != want {
					t.Fatalf("MergeCosts round %d = %d, %v; want %d", i+1, n, err, want)
				}
			})
		}
		costs[1][3] = int64(25000)
		storetest.WithStage(t, db, "stage_costs", billing.StageCosts, billing.StageCostsColumns, costs, func(tx *sql.Tx) {
			if n, err := billing.MergeCosts(ctx, tx, "stage_costs", 9); err != nil || n != 1 {
				t.Fatalf("MergeCosts with one change = %d, %v; want 1", n, err)
			}
		})
		var sum int64
		if err := db.QueryRowContext(ctx, `SELECT SUM(amount_minor) FROM costs`).Scan(&sum); err != nil || sum != 125000 {
			t.Fatalf("sum of costs = %d, %v; want 125000", sum, err)
		}
		if err := db.QueryRowContext(ctx, `SELECT SUM(amount_minor) FROM orders WHERE account_id = 'a1'`).Scan(&sum); err != nil || sum != 9990 {
			t.Fatalf("sum of orders = %d, %v; want 9990", sum, err)
		}
	})
}

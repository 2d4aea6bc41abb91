package demo_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// anchor is the fixed "today" of the tests.
var anchor = time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)

func generate(t testing.TB, db *store.DB, seed uint64, scale float64) *demo.Truth {
	t.Helper()
	truth, err := demo.Generate(context.Background(), db, demo.Config{Seed: seed, Scale: scale, Now: anchor})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return truth
}

// TestGenerate generates a business big enough for the planted effects to
// show (2,000 customers) on each database and checks the data against the
// truth, measuring everything again with SQL.
func TestGenerate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		truth := generate(t, db, 1, 0.4)
		if truth.Counts.Customers != 2000 || truth.Counts.Prospects != 120 || truth.Counts.Accounts != 2120 {
			t.Fatalf("counts = %+v, want 2000 customers and 120 prospects", truth.Counts)
		}
		d := load(t, db)
		t.Run("churn effects", func(t *testing.T) { checkChurnEffects(t, db, d, truth) })
		t.Run("programs", func(t *testing.T) { checkPrograms(t, db, d, truth) })
		t.Run("mrr movements", func(t *testing.T) { checkMovements(t, db, d) })
		t.Run("records", func(t *testing.T) { checkRecords(t, db, d, truth) })
		t.Run("renewals", func(t *testing.T) { checkRenewals(t, db) })
		t.Run("login", func(t *testing.T) {
			u, err := user.Authenticate(ctx, db, demo.LoginEmail, demo.LoginPassword)
			if err != nil || u.Role != user.RoleAdmin {
				t.Fatalf("Authenticate(demo login) = %+v, %v; want an admin", u, err)
			}
			if _, err := user.Authenticate(ctx, db, "aiko.tanaka@example.com", demo.LoginPassword); err != nil {
				t.Fatalf("Authenticate(a CSM): %v", err)
			}
		})
		t.Run("marker", func(t *testing.T) {
			m, ok, err := demo.ReadMarker(ctx, db)
			if err != nil || !ok || !m.Complete || m.Seed != 1 || m.Scale != 0.4 || m.Now != "2026-06-15" {
				t.Fatalf("ReadMarker = %+v, %v, %v", m, ok, err)
			}
			// A second run refuses the filled database instead of adding to it.
			_, err = demo.Generate(ctx, db, demo.Config{Seed: 1, Scale: 0.4, Now: anchor})
			if !errors.Is(err, demo.ErrNotEmpty) {
				t.Fatalf("Generate into a demo database: err = %v, want ErrNotEmpty", err)
			}
			if n, _ := account.Count(ctx, db); n != truth.Counts.Accounts {
				t.Fatalf("accounts after the refused run = %d, want %d", n, truth.Counts.Accounts)
			}
		})
	})
}

// TestDeterministic generates twice with one seed and once with another.
func TestDeterministic(t *testing.T) {
	a := generate(t, storetest.SQLite(t), 3, 0.05)
	b := generate(t, storetest.SQLite(t), 3, 0.05)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("same seed, scale and day gave different truths:\n%s\n%s", ja, jb)
	}
	if a.Counts.Events == 0 || a.Counts.RollupRows == 0 || a.Counts.Periods == 0 {
		t.Fatalf("counts = %+v", a.Counts)
	}
	c := generate(t, storetest.SQLite(t), 4, 0.05)
	if jc, _ := json.Marshal(c); string(jc) == string(ja) {
		t.Fatal("another seed gave the same truth")
	}
}

func TestConfigErrors(t *testing.T) {
	db := storetest.SQLite(t)
	for _, cfg := range []demo.Config{{Scale: 0, Now: anchor}, {Scale: -1, Now: anchor}, {Scale: math.NaN(), Now: anchor}, {Scale: 1}} {
		if _, err := demo.Generate(context.Background(), db, cfg); err == nil {
			t.Errorf("Generate(%+v) succeeded", cfg)
		}
	}
	if err := account.Upsert(context.Background(), db, account.Account{ID: "mine", Name: "Not demo data"}); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(context.Background(), db, demo.Config{Scale: 0.01, Now: anchor}); !errors.Is(err, demo.ErrNotEmpty) {
		t.Fatalf("Generate into a database with accounts: err = %v, want ErrNotEmpty", err)
	}
	if _, ok, _ := demo.ReadMarker(context.Background(), db); ok {
		t.Fatal("a refused database got a demo marker")
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		db := storetest.SQLite(b)
		b.StartTimer()
		generate(b, db, 1, 0.1)
	}
}

// --- the data, read back from the database ---

type customer struct {
	id        string
	segment   string
	signupAt  int64
	signupDay int64
	periods   []billing.Period // core product, by start
	churnDay  int64            // first day without the core product; -1 if never
	seats0    float64
}

type data struct {
	now       int64
	customers map[string]*customer
	order     []string // customer ids, sorted
}

func day(ts int64) int64 { return store.Day(ts) }

func load(t *testing.T, db *store.DB) *data {
	t.Helper()
	ctx := context.Background()
	d := &data{now: day(anchor.Unix()), customers: map[string]*customer{}}
	rows, err := db.QueryContext(ctx, `SELECT a.account_id, a.signup_at, COALESCE(s.value, '') FROM accounts a
		LEFT JOIN account_attributes s ON s.account_id = a.account_id AND s.name = 'segment'
		WHERE EXISTS (SELECT 1 FROM subscription_periods p WHERE p.account_id = a.account_id)`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		c := &customer{churnDay: -1}
		if err := rows.Scan(&c.id, &c.signupAt, &c.segment); err != nil {
			t.Fatal(err)
		}
		c.signupDay = day(c.signupAt)
		d.customers[c.id] = c
		d.order = append(d.order, c.id)
	}
	rows.Close()
	slices.Sort(d.order)

	rows, err = db.QueryContext(ctx, `SELECT account_id, start_at, end_at, mrr_minor, currency, quantity FROM subscription_periods
		WHERE product = $1 ORDER BY account_id, start_at`, demo.CoreProduct)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p billing.Period
		var start int64
		var end sql.NullInt64
		var qty sql.NullFloat64
		if err := rows.Scan(&p.AccountID, &start, &end, &p.MRRMinor, &p.Currency, &qty); err != nil {
			t.Fatal(err)
		}
		p.Start = time.Unix(start, 0).UTC()
		if end.Valid {
			e := time.Unix(end.Int64, 0).UTC()
			p.End = &e
		}
		if qty.Valid {
			p.Quantity = &qty.Float64
		}
		c := d.customers[p.AccountID]
		c.periods = append(c.periods, p)
	}
	rows.Close()
	for _, c := range d.customers {
		// The first churn ends the first run of back-to-back core periods.
		end := c.periods[0].End
		for _, p := range c.periods[1:] {
			if end == nil || p.Start.After(*end) {
				break
			}
			end = p.End
		}
		// An end after the anchor is the renewal date of a yearly contract.
		if end != nil && !end.After(anchor) {
			c.churnDay = day(end.Unix())
		}
		for _, p := range c.periods {
			if p.ActiveAt(time.Unix(c.signupAt, 0)) {
				c.seats0 = *p.Quantity
			}
		}
	}
	return d
}

// accountSet runs a query returning account ids.
func accountSet(t *testing.T, db *store.DB, query string, args ...any) map[string]bool {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[id] = true
	}
	return out
}

// accountCounts runs a query returning (account id, count) rows.
func accountCounts(t *testing.T, db *store.DB, query string) map[string]int64 {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	return out
}

// sinceSignup is the SQL of "days since signup" for usage rows u of accounts a.
const sinceSignup = `u.day - a.signup_at / 86400`

type group struct {
	accounts, churned int
	months            float64
}

func (g group) rate() float64 { return float64(g.churned) / g.months }

// checkChurnEffects measures effects 1–3 the way the truth file defines
// them and compares with the truth and with the planted multipliers.
func checkChurnEffects(t *testing.T, db *store.DB, d *data, truth *demo.Truth) {
	reports := accountSet(t, db, `SELECT DISTINCT u.account_id FROM usage_daily u JOIN accounts a ON a.account_id = u.account_id
		WHERE u.event = 'reports' AND `+sinceSignup+` BETWEEN 0 AND 27`)
	setup := accountSet(t, db, `SELECT DISTINCT u.account_id FROM usage_daily u JOIN accounts a ON a.account_id = u.account_id
		WHERE u.event = 'setup_completed' AND `+sinceSignup+` BETWEEN 0 AND 29`)
	weeks := accountCounts(t, db, `SELECT account_id, COUNT(*) FROM (SELECT DISTINCT u.account_id, (`+sinceSignup+`) / 7 AS w
		FROM usage_daily u JOIN accounts a ON a.account_id = u.account_id
		WHERE u.event = 'login' AND `+sinceSignup+` BETWEEN 0 AND 27) x GROUP BY account_id`)
	users := accountCounts(t, db, `SELECT u.account_id, COUNT(DISTINCT u.user_id) FROM usage_daily_users u
		JOIN accounts a ON a.account_id = u.account_id WHERE `+sinceSignup+` BETWEEN 0 AND 27 GROUP BY u.account_id`)

	type effect struct {
		name    string
		in      func(c *customer) bool
		got     demo.ChurnEffect
		lo, hi  float64 // accepted rate ratio, around the planted multiplier
		planted float64
	}
	effects := []effect{
		{"reports", func(c *customer) bool { return !reports[c.id] }, truth.Effects.ReportsAdoption, 2, 4.5, 3},
		{"onboarding", func(c *customer) bool { return setup[c.id] && float64(weeks[c.id])/4 >= 0.6 }, truth.Effects.Onboarding, 0.33, 0.7, 0.5},
		{"utilisation", func(c *customer) bool { return float64(users[c.id])/c.seats0 < 0.3 }, truth.Effects.LowUtilisation, 1.4, 2.9, 2},
	}
	for _, e := range effects {
		var g [2]group // rest, in group
		for _, id := range d.order {
			c := d.customers[id]
			if c.signupDay > d.now-35 {
				continue
			}
			i := 0
			if e.in(c) {
				i = 1
			}
			end := d.now
			if c.churnDay >= 0 {
				end = c.churnDay
				g[i].churned++
			}
			g[i].accounts++
			g[i].months += float64(end-c.signupDay) / 30.4375
		}
		ratio := g[1].rate() / g[0].rate()
		t.Logf("%s: in group %d accounts, %d churned, %.4f/month; rest %d, %d, %.4f/month; ratio %.2f (planted %g)",
			e.name, g[1].accounts, g[1].churned, g[1].rate(), g[0].accounts, g[0].churned, g[0].rate(), ratio, e.planted)
		if g[1].accounts != e.got.InGroup.Accounts || g[1].churned != e.got.InGroup.Churned ||
			g[0].accounts != e.got.Rest.Accounts || g[0].churned != e.got.Rest.Churned {
			t.Errorf("%s: measured %+v, truth says in group %+v, rest %+v", e.name, g, e.got.InGroup, e.got.Rest)
		}
		if e.got.RateRatio == nil || math.Abs(*e.got.RateRatio-ratio) > 0.01 {
			t.Errorf("%s: measured ratio %.4f, truth says %v", e.name, ratio, e.got.RateRatio)
		}
		if ratio < e.lo || ratio > e.hi {
			t.Errorf("%s: churn rate ratio %.2f, want %g–%g (planted %g)", e.name, ratio, e.lo, e.hi, e.planted)
		}
		if e.got.Multiplier != e.planted {
			t.Errorf("%s: truth's planted multiplier %g, want %g", e.name, e.got.Multiplier, e.planted)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checkPrograms measures effects 4 and 5: adoption of reports in the 90 days
// after the seminar and the webinar, participants against eligible
// non-participants of the same segment.
func checkPrograms(t *testing.T, db *store.DB, d *data, truth *demo.Truth) {
	var seminar map[string]bool
	for i, pe := range []demo.ProgramEffect{truth.Effects.Seminar, truth.Effects.Webinar} {
		date, err := time.Parse(time.DateOnly, pe.Date)
		if err != nil {
			t.Fatal(err)
		}
		pd := day(date.Unix())
		in := accountSet(t, db, `SELECT account_id FROM notes WHERE kind = $1 AND body = $2 AND occurred_at / 86400 = $3`,
			pe.NoteKind, pe.NoteBody, pd)
		if got := sortedKeys(in); !slices.Equal(got, pe.Participants) || len(got) == 0 {
			t.Fatalf("%s: participants from notes %v, truth lists %v", pe.Date, got, pe.Participants)
		}
		if i == 0 {
			seminar = in
		}
		before := accountSet(t, db, `SELECT DISTINCT account_id FROM usage_daily WHERE event = 'reports' AND day < $1`, pd)
		after := accountSet(t, db, `SELECT DISTINCT account_id FROM usage_daily WHERE event = 'reports' AND day >= $1 AND day < $2`,
			pd, pd+int64(pe.WindowDays))
		type cell struct{ n, adopted [2]int } // [participants, others]
		bySeg := map[string]*cell{}
		var all cell
		for _, id := range d.order {
			c := d.customers[id]
			paying := false
			for _, p := range c.periods {
				paying = paying || p.ActiveAt(time.Unix(pd*86400, 0))
			}
			if !paying || c.signupDay > pd-28 || before[id] || i == 1 && seminar[id] {
				continue
			}
			j := 1
			if in[id] {
				j = 0
			}
			if bySeg[c.segment] == nil {
				bySeg[c.segment] = &cell{}
			}
			for _, x := range []*cell{bySeg[c.segment], &all} {
				x.n[j]++
				if after[id] {
					x.adopted[j]++
				}
			}
		}
		if all.n[0] != pe.Treated.Accounts || all.adopted[0] != pe.Treated.Adopted ||
			all.n[1] != pe.Control.Accounts || all.adopted[1] != pe.Control.Adopted {
			t.Errorf("%s: measured %+v, truth says participants %+v, others %+v", pe.Date, all, pe.Treated, pe.Control)
		}
		rate := func(x *cell, j int) float64 { return float64(x.adopted[j]) / float64(x.n[j]) }
		var lift, weight float64
		for _, x := range bySeg {
			if x.n[0] > 0 && x.n[1] > 0 {
				lift += float64(x.n[0]) * (rate(x, 0) - rate(x, 1))
				weight += float64(x.n[0])
			}
		}
		lift /= weight
		t.Logf("%s: participants %d/%d adopted, others %d/%d; lift within segments %.3f (planted %g)",
			pe.Date, all.adopted[0], all.n[0], all.adopted[1], all.n[1], lift, pe.PlantedLift)
		if math.Abs(lift-pe.PlantedLift) > 0.1 {
			t.Errorf("%s: lift %.3f, want %g ± 0.1", pe.Date, lift, pe.PlantedLift)
		}
	}
}

// checkMovements computes every account's month-end MRR from the stored
// periods (converted to USD as CONTRACT.md says) and checks that every kind
// of MRR movement, and cross-sell, happens.
func checkMovements(t *testing.T, db *store.DB, d *data) {
	ctx := context.Background()
	conv, err := billing.LoadConverter(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var months []time.Time // month ends
	start := anchor.AddDate(0, -36, 0)
	for m := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC); ; m = m.AddDate(0, 1, 0) {
		end := m.AddDate(0, 1, 0).Add(-time.Second)
		if end.After(anchor) {
			break
		}
		months = append(months, end)
	}
	moves := map[string]int{}
	total := make([]float64, len(months))
	for _, id := range d.order {
		periods, err := billing.Periods(ctx, db, id)
		if err != nil {
			t.Fatal(err)
		}
		var prev float64
		var prevProducts map[string]bool
		everPaid := false
		for i, end := range months {
			cur, err := conv.MRR(periods, end)
			if err != nil {
				t.Fatal(err)
			}
			products := map[string]bool{}
			for _, p := range periods {
				if p.ActiveAt(end) && p.MRRMinor > 0 {
					products[p.Product] = true
				}
			}
			total[i] += cur
			switch {
			case prev == 0 && cur > 0 && !everPaid:
				moves["new"]++
			case prev == 0 && cur > 0:
				moves["reactivation"]++
			case prev > 0 && cur == 0:
				moves["churn"]++
			case prev > 0 && cur > prev+0.005:
				moves["expansion"]++
			case prev > 0 && cur < prev-0.005:
				moves["contraction"]++
			}
			if prev > 0 {
				for p := range products {
					if !prevProducts[p] {
						moves["cross-sell"]++
					}
				}
			}
			everPaid = everPaid || cur > 0
			prev, prevProducts = cur, products
		}
	}
	t.Logf("movements over %d months: %v; MRR %.0f → %.0f USD", len(months), moves, total[11], total[len(total)-1])
	for _, k := range []string{"new", "expansion", "contraction", "churn", "reactivation", "cross-sell"} {
		if moves[k] == 0 {
			t.Errorf("no %s movement", k)
		}
	}
	if last := total[len(total)-1]; !(last > total[11]) {
		t.Errorf("MRR did not grow over the last two years: %.0f → %.0f", total[11], last)
	}
}

func count(t *testing.T, db *store.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// checkRecords checks the rest of the customer record.
func checkRecords(t *testing.T, db *store.DB, d *data, truth *demo.Truth) {
	ctx := context.Background()
	customers := int64(len(d.customers))
	yen := count(t, db, `SELECT COUNT(DISTINCT account_id) FROM subscription_periods WHERE currency = 'JPY'`)
	if share := float64(yen) / float64(customers); share < 0.10 || share > 0.20 {
		t.Errorf("%.2f of customers billed in JPY, want about 0.15", share)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM fx_rates WHERE currency = 'JPY'`); n < 3 {
		t.Errorf("%d JPY rates", n)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM handoffs`); n >= customers || n < customers*7/10 {
		t.Errorf("%d handoffs for %d customers: want most, not all", n, customers)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM accounts c JOIN accounts p ON p.account_id = c.parent_account_id`); n == 0 {
		t.Error("no subsidiaries")
	}
	if n := count(t, db, `SELECT COUNT(*) FROM accounts c WHERE c.parent_account_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM accounts p WHERE p.account_id = c.parent_account_id)`); n != 0 {
		t.Errorf("%d accounts with a missing parent", n)
	}
	if n := count(t, db, `SELECT COUNT(DISTINCT kind) FROM notes`); n != int64(len(account.NoteKinds)) {
		t.Errorf("%d note kinds", n)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM users WHERE role = 'csm'`); n < 8 || n > 10 {
		t.Errorf("%d CSMs", n)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM accounts a WHERE EXISTS (SELECT 1 FROM subscription_periods p WHERE p.account_id = a.account_id)
		AND NOT EXISTS (SELECT 1 FROM users u WHERE u.email = a.owner_email AND u.role = 'csm')`); n != 0 {
		t.Errorf("%d customers not owned by a CSM", n)
	}
	if lo, hi := count(t, db, `SELECT MIN(n) FROM (SELECT COUNT(*) AS n FROM contacts GROUP BY account_id) x`),
		count(t, db, `SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM contacts GROUP BY account_id) x`); lo < 1 || hi > 10 {
		t.Errorf("contacts per account %d–%d, want 1–10", lo, hi)
	}

	// Trial prospects: no subscription, the trial attributes, usage.
	trials := accountSet(t, db, `SELECT account_id FROM account_attributes WHERE name = 'lifecycle' AND value = 'trial'`)
	if int64(len(trials)) != truth.Counts.Prospects {
		t.Errorf("%d trial accounts, truth says %d", len(trials), truth.Counts.Prospects)
	}
	withUsage := 0
	used := accountSet(t, db, `SELECT DISTINCT account_id FROM events`)
	for id := range trials {
		if d.customers[id] != nil {
			t.Errorf("trial %s has a subscription", id)
		}
		if used[id] {
			withUsage++
		}
	}
	if withUsage < len(trials)/2 {
		t.Errorf("%d of %d trials have usage", withUsage, len(trials))
	}
	if n := count(t, db, `SELECT COUNT(DISTINCT value) FROM account_attributes WHERE name = 'trial_intent'`); n != 3 {
		t.Errorf("%d trial intents, want decided, undecided and browsing", n)
	}
	a, err := account.Get(ctx, db, sortedKeys(trials)[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Attributes["trial_started_at"].(time.Time); !ok {
		t.Errorf("trial_started_at = %#v, want a date", a.Attributes["trial_started_at"])
	}
	c, err := account.Get(ctx, db, d.order[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Attributes["seats"].(float64); !ok {
		t.Errorf("seats = %#v, want a number", c.Attributes["seats"])
	}
	if _, ok := c.Attributes["is_partner"].(bool); !ok {
		t.Errorf("is_partner = %#v, want a boolean", c.Attributes["is_partner"])
	}

	// Usage: raw events for the last 90 days only, every event name in the rollups.
	now := d.now
	if lo, hi := count(t, db, `SELECT MIN(ts) FROM events`)/86400, count(t, db, `SELECT MAX(ts) FROM events`)/86400; lo < now-90 || hi >= now {
		t.Errorf("raw events from day %d to %d, want within [%d, %d)", lo, hi, now-90, now)
	}
	if n := count(t, db, `SELECT COUNT(DISTINCT event) FROM usage_daily`); n != int64(len(truth.Usage.Events)) {
		t.Errorf("%d event names in the rollups, want %d", n, len(truth.Usage.Events))
	}
	if n := count(t, db, `SELECT COUNT(*) FROM usage_daily WHERE day < $1`, now-182-35); n == 0 {
		t.Error("no old onboarding usage")
	}

	// Surveys, tickets, feedback, costs.
	for kind, r := range map[string][2]int64{"nps": {0, 10}, "csat": {1, 5}} {
		if n := count(t, db, `SELECT COUNT(*) FROM survey_responses WHERE kind = $1`, kind); n == 0 {
			t.Errorf("no %s responses", kind)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM survey_responses WHERE kind = $1 AND (score < $2 OR score > $3)`, kind, r[0], r[1]); n != 0 {
			t.Errorf("%d %s scores out of range", n, kind)
		}
	}
	if n := count(t, db, `SELECT COUNT(*) FROM tickets WHERE closed_at IS NULL`); n == 0 {
		t.Error("no open tickets")
	}
	if n := count(t, db, `SELECT COUNT(DISTINCT category) FROM feedback`); n != 5 {
		t.Errorf("%d feedback categories", n)
	}
	if a, r := count(t, db, `SELECT COUNT(*) FROM costs WHERE kind = 'acquisition'`), count(t, db, `SELECT COUNT(*) FROM costs WHERE kind = 'retention'`); a < 36 || a != r {
		t.Errorf("%d acquisition and %d retention cost months", a, r)
	}
}

// checkRenewals: the current core period of a growth or enterprise customer
// ends on an anniversary of its subscription's start within a year of the
// anchor (a yearly contract, so the account has a renewal date); starter
// plans stay open, month to month. Anniversaries spread over the year, so
// about a quarter of the yearly contracts renew within 90 days.
func checkRenewals(t *testing.T, db *store.DB) {
	now := anchor.Unix()
	rows, err := db.Query(`SELECT p.plan, p.end_at, (SELECT MIN(f.start_at) FROM subscription_periods f WHERE f.subscription_id = p.subscription_id)
		FROM subscription_periods p WHERE p.product = $1 AND p.start_at <= $2 AND (p.end_at IS NULL OR p.end_at > $2)`, demo.CoreProduct, now)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	yearly, soon, starter := 0, 0, 0
	for rows.Next() {
		var plan string
		var end sql.NullInt64
		var first int64
		if err := rows.Scan(&plan, &end, &first); err != nil {
			t.Fatal(err)
		}
		if plan == "starter" {
			starter++
			if end.Valid {
				t.Errorf("a starter period ends on %s, want open", time.Unix(end.Int64, 0).UTC())
			}
			continue
		}
		yearly++
		if !end.Valid {
			t.Errorf("a current %s period is open, want a yearly term", plan)
			continue
		}
		e, f := time.Unix(end.Int64, 0).UTC(), time.Unix(first, 0).UTC()
		if y := e.Year() - f.Year(); !f.AddDate(y, 0, 0).Equal(e) || e.After(anchor.AddDate(1, 0, 0)) {
			t.Errorf("a %s term started %s ends %s: not the first anniversary after %s", plan, f, e, anchor)
		}
		if e.Before(anchor.AddDate(0, 0, 90)) {
			soon++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if share := float64(soon) / float64(yearly); starter == 0 || yearly < 100 || share < 0.15 || share > 0.35 {
		t.Errorf("%d starter and %d yearly current periods, %d (%.0f %%) renewing within 90 days; want some of each, 15-35 %% soon",
			starter, yearly, soon, 100*share)
	}
}

package program_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/program"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// The fixture's dates: a program starting on start with a 10-day
// pre-period and a 20-day post-period, analysed on now.
var (
	start = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now   = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
)

func day(offset int) int64 { return store.Day(start.Unix()) + int64(offset) }

// fixture is a small business: participants p1..p3 and x1, non-participants
// c1..c5, all paying 100 USD a month since 2025-01-01 except
//   - x1, which starts paying 5 days after the start (not a customer at it);
//   - p3, c2 and c3, which stop 15, 10 and 25 days after the start.
//
// Usage (event: count on a day relative to the start):
//   - logins on day −20: p1 10, p2 20, p3 30, c1 10, c2 21, c3 29, c4 10, c5 100;
//   - reports before the start: c4 5 on day −3 (so it is never matched to a
//     participant, none of which used reports before);
//   - reports after: p1 3 on day 2, p2 1 on day 3, c2 2 on day 4.
func fixture(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	ends := map[string]int{"p3": 15, "c2": 10, "c3": 25}
	logins := map[string]int64{"p1": 10, "p2": 20, "p3": 30, "c1": 10, "c2": 21, "c3": 29, "c4": 10, "c5": 100}
	reports := map[string][]usage.DailyCount{
		"c4": {{Day: day(-3), Event: "reports", Count: 5}},
		"p1": {{Day: day(2), Event: "reports", Count: 3}},
		"p2": {{Day: day(3), Event: "reports", Count: 1}},
		"c2": {{Day: day(4), Event: "reports", Count: 2}},
	}
	for _, id := range []string{"p1", "p2", "p3", "x1", "c1", "c2", "c3", "c4", "c5"} {
		if err := account.Upsert(ctx, db, account.Account{ID: id, Name: "Account " + id}); err != nil {
			t.Fatal(err)
		}
		p := billing.Period{SubscriptionID: "s_" + id, AccountID: id, Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			MRRMinor: 10000, Currency: "USD", Plan: "growth"}
		if id == "x1" {
			p.Start = start.AddDate(0, 0, 5)
		}
		if d, ok := ends[id]; ok {
			e := start.AddDate(0, 0, d)
			p.End = &e
		}
		if err := billing.UpsertPeriod(ctx, db, p); err != nil {
			t.Fatal(err)
		}
		counts := reports[id]
		if n := logins[id]; n > 0 {
			counts = append(counts, usage.DailyCount{Day: day(-20), Event: "login", Count: n})
		}
		if err := usage.AddRollups(ctx, db, id, counts, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func newProgram(id string) program.Program {
	return program.Program{ID: id, Name: "Reports seminar", Goal: "More reports users", Hypothesis: "Attendees adopt reports",
		Action: program.ActionSeminar, Start: start, PreDays: 10, PostDays: 20, Measures: []program.OutcomeMeasure{
			{Kind: program.MeasureAdoption, Feature: "reports"},
			{Kind: program.MeasureEvents, Feature: "reports"},
			{Kind: program.MeasureChurn, Days: 30},
		}}
}

func addHand(t *testing.T, db *store.DB, id string, accounts ...string) {
	t.Helper()
	var ps []program.Participant
	for _, a := range accounts {
		ps = append(ps, program.Participant{AccountID: a})
	}
	if _, err := program.AddParticipants(context.Background(), db, id, ps, "kei@example.com", now); err != nil {
		t.Fatal(err)
	}
}

// TestResultsMatched computes a program's results on the fixture, every
// number worked out by hand.
func TestResultsMatched(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		if _, err := program.Create(ctx, db, newProgram("seminar"), now); err != nil {
			t.Fatal(err)
		}
		addHand(t, db, "seminar", "p1", "p2", "p3", "x1")
		r, err := program.Compute(ctx, db, "seminar", now)
		if err != nil {
			t.Fatal(err)
		}
		// x1 was not paying at the start: left out. Matching is exact on
		// pre-period use of reports (c4 used it: out), then nearest on the
		// logarithms of the covariates; only the events of the 30 days
		// before the start differ (ARR and tenure are equal): p1 (10) takes
		// c1 (10), p2 (20) c2 (21, nearer than c3's 29), p3 (30) c3 (29);
		// c5 (100) is left.
		if r.Participants != 3 || r.NotCustomers != 1 || r.Control.Kind != program.ControlMatched || r.Control.Accounts != 3 ||
			r.Control.Unmatched != 0 {
			t.Fatalf("groups: %d participants, %d not customers, control %+v", r.Participants, r.NotCustomers, r.Control)
		}
		if !strings.HasPrefix(r.Control.Method, "matched on pre-period behaviour (exactly on pre-period use of reports, then nearest neighbour on") {
			t.Errorf("method %q", r.Control.Method)
		}
		if len(r.Measures) != 3 {
			t.Fatalf("%d measures", len(r.Measures))
		}

		// Adoption: participants 0 → 1 1 0, control 0 → 0 1 0. Every pre value
		// is 0, so the DiD is 2/3 − 1/3 = 1/3 with Newcombe's interval:
		// Wilson 2/3 [0.2076596, 0.9385081], 1/3 [0.0614919, 0.7923404];
		// lower 1/3 − sqrt(0.4590071² + 0.4590071²) = −0.3158007, upper
		// 1/3 + sqrt(0.2718414² + 0.2718414²) = 0.7177751.
		ad := r.Measures[0]
		if ad.DiD == nil || !near(ad.DiD.Effect, 1.0/3, 1e-9) || !near(ad.DiD.Low, -0.3158007, 5e-7) || !near(ad.DiD.High, 0.7177751, 5e-7) ||
			ad.Method != program.MethodDiDShares || !ad.Share {
			t.Errorf("adoption: %+v %+v", ad, ad.DiD)
		}
		if want := "no measurable effect yet on reports adoption (+33 points, 95% CI -32 to 72)"; ad.Verdict.Text != want || ad.Verdict.Code != program.VerdictNoEffect {
			t.Errorf("adoption verdict %+v, want %q", ad.Verdict, want)
		}

		// Events per 30 days over the 20-day post-period (× 1.5): participants
		// 4.5 1.5 0 (Δ mean 2, variance (2.5² + 0.5² + 2²)/2 = 5.25), control
		// 0 3 0 (Δ mean 1, variance (1 + 4 + 1)/2 = 3). DiD = 1, SE =
		// sqrt(5.25/3 + 3/3) = 1.6583124, CI 1 ± 3.2502326.
		ev := r.Measures[1]
		if ev.DiD == nil || !near(ev.DiD.Effect, 1, 1e-9) || !near(ev.DiD.StdErr, 1.6583124, 5e-7) || !near(ev.DiD.Low, -2.2502326, 5e-7) ||
			ev.Method != program.MethodDiD {
			t.Errorf("events: %+v %+v", ev, ev.DiD)
		}
		if want := "no measurable effect yet on reports events per account per 30 days (+1.0, 95% CI -2.3 to 4.3)"; ev.Verdict.Text != want {
			t.Errorf("events verdict %q, want %q", ev.Verdict.Text, want)
		}

		// Churn within 30 days: participants p3 of 3, control c2 and c3 of 3:
		// 1/3 − 2/3 = −1/3, the mirror of the adoption interval.
		ch := r.Measures[2]
		if ch.Risk == nil || ch.Risk.TreatedEvents != 1 || ch.Risk.ControlEvents != 2 || !near(ch.Risk.Low, -0.7177751, 5e-7) ||
			!near(ch.Risk.High, 0.3158007, 5e-7) || ch.Method != program.MethodRiskDiff {
			t.Errorf("churn: %+v %+v", ch, ch.Risk)
		}
		if want := "no measurable effect yet on churn within 30 days (-33 points, 95% CI -72 to 32)"; ch.Verdict.Text != want {
			t.Errorf("churn verdict %q, want %q", ch.Verdict.Text, want)
		}

		// Before the post-period ends the usage measures take the days so far
		// and churn is pending.
		early, err := program.Compute(ctx, db, "seminar", start.AddDate(0, 0, 10))
		if err != nil {
			t.Fatal(err)
		}
		if !early.Measures[0].Partial || early.Measures[2].Verdict.Code != program.VerdictPending ||
			early.Measures[2].Verdict.Text != "too early to measure churn within 30 days: its window ends on 2026-03-31" {
			t.Errorf("early: %+v / %+v", early.Measures[0], early.Measures[2].Verdict)
		}
	})
}

// TestResultsHoldout: a program naming a playbook compares with the
// playbook's holdout, and takes the accounts it acted on as participants.
func TestResultsHoldout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		if _, _, err := playbook.Save(ctx, db, playbook.Playbook{ID: "nudge", Name: "Nudge", Enabled: true, HoldoutShare: 0.5,
			Trigger: playbook.Trigger{Type: "rule", Condition: "health_score < 40"},
			Actions: []playbook.Action{{Type: playbook.ActionTask, Title: "Call"}}}, now); err != nil {
			t.Fatal(err)
		}
		// The enrollments the playbook's stage would have written: p1, p2
		// acted on, c3 and c5 held out in the window; c1 held out before it.
		for i, e := range []struct {
			id      string
			at      int
			holdout int
		}{{"p1", 1, 0}, {"p2", 2, 0}, {"c3", 1, 1}, {"c5", 3, 1}, {"c1", -5, 1}} {
			if _, err := db.ExecContext(ctx, `INSERT INTO enrollments (enrollment_id, playbook_id, account_id, fired_at, holdout, reason)
				VALUES ($1, 'nudge', $2, $3, $4, '')`, "e"+string(rune('a'+i)), e.id, start.AddDate(0, 0, e.at).Unix()+3600, e.holdout); err != nil {
				t.Fatal(err)
			}
		}
		p := newProgram("nudge-calls")
		p.Action, p.PlaybookID = program.ActionPlaybook, "nudge"
		created, err := program.Create(ctx, db, p, now)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := program.FromPlaybook(ctx, db, created)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 2 || ps[0].AccountID != "p1" || ps[1].AccountID != "p2" || ps[0].Source != program.SourcePlaybook ||
			!ps[1].Joined.Equal(start.AddDate(0, 0, 2)) {
			t.Fatalf("from playbook: %+v", ps)
		}
		if _, err := program.AddParticipants(ctx, db, "nudge-calls", ps, "kei@example.com", now); err != nil {
			t.Fatal(err)
		}
		r, err := program.Compute(ctx, db, "nudge-calls", now)
		if err != nil {
			t.Fatal(err)
		}
		if r.Control.Kind != program.ControlHoldout || r.Control.Accounts != 2 || r.Participants != 2 {
			t.Fatalf("control %+v, %d participants", r.Control, r.Participants)
		}
		// Adoption: participants p1, p2 both adopt (2/2), holdout c3, c5 none
		// (0/2): 1 − 0 = 1; Wilson 2/2 [0.3423802, 1], 0/2 [0, 0.6576198]:
		// lower 1 − sqrt(0.6576198² + 0.6576198²) = 1 − 0.9300148 = 0.0699852, upper 1.
		ad := r.Measures[0]
		if ad.DiD == nil || !near(ad.DiD.Effect, 1, 1e-9) || !near(ad.DiD.Low, 0.0699852, 5e-7) || !near(ad.DiD.High, 1, 1e-9) {
			t.Errorf("adoption %+v", ad.DiD)
		}
		if want := "reports adoption +100 points, 95% CI 7 to 100"; ad.Verdict.Text != want || ad.Verdict.Code != program.VerdictIncrease {
			t.Errorf("verdict %+v, want %q", ad.Verdict, want)
		}
	})
}

// TestPrograms covers storing programs and participants and their errors.
func TestPrograms(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		p := newProgram("seminar")
		p.Measures = append(p.Measures, program.OutcomeMeasure{Kind: program.MeasureChurn})
		got, err := program.Create(ctx, db, p, now)
		if err != nil {
			t.Fatal(err)
		}
		// A churn measure without days takes the post-period's.
		if got.Measures[3].Days != 20 || !got.Start.Equal(start) || got.PreDays != 10 || got.Participants != 0 || !got.CreatedAt.Equal(now) {
			t.Errorf("created %+v", got)
		}
		if _, err := program.Create(ctx, db, p, now); !errors.Is(err, program.ErrExists) {
			t.Errorf("second create: %v", err)
		}
		got.Name, got.PostDays = "Reports seminar (June)", 30
		up, err := program.Update(ctx, db, got, now.Add(time.Hour))
		if err != nil || up.Name != "Reports seminar (June)" || up.PostDays != 30 || !up.UpdatedAt.Equal(now.Add(time.Hour)) {
			t.Errorf("update: %+v %v", up, err)
		}
		missing := newProgram("nope")
		if _, err := program.Update(ctx, db, missing, now); !errors.Is(err, program.ErrNotFound) {
			t.Errorf("update missing: %v", err)
		}

		n, err := program.AddParticipants(ctx, db, "seminar", []program.Participant{{AccountID: "p1"}, {AccountID: "p2", Source: program.SourceImport}}, "kei@example.com", now)
		if err != nil || n != 2 {
			t.Fatalf("add: %d %v", n, err)
		}
		// p1 again keeps its first record; an unknown account refuses the batch.
		if n, err := program.AddParticipants(ctx, db, "seminar", []program.Participant{{AccountID: "p1", Source: program.SourceImport}, {AccountID: "p3"}}, "", now); err != nil || n != 1 {
			t.Errorf("add again: %d %v", n, err)
		}
		var ve *program.ValidationError
		if _, err := program.AddParticipants(ctx, db, "seminar", []program.Participant{{AccountID: "c1"}, {AccountID: "ghost"}}, "", now); !errors.As(err, &ve) ||
			ve.Field != "participants[1].account_id" || ve.Message != `no account "ghost"` {
			t.Errorf("unknown account: %v", err)
		}
		list, err := program.Participants(ctx, db, "seminar")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range list {
			ids = append(ids, p.AccountID+":"+p.Source)
		}
		if !slices.Equal(ids, []string{"p1:hand", "p2:import", "p3:hand"}) || !list[0].Joined.Equal(start) || list[0].AddedBy != "kei@example.com" {
			t.Errorf("participants %v %+v", ids, list[0])
		}
		if n, err := program.RemoveParticipants(ctx, db, "seminar", []string{"p2", "c5"}); err != nil || n != 1 {
			t.Errorf("remove: %d %v", n, err)
		}
		all, err := program.List(ctx, db)
		if err != nil || len(all) != 1 || all[0].Participants != 2 {
			t.Errorf("list %+v %v", all, err)
		}
		if err := program.Delete(ctx, db, "seminar"); err != nil {
			t.Fatal(err)
		}
		if _, err := program.Get(ctx, db, "seminar"); !errors.Is(err, program.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
		if list, err := program.Participants(ctx, db, "seminar"); err != nil || len(list) != 0 {
			t.Errorf("participants after delete: %v %v", list, err)
		}
	})
}

// TestValidate names the field and the reason of each bad program.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(p *program.Program)
		field  string
	}{
		{"no id", func(p *program.Program) { p.ID = " " }, "id"},
		{"slash in id", func(p *program.Program) { p.ID = "a/b" }, "id"},
		{"no name", func(p *program.Program) { p.Name = "" }, "name"},
		{"action", func(p *program.Program) { p.Action = "party" }, "action"},
		{"no start", func(p *program.Program) { p.Start = time.Time{} }, "start_date"},
		{"pre too long", func(p *program.Program) { p.PreDays = 400 }, "pre_days"},
		{"post too long", func(p *program.Program) { p.PostDays = 1000 }, "post_days"},
		{"no measures", func(p *program.Program) { p.Measures = nil }, "measures"},
		{"bad kind", func(p *program.Program) { p.Measures[1].Kind = "nps" }, "measures[1].kind"},
		{"adoption without feature", func(p *program.Program) { p.Measures[0].Feature = "" }, "measures[0].feature"},
		{"churn with feature", func(p *program.Program) { p.Measures[2].Feature = "reports" }, "measures[2].feature"},
		{"days on adoption", func(p *program.Program) { p.Measures[0].Days = 30 }, "measures[0].days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProgram("x")
			tc.change(&p)
			p.Normalize()
			var ve *program.ValidationError
			if err := program.Validate(p); !errors.As(err, &ve) || ve.Field != tc.field || ve.Message == "" {
				t.Errorf("got %v, want an error on %s", err, tc.field)
			}
		})
	}
	p := newProgram("x")
	p.Normalize()
	if err := program.Validate(p); err != nil {
		t.Errorf("a good program: %v", err)
	}
}

// TestParseCSV reads participants and names the line of a bad one.
func TestParseCSV(t *testing.T) {
	ps, err := program.ParseCSV(strings.NewReader("\ufeffAccount_ID,joined_date,source\np1,2026-03-02,\np2,,hand\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].AccountID != "p1" || ps[0].Source != program.SourceImport || !ps[0].Joined.Equal(start.AddDate(0, 0, 1)) ||
		ps[1].Source != program.SourceHand || !ps[1].Joined.IsZero() {
		t.Errorf("parsed %+v", ps)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "file: empty: want a header row with account_id"},
		{"id,name\na,b\n", "file: line 1: no account_id column (the header has id, name)"},
		{"account_id\n", "file: no rows after the header"},
		{"account_id,joined_date\np1,03/02/2026\n", `file: line 2: joined_date "03/02/2026" is not a date (YYYY-MM-DD)`},
		{"account_id,joined_date\np1,2026-03-01\n,2026-03-01\n", "file: line 3: account_id is empty"},
	} {
		if _, err := program.ParseCSV(strings.NewReader(tc.in)); err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

// TestMatch pairs on a tiny fixture: exact on the key, nearest on the
// standardised covariates, one to one, in id order.
func TestMatch(t *testing.T) {
	treated := []program.Unit{
		{ID: "t3", Key: "0", X: []float64{0, 5}},
		{ID: "t1", Key: "0", X: []float64{0, 5}},
		{ID: "t2", Key: "1", X: []float64{3, 1}},
		{ID: "t4", Key: "2", X: []float64{3, 1}},
	}
	pool := []program.Unit{
		{ID: "c1", Key: "0", X: []float64{0, 4.5}},
		{ID: "c2", Key: "1", X: []float64{3, 1.2}},
		{ID: "c3", Key: "0", X: []float64{10, 10}},
		{ID: "c4", Key: "1", X: []float64{0, 5}}, // identical to t1 but of another key
		{ID: "c5", Key: "0", X: []float64{1, 6}},
	}
	got := program.Match(treated, pool)
	// t1 chooses first (id order) and takes c1, the nearest; t3, identical,
	// takes the next nearest left, c5 (distance (1, 1) against c3's (10, 5)
	// before scaling); t2 takes c2; t4 has no unit of its key.
	want := map[string]string{"t1": "c1", "t3": "c5", "t2": "c2"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s matched %s, want %s (all %v)", k, got[k], v, got)
		}
	}
	if got := program.Match(treated, nil); len(got) != 0 {
		t.Errorf("empty pool: %v", got)
	}
	// A covariate with no spread is ignored rather than dividing by 0.
	flat := program.Match([]program.Unit{{ID: "a", X: []float64{1, 2}}}, []program.Unit{{ID: "b", X: []float64{1, 9}}, {ID: "c", X: []float64{1, 3}}})
	if flat["a"] != "c" {
		t.Errorf("flat covariate: %v", flat)
	}
}

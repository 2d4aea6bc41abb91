package playbook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/task"
)

var t0 = time.Date(2024, 6, 30, 12, 0, 0, 0, time.UTC)

// seed creates accounts by id, with owners (empty: none).
func seed(t testing.TB, db *store.DB, owners map[string]string) {
	t.Helper()
	ids := make([]string, 0, len(owners))
	for id := range owners {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for start := 0; start < len(ids); start += 100 {
		part := ids[start:min(start+100, len(ids))]
		var b strings.Builder
		var args []any
		b.WriteString(`INSERT INTO accounts (account_id, name, owner_email, recorded_at, updated_at) VALUES `)
		for i, id := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + store.Placeholders(len(args)+1, 5) + ")")
			var owner any
			if owners[id] != "" {
				owner = owners[id]
			}
			args = append(args, id, strings.ToUpper(id), owner, 0, 0)
		}
		if _, err := db.ExecContext(context.Background(), b.String(), args...); err != nil {
			t.Fatal(err)
		}
	}
}

func save(t testing.TB, db *store.DB, p playbook.Playbook) {
	t.Helper()
	p.Enabled = true
	if _, _, err := playbook.Save(context.Background(), db, p, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// run builds a stage and applies it to snaps at at.
func run(t *testing.T, db *store.DB, at time.Time, snaps ...snapshot.Snapshot) playbook.Stats {
	t.Helper()
	ctx := context.Background()
	st, err := playbook.NewStage(ctx, db, playbook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Skipped) > 0 {
		t.Fatalf("skipped: %v", st.Skipped)
	}
	if err := st.Apply(ctx, db, at, snaps); err != nil {
		t.Fatal(err)
	}
	return st.Stats()
}

func snap(id, owner string, score float64) snapshot.Snapshot {
	return snapshot.Snapshot{AccountID: id, Name: strings.ToUpper(id), Owner: owner, HealthScore: score, DaysToRenewal: -1}
}

func tasksOf(t *testing.T, db *store.DB, pb string) []task.Task {
	t.Helper()
	ts, err := task.List(context.Background(), db, task.Filter{PlaybookID: pb, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func finish(t *testing.T, db *store.DB, id string) {
	t.Helper()
	if _, _, err := task.Update(context.Background(), db, id, task.Change{Status: ptr(task.Done), Outcome: ptr("success")}, t0); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

var callTask = playbook.Action{Type: playbook.ActionTask, Title: "Call {{.Account.Name}} ({{.Reason}})", DueInDays: 3}

// TestRuleFiresOnTransition: a rule trigger fires when its condition turns
// true, not on every recompute while it stays true; and again after it
// was false.
func TestRuleFiresOnTransition(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db, map[string]string{"a": "kei@example.com", "b": "kei@example.com", "c": ""})
		if _, err := db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('playbook_fallback_assignee', 'lead@example.com')`); err != nil {
			t.Fatal(err)
		}
		save(t, db, playbook.Playbook{ID: "low", Name: "Low health", Trigger: playbook.Trigger{Type: "rule", Condition: "health_score < 40"},
			Actions: []playbook.Action{callTask}})

		st := run(t, db, t0, snap("a", "kei@example.com", 30), snap("b", "kei@example.com", 80), snap("c", "", 20))
		ts := tasksOf(t, db, "low")
		if st.Fired != 2 || len(ts) != 2 {
			t.Fatalf("round 1: %+v, %d tasks", st, len(ts))
		}
		byAccount := map[string]task.Task{}
		for _, tk := range ts {
			byAccount[tk.AccountID] = tk
		}
		a, c := byAccount["a"], byAccount["c"]
		if a.Title != "Call A (rule: health_score < 40)" || a.Assignee != "kei@example.com" || a.Status != task.Open ||
			a.DueAt == nil || !a.DueAt.Equal(t0.AddDate(0, 0, 3)) || a.CreatedBy != "playbook:low" {
			t.Errorf("a's task: %+v", a)
		}
		if c.Assignee != "lead@example.com" {
			t.Errorf("c (no owner) assigned to %q, want the fallback", c.Assignee)
		}
		// Round 2: a's task is done, a is still low: no new firing.
		finish(t, db, a.ID)
		finish(t, db, c.ID)
		if st := run(t, db, t0.Add(24*time.Hour), snap("a", "kei@example.com", 25), snap("b", "", 80), snap("c", "", 20)); st.Fired != 0 || st.Suppressed != 0 {
			t.Errorf("round 2 (still true): %+v", st)
		}
		// Round 3: a recovers; round 4: a drops again: fires again.
		run(t, db, t0.Add(48*time.Hour), snap("a", "kei@example.com", 60), snap("c", "", 20))
		if st := run(t, db, t0.Add(72*time.Hour), snap("a", "kei@example.com", 35), snap("c", "", 20)); st.Fired != 1 {
			t.Errorf("round 4 (true again): %+v", st)
		}
		if n := len(tasksOf(t, db, "low")); n != 3 {
			t.Errorf("%d tasks, want 3", n)
		}
		es, err := playbook.Enrollments(ctx, db, playbook.EnrollmentFilter{PlaybookID: "low"})
		if err != nil || len(es) != 3 || es[0].AccountID != "a" || !es[0].FiredAt.Equal(t0.Add(72*time.Hour)) || es[0].TaskID == "" || es[0].Holdout {
			t.Errorf("enrollments %+v (%v)", es, err)
		}
	})
}

// TestDeduplicationAndCooldown: no firing while the playbook's task for the
// account is open, nor within cooldown_days of the last firing.
func TestDeduplicationAndCooldown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db, map[string]string{"a": "kei@example.com"})
		save(t, db, playbook.Playbook{ID: "dedup", Name: "Dedup", Trigger: playbook.Trigger{Type: "rule", Condition: "health_score < 40"},
			Actions: []playbook.Action{callTask}})
		save(t, db, playbook.Playbook{ID: "cool", Name: "Cooldown", CooldownDays: 10,
			Trigger: playbook.Trigger{Type: "rule", Condition: "health_score < 40"}, Actions: []playbook.Action{callTask}})
		day := func(d int) time.Time { return t0.AddDate(0, 0, d) }
		low, high := snap("a", "kei@example.com", 10), snap("a", "kei@example.com", 90)

		for _, step := range []struct {
			day            int
			s              snapshot.Snapshot
			finish         bool // finish the open tasks before the step
			dedup, cool    int  // tasks of each playbook after the step
			suppressedWant int
		}{
			{0, low, false, 1, 1, 0},
			{1, high, false, 1, 1, 0},
			{2, low, false, 1, 1, 2}, // dedup: its task is open; cool: its task is open too
			{3, high, true, 1, 1, 0},
			{4, low, false, 2, 1, 1}, // dedup fires (task done); cool is within 10 days of day 0
			{5, high, true, 2, 1, 0},
			{11, low, false, 3, 2, 0}, // day 11 > day 0 + 10
		} {
			if step.finish {
				for _, pb := range []string{"dedup", "cool"} {
					for _, tk := range tasksOf(t, db, pb) {
						if tk.Status == task.Open {
							finish(t, db, tk.ID)
						}
					}
				}
			}
			st := run(t, db, day(step.day), step.s)
			if d, c := len(tasksOf(t, db, "dedup")), len(tasksOf(t, db, "cool")); d != step.dedup || c != step.cool || st.Suppressed != step.suppressedWant {
				t.Errorf("day %d: dedup %d tasks, cool %d tasks, suppressed %d; want %d, %d, %d", step.day, d, c, st.Suppressed,
					step.dedup, step.cool, step.suppressedWant)
			}
		}
	})
}

// TestHoldout: holdout members are recorded with no task; the share drawn
// over 1,000 accounts is about the configured one.
func TestHoldout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owners := map[string]string{}
		var snaps []snapshot.Snapshot
		for i := range 1000 {
			id := fmt.Sprintf("acc%04d", i)
			owners[id] = "kei@example.com"
			snaps = append(snaps, snap(id, "kei@example.com", 10))
		}
		seed(t, db, owners)
		for _, share := range []float64{0, 0.3, 1} {
			save(t, db, playbook.Playbook{ID: fmt.Sprintf("h%v", share), Name: "Holdout", HoldoutShare: share,
				Trigger: playbook.Trigger{Type: "rule", Condition: "health_score < 40"}, Actions: []playbook.Action{callTask,
					{Type: playbook.ActionWebhook, URL: "https://hooks.example.com/x", Secret: "s"}}})
		}
		st := run(t, db, t0, snaps...)
		for _, tc := range []struct {
			share    float64
			min, max int // holdouts
		}{
			{0, 0, 0},
			{0.3, 255, 345}, // 300 ± 3 standard deviations (√(1000·0.3·0.7) ≈ 14.5)
			{1, 1000, 1000},
		} {
			pb := fmt.Sprintf("h%v", tc.share)
			es, err := playbook.Enrollments(ctx, db, playbook.EnrollmentFilter{PlaybookID: pb, Holdout: ptr(true), Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, s := range snaps {
				if tc.share > 0 && playbook.Draw(pb, s.AccountID, t0) < tc.share {
					want++
				}
			}
			if len(es) != want || len(es) < tc.min || len(es) > tc.max {
				t.Errorf("share %v: %d holdouts, want %d (in %d..%d)", tc.share, len(es), want, tc.min, tc.max)
			}
			ts := tasksOf(t, db, pb)
			if len(ts) != 1000-len(es) {
				t.Errorf("share %v: %d tasks for %d treated", tc.share, len(ts), 1000-len(es))
			}
			withTask := map[string]bool{}
			for _, tk := range ts {
				withTask[tk.AccountID] = true
			}
			for _, e := range es {
				if withTask[e.AccountID] || e.TaskID != "" {
					t.Errorf("share %v: holdout member %s has a task", tc.share, e.AccountID)
					break
				}
			}
			ds, err := notify.List(ctx, db, notify.Filter{PlaybookID: pb, Limit: 1000})
			if err != nil || len(ds) != 1000-len(es) {
				t.Errorf("share %v: %d webhooks for %d treated (%v)", tc.share, len(ds), 1000-len(es), err)
			}
		}
		if st.Holdout+st.Fired != 3000 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestEventTriggers: a new detractor NPS answer or failed payment since the
// last evaluation fires once.
func TestEventTriggers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db, map[string]string{"a": "kei@example.com", "b": "kei@example.com", "c": "kei@example.com"})
		save(t, db, playbook.Playbook{ID: "nps", Name: "Detractor", Trigger: playbook.Trigger{Type: "nps_detractor"},
			Actions: []playbook.Action{{Type: playbook.ActionTask, Title: "Follow up: {{.Reason}}"}}})
		save(t, db, playbook.Playbook{ID: "pay", Name: "Payment", Trigger: playbook.Trigger{Type: "payment_failed"},
			Actions: []playbook.Action{{Type: playbook.ActionTask, Title: "Dunning"}}})
		answer := func(id, acct string, score int, at time.Time) {
			t.Helper()
			if _, err := db.ExecContext(ctx, `INSERT INTO survey_responses (response_id, account_id, survey, kind, score, answered_at, recorded_at, updated_at)
				VALUES ($1, $2, 'q2', 'nps', $3, $4, 0, 0)`, id, acct, score, at.Unix()); err != nil {
				t.Fatal(err)
			}
		}
		answer("r1", "a", 3, t0.Add(-48*time.Hour))    // new: fires
		answer("r2", "b", 2, t0.Add(-10*24*time.Hour)) // before the first look-back of 7 days
		answer("r3", "c", 9, t0.Add(-time.Hour))       // a promoter
		if _, err := db.ExecContext(ctx, `INSERT INTO payment_events (account_id, invoice_id, kind, amount_minor, currency, at, recorded_at)
			VALUES ('c', 'in_1', 'failed', 5000, 'USD', $1, 0), ('b', 'in_2', 'paid', 5000, 'USD', $1, 0)`, t0.Add(-time.Hour).Unix()); err != nil {
			t.Fatal(err)
		}
		all := []snapshot.Snapshot{snap("a", "kei@example.com", 50), snap("b", "kei@example.com", 50), snap("c", "kei@example.com", 50)}
		run(t, db, t0, all...)
		nps, pay := tasksOf(t, db, "nps"), tasksOf(t, db, "pay")
		if len(nps) != 1 || nps[0].AccountID != "a" || nps[0].Title != "Follow up: NPS detractor answer on 2024-06-28" {
			t.Errorf("nps tasks %+v", nps)
		}
		if len(pay) != 1 || pay[0].AccountID != "c" {
			t.Errorf("payment tasks %+v", pay)
		}
		finish(t, db, nps[0].ID)
		// Nothing new: nothing fires again.
		if st := run(t, db, t0.Add(time.Hour), all...); st.Fired != 0 {
			t.Errorf("second run fired %+v", st)
		}
		// A new detractor for b, and a partial recompute of b alone fires it.
		answer("r4", "b", 6, t0.Add(90*time.Minute))
		answer("r5", "a", 0, t0.Add(90*time.Minute))
		st, err := playbook.NewStage(ctx, db, playbook.Options{Partial: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Apply(ctx, db, t0.Add(2*time.Hour), all[1:2]); err != nil {
			t.Fatal(err)
		}
		if n := len(tasksOf(t, db, "nps")); n != 2 {
			t.Errorf("after b's partial recompute: %d nps tasks, want 2", n)
		}
		// The full recompute after it still finds a's new answer (the
		// partial run did not move the evaluation time), and not b's again.
		if st := run(t, db, t0.Add(3*time.Hour), all...); st.Fired != 1 {
			t.Errorf("full run after the partial one: %+v, want 1 firing (a)", st)
		}
	})
}

// TestActions renders every kind of action for a band change, narrowed by a filter.
func TestActions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db, map[string]string{"a": "kei@example.com", "b": "kei@example.com", "c": "kei@example.com"})
		if _, err := db.ExecContext(ctx, `INSERT INTO contacts (contact_id, account_id, email, role, recorded_at, updated_at) VALUES
			('k1', 'a', 'pay@a.example', 'billing', 0, 0), ('k2', 'a', 'cto@a.example', 'technical', 0, 0), ('k3', 'a', 'ap@a.example', 'Billing', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		save(t, db, playbook.Playbook{ID: "red", Name: "Turned red", Filter: "arr >= 10000",
			Trigger: playbook.Trigger{Type: "health_band", Band: "red"},
			Actions: []playbook.Action{
				{Type: "email", To: "owner", Subject: "{{.Account.Name}} turned red", Body: "Task {{.Task.Title}} is due {{.Task.DueAt.Format \"2006-01-02\"}}."},
				{Type: "task", Title: "Call {{.Account.Name}}", DueInDays: 2, Priority: "high"},
				{Type: "email", To: "contacts", ContactRole: "billing", Subject: "Can we help?", Body: "Hello from {{.Playbook.Name}}"},
				{Type: "webhook", URL: "https://hooks.example.com/kizuna", Secret: "s3cret"},
				{Type: "slack", URL: "https://hooks.slack.com/services/T/B/X", Text: "{{.Account.Name}}: {{.Reason}} (ARR {{printf \"%.0f\" .Account.ARR}})"},
			}})
		mk := func(id string, arr float64, band, prev string) snapshot.Snapshot {
			s := snap(id, "kei@example.com", 30)
			s.ARR, s.HealthBand, s.HealthBandPrevious = arr, band, prev
			return s
		}
		var enqueued []string
		st, err := playbook.NewStage(ctx, db, playbook.Options{Enqueue: func(_ context.Context, _ store.Querier, ids []string) error {
			enqueued = append(enqueued, ids...)
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		err = st.Apply(ctx, db, t0, []snapshot.Snapshot{mk("a", 12000, "red", "yellow"), mk("b", 5000, "red", "yellow"), mk("c", 50000, "red", "red")})
		if err != nil {
			t.Fatal(err)
		}
		ts := tasksOf(t, db, "red")
		if len(ts) != 1 || ts[0].AccountID != "a" || ts[0].Title != "Call A" || ts[0].Priority != "high" {
			t.Fatalf("tasks %+v", ts)
		}
		ds, err := notify.List(ctx, db, notify.Filter{PlaybookID: "red"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]notify.Delivery{}
		for _, d := range ds {
			got[d.Kind+":"+d.Target] = d
		}
		if len(ds) != 4 || len(enqueued) != 4 {
			t.Fatalf("%d deliveries, %d enqueued: %+v", len(ds), len(enqueued), ds)
		}
		if d := got["email:kei@example.com"]; d.Subject != "A turned red" || d.Body != "Task Call A is due 2024-07-02." {
			t.Errorf("owner email %+v", d)
		}
		if d := got["email:pay@a.example, ap@a.example"]; d.Body != "Hello from Turned red" {
			t.Errorf("contacts email: %+v", ds)
		}
		if d := got["slack:https://hooks.slack.com/services/T/B/X"]; d.Body != `{"text":"A: health band yellow → red (ARR 12000)"}` {
			t.Errorf("slack %q", d.Body)
		}
		wh := got["webhook:https://hooks.example.com/kizuna"]
		var p playbook.WebhookPayload
		if err := json.Unmarshal([]byte(wh.Body), &p); err != nil || wh.Secret != "s3cret" {
			t.Fatalf("webhook %+v: %v", wh, err)
		}
		if p.Event != "playbook.fired" || p.Playbook.ID != "red" || p.Account.AccountID != "a" || p.Account.ARR != 12000 ||
			p.Task == nil || p.Task.ID != ts[0].ID || !p.FiredAt.Equal(t0) {
			t.Errorf("payload %+v", p)
		}
	})
}

func TestValidate(t *testing.T) {
	base := func() playbook.Playbook {
		return playbook.Playbook{ID: "p", Name: "P", Trigger: playbook.Trigger{Type: "rule", Condition: "health_score < 40"},
			Actions: []playbook.Action{{Type: "task", Title: "Call"}}}
	}
	for _, tc := range []struct {
		name   string
		change func(p *playbook.Playbook)
		want   []playbook.Problem
	}{
		{"valid", func(p *playbook.Playbook) {}, nil},
		{"a rule with a typo", func(p *playbook.Playbook) { p.Trigger.Condition = "arr > 1000 && helth_score < 40" },
			[]playbook.Problem{{Field: "trigger.condition", Line: 1, Column: 15, Message: "unknown name helth_score (did you mean health_score?)"}}},
		{"a filter that is not a condition", func(p *playbook.Playbook) { p.Filter = "arr + 1" },
			[]playbook.Problem{{Field: "filter", Line: 1, Column: 1, Message: "expected bool, but got float64"}}},
		{"a template that does not parse", func(p *playbook.Playbook) { p.Actions[0].Title = "Call\n{{.Account.Name}" },
			[]playbook.Problem{{Field: "actions[0].title", Line: 2, Message: "bad character U+007D '}'", Snippet: "{{.Account.Name}"}}},
		{"a template with a misspelt field", func(p *playbook.Playbook) { p.Actions[0].Title = "Call {{.Account.Nmae}}" },
			[]playbook.Problem{{Field: "actions[0].title", Line: 1, Column: 15, Message: `<.Account.Nmae>: can't evaluate field Nmae in type snapshot.Snapshot`, Snippet: "Call {{.Account.Nmae}}"}}},
		{"bad holdout, cooldown and trigger", func(p *playbook.Playbook) {
			p.HoldoutShare, p.CooldownDays, p.Trigger = 1.5, -1, playbook.Trigger{Type: "renewal_in_days"}
		}, []playbook.Problem{
			{Field: "cooldown_days", Message: "must not be negative"},
			{Field: "holdout_share", Message: "1.5 is not between 0 and 1 (0.1 keeps 10% of the firings as a control group)"},
			{Field: "trigger.days", Message: "required: a number of days above 0"},
		}},
		{"bad actions", func(p *playbook.Playbook) {
			p.Actions = []playbook.Action{{Type: "email", To: "the boss", Subject: "x", Body: "y"}, {Type: "webhook", URL: "ftp://x"}, {Type: "sms"}}
		}, []playbook.Problem{
			{Field: "actions[0].to", Message: `"the boss": want owner, contacts, or an email address`},
			{Field: "actions[1].url", Message: "want an http or https URL"},
			{Field: "actions[1].secret", Message: "required: the receiver checks the Kizuna-Signature header with it"},
			{Field: "actions[2].type", Message: `"sms": want one of task, email, webhook, slack`},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.change(&p)
			got := playbook.Validate(&p)
			for i := range got {
				if tc.want != nil && i < len(tc.want) && tc.want[i].Snippet == "" {
					got[i].Snippet = ""
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSaveKeepsMaskedSecrets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := playbook.Playbook{ID: "w", Name: "W", Enabled: true, Trigger: playbook.Trigger{Type: "onboarding_overdue"},
			Actions: []playbook.Action{{Type: "webhook", URL: "https://x.example/h", Secret: "s3cret"}, {Type: "slack", URL: "https://hooks.slack.com/services/T/B/X", Text: "hi"}}}
		if _, _, err := playbook.Save(ctx, db, p, t0); err != nil {
			t.Fatal(err)
		}
		stored, _ := playbook.Get(ctx, db, "w")
		m := stored.Masked()
		if m.Actions[0].Secret != playbook.Mask || m.Actions[1].URL != playbook.Mask || stored.Actions[0].Secret != "s3cret" {
			t.Fatalf("masked %+v", m.Actions)
		}
		m.Name = "Renamed"
		before, after, err := playbook.Save(ctx, db, m, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if before == nil || after.Name != "Renamed" || after.Actions[0].Secret != "s3cret" || after.Actions[1].URL != "https://hooks.slack.com/services/T/B/X" ||
			!after.CreatedAt.Equal(t0) || !after.UpdatedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("after saving the masked copy: %+v", after)
		}
		_, _, err = playbook.Save(ctx, db, playbook.Playbook{ID: "bad", Name: "B", Trigger: playbook.Trigger{Type: "rule", Condition: "ar > 1"}}, t0)
		if err == nil || !strings.Contains(err.Error(), "trigger.condition: line 1, column 1: unknown name ar") {
			t.Errorf("save of a bad playbook: %v", err)
		}
	})
}

func TestTemplateFunctions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db, map[string]string{"a": ""})
		save(t, db, playbook.Playbook{ID: "f", Name: "F", Trigger: playbook.Trigger{Type: "usage_drop", Percent: 30},
			Actions: []playbook.Action{{Type: "task", DueInDays: 7, Title: "{{.Account.Name}} usage {{percent .Account.UsageTrend}}", Description: "due {{date .Task.DueAt}}"}}})
		s := snap("a", "", 50)
		s.UsageTrend = -0.456
		run(t, db, t0, s)
		ts := tasksOf(t, db, "f")
		// The task's own templates see no task yet: date of a nil due date is empty.
		if len(ts) != 1 || ts[0].Title != "A usage -46%" || ts[0].Description != "due " || ts[0].Assignee != "" {
			t.Errorf("tasks %+v", ts)
		}
	})
}

package health_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func ptr[T any](v T) *T { return &v }

// testModel: seat use (linear, weight 2), NPS inverted (weight 1, only with
// an answer) and tenure (thresholds, weight 1).
func testModel() health.Model {
	return health.Model{ID: "default", Name: "Default", Measures: []health.Measure{
		{Name: "Seats", Field: "seat_utilization", Linear: &health.Linear{From: 0.1, To: 0.5}, Weight: 2},
		{Name: "NPS", Field: "last_nps", Linear: &health.Linear{From: 10, To: 0}, Weight: 1, When: "has_nps"},
		{Name: "Tenure", Field: "tenure_days", Thresholds: []health.Threshold{{Min: 0, Score: 20}, {Min: 90, Score: 50}, {Min: 365, Score: 100}}, Weight: 1},
	}}
}

func TestScore(t *testing.T) {
	sc, err := health.NewScorer([]health.Model{testModel()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		s      snapshot.Snapshot
		score  float64
		band   string
		points []float64 // Seats, NPS, Tenure
		shares []float64
		scores []float64
	}{
		// 0.3 is halfway from 0.1 to 0.5: 50; NPS 8 inverted: 20; tenure
		// exactly 90 takes that threshold: 50. (2·50 + 20 + 50) / 4 = 42.5.
		{"all measures", snapshot.Snapshot{SeatUtilization: 0.3, HasNPS: true, LastNPS: 8, TenureDays: 90},
			42.5, health.Yellow, []float64{25, 5, 12.5}, []float64{0.5, 0.25, 0.25}, []float64{50, 20, 50}},
		// No NPS: left out, weights 2 and 1 renormalised to 2/3 and 1/3;
		// 0.6 clamps to 100, tenure 89 is below 90: 20. 200/3 + 20/3 = 73.33.
		{"renormalised", snapshot.Snapshot{SeatUtilization: 0.6, TenureDays: 89},
			73.33, health.Green, []float64{66.67, 0, 6.67}, []float64{0.6667, 0, 0.3333}, []float64{100, 0, 20}},
		// 0.05 clamps to 0, NPS 10 inverted is 0, tenure 400: 100.
		{"clamped", snapshot.Snapshot{SeatUtilization: 0.05, HasNPS: true, LastNPS: 10, TenureDays: 400},
			25, health.Red, []float64{0, 0, 25}, []float64{0.5, 0.25, 0.25}, []float64{0, 0, 100}},
		// Below every threshold: 0.
		{"below thresholds", snapshot.Snapshot{SeatUtilization: 0.5, TenureDays: -1},
			66.67, health.Yellow, []float64{66.67, 0, 0}, []float64{0.6667, 0, 0.3333}, []float64{100, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, ok, err := sc.Score(&tc.s)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			if res.Score != tc.score || res.Band != tc.band || res.ModelID != "default" {
				t.Errorf("score %v %s %s, want %v %s", res.Score, res.Band, res.ModelID, tc.score, tc.band)
			}
			for i, c := range res.Contributions {
				if c.Points != tc.points[i] || c.Share != tc.shares[i] || c.Score != tc.scores[i] {
					t.Errorf("%s: points %v share %v score %v, want %v %v %v", c.Measure, c.Points, c.Share, c.Score, tc.points[i], tc.shares[i], tc.scores[i])
				}
				if c.Applied != (tc.shares[i] > 0) {
					t.Errorf("%s: applied %v", c.Measure, c.Applied)
				}
			}
		})
	}
}

func TestNoMeasureApplies(t *testing.T) {
	m := health.Model{ID: "d", Measures: []health.Measure{{Name: "NPS", Field: "last_nps", Linear: &health.Linear{From: 0, To: 10}, Weight: 1, When: "has_nps"}}}
	sc, err := health.NewScorer([]health.Model{m})
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := sc.Score(&snapshot.Snapshot{})
	if err != nil || res.Score != health.NoMeasureScore || res.Band != health.Yellow {
		t.Errorf("%+v %v", res, err)
	}
}

func TestPick(t *testing.T) {
	def := testModel()
	ent := testModel()
	ent.ID, ent.AppliesTo, ent.Priority = "ent", `attr["segment"] == "enterprise"`, 2
	onb := testModel()
	onb.ID, onb.AppliesTo, onb.Priority = "onb", `"onboarding" in segments`, 1
	sc, err := health.NewScorer([]health.Model{def, ent, onb})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		s    snapshot.Snapshot
		want string
	}{
		{snapshot.Snapshot{Attributes: map[string]any{"segment": "enterprise"}, Segments: []string{"onboarding"}}, "onb"},
		{snapshot.Snapshot{Attributes: map[string]any{"segment": "enterprise"}}, "ent"},
		{snapshot.Snapshot{Attributes: map[string]any{"segment": "smb"}}, "default"},
		{snapshot.Snapshot{}, "default"},
	} {
		res, _, err := sc.Score(&tc.s)
		if err != nil || res.ModelID != tc.want {
			t.Errorf("%v: model %q (%v), want %q", tc.s.Attributes, res.ModelID, err, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		edit       func(m *health.Model)
		measure    string
		part       string
		line, col  int
		msgContain string
	}{
		{"unknown field", func(m *health.Model) { m.Measures[0].Field = "seat_utilisation" }, "Seats", "field", 1, 1, "did you mean seat_utilization"},
		{"unknown name later", func(m *health.Model) { m.Measures[2].Field = "tenure_days + foo" }, "Tenure", "field", 1, 15, "unknown name foo"},
		{"when not bool", func(m *health.Model) { m.Measures[1].When = "last_nps" }, "NPS", "when", 1, 1, ""},
		{"applies_to", func(m *health.Model) { m.AppliesTo = `plan == ` }, "", "applies_to", 1, 0, ""},
		{"weight", func(m *health.Model) { m.Measures[1].Weight = 0 }, "NPS", "weight", 0, 0, "greater than 0"},
		{"no mapping", func(m *health.Model) { m.Measures[0].Linear = nil }, "Seats", "thresholds", 0, 0, "give thresholds or linear"},
		{"both mappings", func(m *health.Model) { m.Measures[2].Linear = &health.Linear{From: 0, To: 1} }, "Tenure", "thresholds", 0, 0, "not both"},
		{"unordered thresholds", func(m *health.Model) { m.Measures[2].Thresholds[2].Min = 90 }, "Tenure", "thresholds", 0, 0, "threshold 3"},
		{"score range", func(m *health.Model) { m.Measures[2].Thresholds[0].Score = 101 }, "Tenure", "thresholds", 0, 0, "0–100"},
		{"flat linear", func(m *health.Model) { m.Measures[0].Linear = &health.Linear{From: 1, To: 1} }, "Seats", "linear", 0, 0, "different"},
		{"bands", func(m *health.Model) { m.Bands.RedBelow = ptr(80.0) }, "", "bands", 0, 0, "red_below"},
		{"duplicate measure", func(m *health.Model) { m.Measures[1].Name = "Seats" }, "Seats", "name", 0, 0, "two measures"},
		{"bad id", func(m *health.Model) { m.ID = "a b" }, "", "id", 0, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel()
			tc.edit(&m)
			err := m.Validate()
			e, ok := errors.AsType[*health.Error](err)
			if !ok {
				t.Fatalf("error %v, want *health.Error", err)
			}
			if e.Measure != tc.measure || e.Part != tc.part || !bytes.Contains([]byte(e.Message), []byte(tc.msgContain)) {
				t.Errorf("%+v", e)
			}
			if tc.line > 0 && (e.Rule == nil || e.Rule.Line != tc.line || tc.col > 0 && e.Rule.Column != tc.col) {
				t.Errorf("rule position %+v, want %d:%d", e.Rule, tc.line, tc.col)
			}
			if !errors.Is(err, health.ErrInvalid) {
				t.Error("not ErrInvalid")
			}
		})
	}
	// Defaults fill in.
	m := testModel()
	if err := m.Validate(); err != nil || *m.Bands.RedBelow != 40 || *m.Bands.YellowBelow != 70 {
		t.Errorf("%v %+v", err, m.Bands)
	}
	// Sets: exactly one default.
	ent := testModel()
	ent.ID = "ent"
	if err := health.ValidateSet([]health.Model{testModel(), ent}); err == nil {
		t.Error("two defaults accepted")
	}
	ent.AppliesTo = "customer"
	if err := health.ValidateSet([]health.Model{ent}); err == nil {
		t.Error("no default accepted")
	}
	if err := health.ValidateSet([]health.Model{testModel(), ent}); err != nil {
		t.Error(err)
	}
	if err := health.ValidateSet([]health.Model{testModel(), testModel()}); err == nil {
		t.Error("duplicate ids accepted")
	}
}

func TestAUC(t *testing.T) {
	for _, tc := range []struct {
		risk    []float64
		churned []bool
		want    float64
		ok      bool
	}{
		// Positives 2 and 3, negatives 1 and 2: wins (2>1), (3>1), (3>2) and a
		// tie (2=2) counted half: 3.5 / 4.
		{[]float64{1, 2, 2, 3}, []bool{false, true, false, true}, 0.875, true},
		{[]float64{1, 2}, []bool{false, true}, 1, true},
		{[]float64{1, 2}, []bool{true, false}, 0, true},
		{[]float64{5, 5, 5}, []bool{true, false, false}, 0.5, true},
		{[]float64{1, 2}, []bool{true, true}, 0, false},
	} {
		got, ok := health.AUC(tc.risk, tc.churned)
		if got != tc.want || ok != tc.ok {
			t.Errorf("AUC(%v, %v) = %v %v, want %v %v", tc.risk, tc.churned, got, ok, tc.want, tc.ok)
		}
	}
}

func mustAccounts(t *testing.T, db *store.DB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := account.Upsert(context.Background(), db, account.Account{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// TestStage scores three days: a first score, a second recompute the same
// day, a band change the next day, an override and its expiry.
func TestStage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a", "b")
		if _, err := health.SaveModel(ctx, db, testModel(), true); err != nil {
			t.Fatal(err)
		}
		apply := func(at time.Time, snaps []snapshot.Snapshot) []snapshot.Snapshot {
			t.Helper()
			st, err := health.NewStage(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Apply(ctx, db, at, snaps); err != nil {
				t.Fatal(err)
			}
			if err := st.Finish(ctx, db, at); err != nil { // as a run of every account does
				t.Fatal(err)
			}
			return snaps
		}
		check := func(snaps []snapshot.Snapshot, want [][3]any) {
			t.Helper()
			for i, s := range snaps {
				if s.HealthScore != want[i][0] || s.HealthBand != want[i][1] || s.HealthBandPrevious != want[i][2] {
					t.Errorf("%s: %v %s %q, want %v", s.AccountID, s.HealthScore, s.HealthBand, s.HealthBandPrevious, want[i])
				}
				h, err := health.GetAccount(ctx, db, s.AccountID, time.Unix(0, 0))
				if err != nil {
					t.Fatal(err)
				}
				if h.Score != want[i][0] || h.Band != want[i][1] || h.PreviousBand != want[i][2] {
					t.Errorf("%s stored: %v %s %q, want %v", s.AccountID, h.Score, h.Band, h.PreviousBand, want[i])
				}
			}
		}
		a := snapshot.Snapshot{AccountID: "a", SeatUtilization: 0.3, HasNPS: true, LastNPS: 8, TenureDays: 90} // 42.5 yellow
		b := snapshot.Snapshot{AccountID: "b", SeatUtilization: 0.6, TenureDays: 89}                           // 73.33 green
		d1 := day(2025, 3, 1).Add(9 * time.Hour)
		check(apply(d1, []snapshot.Snapshot{a, b}), [][3]any{{42.5, "yellow", ""}, {73.33, "green", ""}})
		// Same day, a worse: still no previous band (no earlier day).
		a.SeatUtilization = 0.1 // seats 0: (0 + 20 + 50) / 4 = 17.5
		check(apply(d1.Add(time.Hour), []snapshot.Snapshot{a, b}), [][3]any{{17.5, "red", ""}, {73.33, "green", ""}})
		// Next day: the previous band is the first day's last one.
		d2 := d1.Add(24 * time.Hour)
		if _, err := health.SetOverride(ctx, db, health.Override{AccountID: "b", Band: "red", Reason: "champion left", Author: "kei@example.com",
			SetAt: d2.Add(-time.Hour), ExpiresAt: d2.Add(48 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		check(apply(d2, []snapshot.Snapshot{a, b}), [][3]any{{17.5, "red", "red"}, {73.33, "red", "green"}})
		h, err := health.GetAccount(ctx, db, "b", d2)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Overridden || h.Override == nil || h.Override.Reason != "champion left" || h.ComputedScore != 73.33 || !h.BandChanged {
			t.Errorf("override not explained: %+v", h)
		}
		// Day 4: the override expired on day 3.
		d4 := d2.Add(48 * time.Hour)
		b.TenureDays = 400 // tenure 100: 200/3 + 100/3 = 100
		snaps := apply(d4, []snapshot.Snapshot{a, b})
		check(snaps, [][3]any{{17.5, "red", "red"}, {100.0, "green", "red"}})
		h, err = health.GetAccount(ctx, db, "b", d4)
		if err != nil {
			t.Fatal(err)
		}
		if h.Overridden || h.Override != nil || h.Previous == nil || h.Previous.Day != "2025-03-02" {
			t.Errorf("after expiry: %+v", h)
		}
		wantCh := []health.Change{{Measure: "Tenure", PointsDelta: 26.66, Before: 6.67, After: 33.33, ValueBefore: 89, ValueAfter: 400}}
		if !reflect.DeepEqual(h.Changes, wantCh) {
			t.Errorf("changes %+v, want %+v", h.Changes, wantCh)
		}
		// Trend: a point a day, 1 to 4 (day 3, not computed, has day 2's
		// score); 7 and 30 days back there is nothing.
		if len(h.Trend.History) != 4 || h.Trend.Change7d != nil || h.Trend.History[1].Band != "red" || !h.Trend.History[1].Overridden ||
			h.Trend.History[2] != (health.Point{Day: "2025-03-03", ModelID: "default", Score: 73.33, Band: "red", Overridden: true}) ||
			h.Trend.History[3].Score != 100 {
			t.Errorf("trend %+v", h.Trend)
		}
		// A day later than 7 after day 1: change over 7 days = 100 − 73.33.
		apply(d1.Add(8*24*time.Hour), []snapshot.Snapshot{a, b})
		hb, err := health.GetAccount(ctx, db, "b", d1.Add(8*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		tr := hb.Trend
		if tr.Change7d == nil || *tr.Change7d != 26.67 || tr.Change30d != nil {
			t.Errorf("trend change %v %v", tr.Change7d, tr.Change30d)
		}
		// Unchanged same-day recompute writes nothing.
		var before int64
		db.QueryRowContext(ctx, `SELECT updated_at FROM health_current WHERE account_id = 'a'`).Scan(&before)
		time.Sleep(1100 * time.Millisecond)
		apply(d1.Add(8*24*time.Hour+time.Hour), []snapshot.Snapshot{a, b})
		var after int64
		db.QueryRowContext(ctx, `SELECT updated_at FROM health_current WHERE account_id = 'a'`).Scan(&after)
		if after != before {
			t.Errorf("unchanged row rewritten: %d → %d", before, after)
		}
	})
}

// TestStageKeepsUnchangedScores: a daily (full) run leaves an account's
// current row alone when only its measures' values (or its previous band)
// moved, rewrites it when the score changed, and records the day it scored
// everyone through, which the account's health reads as as_of, its trend
// runs to and its previous band is of. A partial run rewrites the values
// too.
func TestStageKeepsUnchangedScores(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a", "b")
		if _, err := health.SaveModel(ctx, db, testModel(), true); err != nil {
			t.Fatal(err)
		}
		d1 := day(2025, 3, 1).Add(9 * time.Hour)
		on := func(n int) time.Time { return d1.Add(time.Duration(n-1) * 24 * time.Hour) }
		run := func(n int, partial bool, snaps ...snapshot.Snapshot) []snapshot.Snapshot {
			t.Helper()
			st, err := health.NewStage(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			st.Partial = partial
			if err := st.Apply(ctx, db, on(n), snaps); err != nil {
				t.Fatal(err)
			}
			if err := st.Finish(ctx, db, on(n)); err != nil {
				t.Fatal(err)
			}
			return snaps
		}
		rowDay := func(id string) string {
			t.Helper()
			var d int64
			if err := db.QueryRowContext(ctx, `SELECT day FROM health_current WHERE account_id = $1`, id).Scan(&d); err != nil {
				t.Fatal(err)
			}
			return store.DayString(d)
		}
		tenure := func(h health.AccountHealth) float64 {
			for _, c := range h.Contributions {
				if c.Measure == "Tenure" {
					return c.Value
				}
			}
			return -1
		}
		// a: seats clamp to 100, tenure 90+ is 50: 83.33 green every day.
		// b: 40 yellow, then 23.33 red from day 2 on.
		run(1, false, snapshot.Snapshot{AccountID: "a", SeatUtilization: 0.6, TenureDays: 100}, snapshot.Snapshot{AccountID: "b", SeatUtilization: 0.3, TenureDays: 10})
		run(2, false, snapshot.Snapshot{AccountID: "a", SeatUtilization: 0.7, TenureDays: 101}, snapshot.Snapshot{AccountID: "b", SeatUtilization: 0.2, TenureDays: 11})
		run(3, false, snapshot.Snapshot{AccountID: "a", SeatUtilization: 0.8, TenureDays: 102}, snapshot.Snapshot{AccountID: "b", SeatUtilization: 0.2, TenureDays: 12})
		snaps := run(4, false, snapshot.Snapshot{AccountID: "a", SeatUtilization: 0.9, TenureDays: 103}, snapshot.Snapshot{AccountID: "b", SeatUtilization: 0.2, TenureDays: 13})
		if snaps[0].HealthBandPrevious != "green" || snaps[1].HealthScore != 23.33 || snaps[1].HealthBand != "red" || snaps[1].HealthBandPrevious != "red" {
			t.Errorf("day 4's snapshots: %+v", snaps)
		}
		// a's row: day 1's; b's: day 2's, when its score changed.
		if a, b := rowDay("a"), rowDay("b"); a != "2025-03-01" || b != "2025-03-02" {
			t.Errorf("current rows of days %s and %s, want 2025-03-01 and 2025-03-02", a, b)
		}
		through, ok, err := health.ScoredThrough(ctx, db)
		if err != nil || !ok || store.DayString(through) != "2025-03-04" {
			t.Errorf("scored through %s, %v, %v; want 2025-03-04", store.DayString(through), ok, err)
		}
		ha, err := health.GetAccount(ctx, db, "a", on(4))
		if err != nil {
			t.Fatal(err)
		}
		if ha.Day != "2025-03-01" || ha.AsOf != "2025-03-04" || ha.Score != 83.33 || tenure(ha) != 100 || ha.PreviousBand != "green" || ha.BandChanged ||
			len(ha.Trend.History) != 4 || ha.Trend.History[3] != (health.Point{Day: "2025-03-04", ModelID: "default", Score: 83.33, Band: "green"}) {
			t.Errorf("a on day 4: %+v", ha)
		}
		hb, err := health.GetAccount(ctx, db, "b", on(4))
		if err != nil {
			t.Fatal(err)
		}
		if hb.Day != "2025-03-02" || hb.AsOf != "2025-03-04" || hb.Band != "red" || hb.PreviousBand != "red" || hb.BandChanged ||
			hb.Previous == nil || hb.Previous.Day != "2025-03-01" || len(hb.Trend.History) != 4 || hb.Trend.History[3].Score != 23.33 {
			t.Errorf("b on day 4: %+v", hb)
		}
		var history int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM health_scores`).Scan(&history); err != nil || history != 3 {
			t.Errorf("%d history rows (%v), want 3: a's first, b's first and its change", history, err)
		}
		// A partial run (new data for a) rewrites a's values; the day
		// scored through stays, and a's health is as of its own row.
		run(5, true, snapshot.Snapshot{AccountID: "a", SeatUtilization: 0.9, TenureDays: 104})
		if ha, err = health.GetAccount(ctx, db, "a", on(5)); err != nil {
			t.Fatal(err)
		}
		if ha.Day != "2025-03-05" || ha.AsOf != "2025-03-05" || tenure(ha) != 104 || len(ha.Trend.History) != 5 {
			t.Errorf("a after a partial run on day 5: %+v", ha)
		}
		if hb, err = health.GetAccount(ctx, db, "b", on(5)); err != nil || hb.AsOf != "2025-03-04" {
			t.Errorf("b after a partial run of a: as of %s (%v), want 2025-03-04", hb.AsOf, err)
		}
		// A full run of an earlier day (a backfill) does not move the day
		// scored through back.
		run(2, false, snapshot.Snapshot{AccountID: "a", SeatUtilization: 0.7, TenureDays: 101}, snapshot.Snapshot{AccountID: "b", SeatUtilization: 0.2, TenureDays: 11})
		if through, _, err = health.ScoredThrough(ctx, db); err != nil || store.DayString(through) != "2025-03-04" {
			t.Errorf("after a backfill of day 2: scored through %s (%v), want 2025-03-04", store.DayString(through), err)
		}
	})
}

// TestStageOverJSONHistory: scores stored as JSON by an earlier release
// (before the compact form) still explain and compare. A new day's score is
// written compactly and its changes are measured against the JSON one.
func TestStageOverJSONHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a")
		if _, err := health.SaveModel(ctx, db, testModel(), true); err != nil {
			t.Fatal(err)
		}
		d1 := day(2025, 3, 1)
		old := `[{"measure":"Tenure","applied":true,"value":89,"score":20,"weight":1,"share":0.3333,"points":6.67}]`
		if _, err := db.ExecContext(ctx, `INSERT INTO health_current (account_id, model_id, score, band, day, computed_score, contributions, updated_at)
			VALUES ('a', 'default', 6.67, 'red', $1, 6.67, $2, 0)`, store.Day(d1.Unix()), old); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO health_scores (account_id, day, model_id, score, band, computed_score, contributions)
			VALUES ('a', $1, 'default', 6.67, 'red', 6.67, $2)`, store.Day(d1.Unix()), old); err != nil {
			t.Fatal(err)
		}
		h, err := health.GetAccount(ctx, db, "a", d1)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Contributions) != 1 || h.Contributions[0] != (health.Contribution{Measure: "Tenure", Applied: true, Value: 89, Score: 20, Weight: 1, Share: 0.3333, Points: 6.67}) {
			t.Errorf("JSON row read back as %+v", h.Contributions)
		}
		st, err := health.NewStage(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		a := snapshot.Snapshot{AccountID: "a", SeatUtilization: 0.6, TenureDays: 400}
		if err := st.Apply(ctx, db, d1.Add(24*time.Hour), []snapshot.Snapshot{a}); err != nil {
			t.Fatal(err)
		}
		var stored string
		if err := db.QueryRowContext(ctx, `SELECT contributions FROM health_scores WHERE account_id = 'a' AND day = $1`, store.Day(d1.Unix())+1).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(stored, "~") {
			t.Errorf("new score stored as %q, want the compact form", stored)
		}
		h, err = health.GetAccount(ctx, db, "a", d1.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var tenure *health.Change
		for i := range h.Changes {
			if h.Changes[i].Measure == "Tenure" {
				tenure = &h.Changes[i]
			}
		}
		if h.Previous == nil || h.Previous.Day != "2025-03-01" || tenure == nil || tenure.Before != 6.67 || tenure.ValueBefore != 89 || tenure.ValueAfter != 400 {
			t.Errorf("changes against the JSON row: previous %+v, changes %+v", h.Previous, h.Changes)
		}
		cur, err := health.Current(ctx, db, []string{"a"})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(cur["a"].Contributions, h.Contributions) || len(h.Contributions) != len(testModel().Measures) {
			t.Errorf("Current %+v, GetAccount %+v", cur["a"].Contributions, h.Contributions)
		}
	})
}

// TestStagePrepared: Prepare then ApplyPrepared (the recompute's way, the
// scoring on a reader goroutine) stores and fills what Apply does; a
// preparation of another batch is refused.
func TestStagePrepared(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a", "b")
		if _, err := health.SaveModel(ctx, db, testModel(), true); err != nil {
			t.Fatal(err)
		}
		d1 := day(2025, 3, 1).Add(9 * time.Hour)
		if _, err := health.SetOverride(ctx, db, health.Override{AccountID: "b", Band: "red", Reason: "champion left", Author: "kei@example.com",
			SetAt: d1.Add(-time.Hour), ExpiresAt: d1.Add(48 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		snaps := func() []snapshot.Snapshot {
			return []snapshot.Snapshot{{AccountID: "a", SeatUtilization: 0.3, HasNPS: true, LastNPS: 8, TenureDays: 90}, {AccountID: "b", SeatUtilization: 0.6, TenureDays: 89}}
		}
		stored := func() []health.AccountHealth {
			t.Helper()
			var out []health.AccountHealth
			for _, id := range []string{"a", "b"} {
				h, err := health.GetAccount(ctx, db, id, d1)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, h)
			}
			return out
		}
		st, err := health.NewStage(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		viaApply := snaps()
		if err := st.Apply(ctx, db, d1, viaApply); err != nil {
			t.Fatal(err)
		}
		want := stored()
		if _, err := db.ExecContext(ctx, `DELETE FROM health_current`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM health_scores`); err != nil {
			t.Fatal(err)
		}
		viaPrepare := snaps()
		p, err := st.Prepare(d1, viaPrepare)
		if err != nil {
			t.Fatal(err)
		}
		if viaPrepare[0].HealthBand != "" {
			t.Errorf("Prepare filled the snapshot: %+v", viaPrepare[0])
		}
		if err := st.ApplyPrepared(ctx, db, d1, viaPrepare[:1], p); err == nil {
			t.Error("a preparation of two snapshots applied to one")
		}
		if err := st.ApplyPrepared(ctx, db, d1, viaPrepare, p); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(viaPrepare, viaApply) {
			t.Errorf("snapshots\n got %+v\nwant %+v", viaPrepare, viaApply)
		}
		if got := stored(); !reflect.DeepEqual(got, want) || got[1].Band != "red" || !got[1].Overridden || got[0].Score != 42.5 {
			t.Errorf("stored\n got %+v\nwant %+v", got, want)
		}
	})
}

// TestHistoryKeepsChanges: the history stores the days on which a score
// changed; the trend still has a point a day, and the previous score is the
// one the current score replaced.
func TestHistoryKeepsChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a")
		if _, err := health.SaveModel(ctx, db, testModel(), true); err != nil {
			t.Fatal(err)
		}
		apply := func(at time.Time, s snapshot.Snapshot) {
			t.Helper()
			st, err := health.NewStage(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Apply(ctx, db, at, []snapshot.Snapshot{s}); err != nil {
				t.Fatal(err)
			}
			if err := st.Finish(ctx, db, at); err != nil { // as a run of every account does
				t.Fatal(err)
			}
		}
		history := func() (out []string) {
			t.Helper()
			rows, err := db.QueryContext(ctx, `SELECT day, score FROM health_scores WHERE account_id = 'a' ORDER BY day`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var d int64
				var score float64
				rows.Scan(&d, &score)
				out = append(out, fmt.Sprintf("%s %v", store.DayString(d), score))
			}
			return out
		}
		d1 := day(2025, 3, 1).Add(9 * time.Hour)
		at := func(n int) time.Time { return d1.Add(time.Duration(n-1) * 24 * time.Hour) }
		low := snapshot.Snapshot{AccountID: "a", SeatUtilization: 0.3, HasNPS: true, LastNPS: 8, TenureDays: 90} // 42.5 yellow
		apply(at(1), low)
		low.TenureDays = 91 // a value moves, the score does not
		apply(at(2), low)
		if got, want := history(), []string{"2025-03-01 42.5"}; !reflect.DeepEqual(got, want) {
			t.Errorf("after an unchanged day: history %v, want %v", got, want)
		}
		h, err := health.GetAccount(ctx, db, "a", at(2))
		if err != nil {
			t.Fatal(err)
		}
		if h.Day != "2025-03-01" || h.AsOf != "2025-03-02" || h.Previous != nil || len(h.Trend.History) != 2 || h.Trend.History[1].Score != 42.5 || h.Contributions[2].Value != 90 {
			t.Errorf("day 2: %+v", h)
		}
		high := low
		high.SeatUtilization = 0.9 // seats 100: (2 × 100 + 20 + 50) / 4 = 67.5
		apply(at(3), high)
		apply(at(4), high)
		if got, want := history(), []string{"2025-03-01 42.5", "2025-03-03 67.5"}; !reflect.DeepEqual(got, want) {
			t.Errorf("history %v, want %v", got, want)
		}
		h, err = health.GetAccount(ctx, db, "a", at(4))
		if err != nil {
			t.Fatal(err)
		}
		if h.Score != 67.5 || h.PreviousBand != "yellow" || h.Previous == nil || h.Previous.Day != "2025-03-01" || h.Previous.Score != 42.5 ||
			len(h.Changes) == 0 || h.Changes[0].Measure != "Seats" {
			t.Errorf("day 4: score %v, previous band %q, previous %+v, changes %+v", h.Score, h.PreviousBand, h.Previous, h.Changes)
		}
		var scores []float64
		for _, p := range h.Trend.History {
			scores = append(scores, p.Score)
		}
		if !reflect.DeepEqual(scores, []float64{42.5, 42.5, 67.5, 67.5}) {
			t.Errorf("trend %v", scores)
		}
		// The same day recomputed: a change writes the day, and the last
		// recompute of a day wins.
		apply(at(4).Add(time.Hour), low)
		apply(at(4).Add(2*time.Hour), high)
		if got, want := history(), []string{"2025-03-01 42.5", "2025-03-03 67.5", "2025-03-04 67.5"}; !reflect.DeepEqual(got, want) {
			t.Errorf("after same-day changes: history %v, want %v", got, want)
		}
		on, err := health.ScoresOn(ctx, db, store.Day(at(2).Unix()))
		if err != nil || on["a"] != 42.5 {
			t.Errorf("ScoresOn day 2: %v, %v", on, err)
		}
	})
}

func TestOverride(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a")
		at := day(2025, 1, 1)
		for _, o := range []health.Override{
			{AccountID: "a", Reason: "x"},
			{AccountID: "a", Band: "red", Score: ptr(10.0), Reason: "x"},
			{AccountID: "a", Band: "blue", Reason: "x"},
			{AccountID: "a", Score: ptr(101.0), Reason: "x"},
			{AccountID: "a", Band: "red"},
			{AccountID: "a", Band: "red", Reason: "x", SetAt: at, ExpiresAt: at.Add(-time.Hour)},
		} {
			if _, err := health.SetOverride(ctx, db, o); !errors.Is(err, health.ErrBadOverride) {
				t.Errorf("%+v: %v", o, err)
			}
		}
		o, err := health.SetOverride(ctx, db, health.Override{AccountID: "a", Score: ptr(55.0), Reason: "renewal talks", Author: "k", SetAt: at})
		if err != nil {
			t.Fatal(err)
		}
		if !o.ExpiresAt.Equal(at.AddDate(0, 0, 30)) {
			t.Errorf("default expiry %v", o.ExpiresAt)
		}
		for _, tc := range []struct {
			at   time.Time
			want bool
		}{{at.Add(-time.Second), false}, {at, true}, {at.AddDate(0, 0, 30).Add(-time.Second), true}, {at.AddDate(0, 0, 30), false}} {
			if _, ok, err := health.ActiveOverride(ctx, db, "a", tc.at); err != nil || ok != tc.want {
				t.Errorf("at %v: active %v %v", tc.at, ok, err)
			}
		}
		if _, err := health.ClearOverride(ctx, db, "a", "boss", at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := health.ActiveOverride(ctx, db, "a", at.Add(2*time.Hour)); ok {
			t.Error("cleared override still in force")
		}
		if _, ok, _ := health.ActiveOverride(ctx, db, "a", at.Add(30*time.Minute)); !ok {
			t.Error("history lost: not in force before it was cleared")
		}
		hist, err := health.Overrides(ctx, db, "a")
		if err != nil || len(hist) != 1 || hist[0].ClearedBy != "boss" {
			t.Errorf("history %+v %v", hist, err)
		}
	})
}

func TestImportExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ent := testModel()
		ent.ID, ent.AppliesTo, ent.Priority = "ent", `attr["segment"] == "enterprise"`, 1
		if _, err := health.SaveModel(ctx, db, ent, true); err == nil {
			t.Error("a first model that is not the default accepted")
		}
		if _, err := health.SaveModel(ctx, db, testModel(), true); err != nil {
			t.Fatal(err)
		}
		if _, err := health.SaveModel(ctx, db, ent, true); err != nil {
			t.Fatal(err)
		}
		if _, err := health.SaveModel(ctx, db, ent, true); !errors.Is(err, health.ErrExists) {
			t.Errorf("create twice: %v", err)
		}
		ent.Name = "Enterprise"
		saved, err := health.SaveModel(ctx, db, ent, false)
		if err != nil || saved.Version != 2 {
			t.Fatalf("replace: %v %d", err, saved.Version)
		}
		if _, err := health.DeleteModel(ctx, db, "default"); err == nil {
			t.Error("deleted the default while another model exists")
		}
		f, err := health.Export(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		json.NewEncoder(&buf).Encode(f)
		// A bad file changes nothing and names the model and measure.
		bad, _ := health.ReadFile(bytes.NewReader(buf.Bytes()))
		bad.Models[0].Measures[1].Field = "nps_score"
		_, err = health.Import(ctx, db, bad)
		if e, ok := errors.AsType[*health.Error](err); !ok || e.Model != "ent" || e.Measure != "NPS" || e.Part != "field" {
			t.Errorf("bad import: %v", err)
		}
		if _, err := health.ReadFile(bytes.NewReader([]byte(`{"models": [{"id": "x", "wieght": 1}]}`))); err == nil {
			t.Error("unknown key accepted")
		}
		f2, err := health.ReadFile(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		// Into a fresh database and back out: the same file.
		db2 := storetest.SQLite(t)
		if _, err := health.Import(ctx, db2, f2); err != nil {
			t.Fatal(err)
		}
		f3, err := health.Export(ctx, db2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f, f3) {
			t.Errorf("round trip:\n%+v\n%+v", f, f3)
		}
		ms, _ := health.Models(ctx, db)
		if len(ms) != 2 || ms[0].ID != "ent" || ms[0].Version != 2 || ms[1].ID != "default" {
			t.Errorf("models %+v", ms)
		}
		if _, err := health.DeleteModel(ctx, db, "ent"); err != nil {
			t.Fatal(err)
		}
		if _, err := health.DeleteModel(ctx, db, "default"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestBacktest: three customers from 2024-01-01; x (risky) stops paying on
// 2024-06-15 (day 166 of the year), y (fine) and z (risky) stay. With the
// data ending on day 300, as-of dates are days 30, 60, …, 210.
func TestBacktest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for id, name := range map[string]string{"x": "Risky", "y": "Fine", "z": "Risky"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: name}); err != nil {
				t.Fatal(err)
			}
		}
		d0 := day(2024, 1, 1)
		for _, p := range []billing.Period{
			{SubscriptionID: "sx", AccountID: "x", Start: d0, End: ptr(day(2024, 6, 15)), MRRMinor: 10000, Currency: "USD"},
			{SubscriptionID: "sy", AccountID: "y", Start: d0, MRRMinor: 10000, Currency: "USD"},
			{SubscriptionID: "sz", AccountID: "z", Start: d0, MRRMinor: 10000, Currency: "USD"},
		} {
			if err := billing.UpsertPeriod(ctx, db, p); err != nil {
				t.Fatal(err)
			}
		}
		m := health.Model{ID: "m", Measures: []health.Measure{{Name: "Name", Field: `name == "Risky" ? 0 : 100`, Linear: &health.Linear{From: 0, To: 100}, Weight: 1}}}
		bt, err := health.RunBacktest(ctx, db, m, d0.AddDate(0, 0, 300))
		if err != nil {
			t.Fatal(err)
		}
		// x is a customer on days 30–150 (5 dates) and churned within 90
		// days on 90, 120, 150; y and z on all 7. 19 observations, 3 churned,
		// all with risk 100; of the 16 retained, 7 (y) have risk 0 and 9 tie:
		// AUC = (7 + 9/2) / 16 = 0.71875.
		if bt.AUC == nil || *bt.AUC != 0.7188 || bt.Accounts != 19 || bt.Churned != 3 || len(bt.Dates) != 7 {
			t.Fatalf("%+v (auc %v)", bt, *bt.AUC)
		}
		if bt.Dates[0].Date != "2024-01-31" || bt.Dates[2] != (health.BacktestDate{Date: "2024-03-31", Accounts: 3, Churned: 1}) ||
			bt.Dates[5] != (health.BacktestDate{Date: "2024-06-29", Accounts: 2, Churned: 0}) {
			t.Errorf("dates %+v", bt.Dates)
		}
	})
}

// TestGetAccountNotFound: no score, for an unknown account and for one not
// yet scored, each said so.
func TestGetAccountNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		mustAccounts(t, db, "a")
		for id, want := range map[string]string{"a": "health of a: no score yet", "nope": "health of nope: no such account"} {
			_, err := health.GetAccount(context.Background(), db, id, time.Now())
			if !errors.Is(err, health.ErrNotFound) || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s: %v, want ErrNotFound saying %q", id, err, want)
			}
		}
	})
}

package lifecycle_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/lifecycle"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func day(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }

// twoStages replaces the default stages with big (mrr > 100) and small
// (mrr > 0), and creates the accounts.
func twoStages(t *testing.T, db *store.DB, accounts ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `DELETE FROM lifecycle_stages`); err != nil {
		t.Fatal(err)
	}
	for _, d := range []lifecycle.StageDefinition{
		{ID: "big", Name: "Big", Rule: "mrr > 100", Priority: 1},
		{ID: "small", Name: "Small", Rule: "mrr > 0", Priority: 2},
	} {
		if _, err := lifecycle.Create(ctx, db, d, time.Unix(1, 0)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range accounts {
		if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
}

// apply runs the lifecycle stage at at on snapshots with these MRRs, and
// returns the stages and days in stage it set.
func apply(t *testing.T, db *store.DB, at time.Time, mrr map[string]float64) map[string][2]any {
	t.Helper()
	ctx := context.Background()
	st, err := lifecycle.NewStage(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var snaps []snapshot.Snapshot
	for _, id := range []string{"x", "y"} {
		if v, ok := mrr[id]; ok {
			snaps = append(snaps, snapshot.Snapshot{AccountID: id, MRR: v})
		}
	}
	if err := st.Apply(ctx, db, at, snaps); err != nil {
		t.Fatal(err)
	}
	out := map[string][2]any{}
	for _, s := range snaps {
		out[s.AccountID] = [2]any{s.Stage, s.DaysInStage}
	}
	return out
}

type stay struct {
	stage   string
	entered time.Time
	left    time.Time // zero while running
	days    int
}

func stays(t *testing.T, db *store.DB, id string, at time.Time) []stay {
	t.Helper()
	list, err := lifecycle.Stays(context.Background(), db, id, at)
	if err != nil {
		t.Fatal(err)
	}
	out := []stay{}
	for _, s := range list {
		v := stay{stage: s.StageID, entered: s.EnteredAt, days: s.Days}
		if s.LeftAt != nil {
			v.left = *s.LeftAt
		}
		out = append(out, v)
	}
	return out
}

// TestHistory: recomputes at three instants ten days apart record the
// changes only, give time in stage and the stage at a past instant; a
// backfill and a second run at the same instant keep the history free of
// repeated stages.
func TestHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		twoStages(t, db, "x", "y")
		t1, t2, t3 := day(1, 1), day(1, 11), day(1, 21)

		// x: small, then big, big; y: none, small, none.
		if got, want := apply(t, db, t1, map[string]float64{"x": 50, "y": 0}), map[string][2]any{"x": {"small", 0}, "y": {"", -1}}; !reflect.DeepEqual(got, want) {
			t.Errorf("t1: %v, want %v", got, want)
		}
		if got, want := apply(t, db, t2, map[string]float64{"x": 200, "y": 50}), map[string][2]any{"x": {"big", 0}, "y": {"small", 0}}; !reflect.DeepEqual(got, want) {
			t.Errorf("t2: %v, want %v", got, want)
		}
		if got, want := apply(t, db, t3, map[string]float64{"x": 200, "y": 0}), map[string][2]any{"x": {"big", 10}, "y": {"", -1}}; !reflect.DeepEqual(got, want) {
			t.Errorf("t3: %v, want %v", got, want)
		}
		now := day(1, 25)
		if got, want := stays(t, db, "x", now), []stay{{"small", t1, t2, 10}, {"big", t2, time.Time{}, 14}}; !reflect.DeepEqual(got, want) {
			t.Errorf("x: %+v, want %+v", got, want)
		}
		if got, want := stays(t, db, "y", now), []stay{{"small", t2, t3, 10}}; !reflect.DeepEqual(got, want) {
			t.Errorf("y: %+v, want %+v", got, want)
		}
		// The stays as of a past instant: x was small for 5 days.
		if got, want := stays(t, db, "x", day(1, 6)), []stay{{"small", t1, time.Time{}, 5}}; !reflect.DeepEqual(got, want) {
			t.Errorf("x on Jan 6: %+v, want %+v", got, want)
		}
		cur, err := lifecycle.CurrentOf(ctx, db, []string{"x", "y"})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]lifecycle.Current{"x": {StageID: "big", EnteredAt: t2}}; !reflect.DeepEqual(cur, want) {
			t.Errorf("current %v, want %v", cur, want)
		}
		// The snapshot reads the stage as of its instant.
		for _, c := range []struct {
			at        time.Time
			x, y      string
			xDays, yD int
		}{
			{day(1, 6), "small", "", 5, -1},
			{day(1, 15).Add(12 * time.Hour), "big", "small", 4, 4},
			{now, "big", "", 14, -1},
		} {
			all, err := snapshot.All(ctx, db, c.at)
			if err != nil {
				t.Fatal(err)
			}
			if all[0].Stage != c.x || all[0].DaysInStage != c.xDays || all[1].Stage != c.y || all[1].DaysInStage != c.yD {
				t.Errorf("snapshots at %s: x %q %d, y %q %d; want x %q %d, y %q %d", c.at, all[0].Stage, all[0].DaysInStage,
					all[1].Stage, all[1].DaysInStage, c.x, c.xDays, c.y, c.yD)
			}
		}

		// A second run at t3 that finds x small, then one that finds it
		// big again: the history returns to what it was.
		apply(t, db, t3, map[string]float64{"x": 50})
		if got, want := stays(t, db, "x", now), []stay{{"small", t1, t2, 10}, {"big", t2, t3, 10}, {"small", t3, time.Time{}, 4}}; !reflect.DeepEqual(got, want) {
			t.Errorf("x after a rerun at t3: %+v, want %+v", got, want)
		}
		if got := apply(t, db, t3, map[string]float64{"x": 200}); got["x"] != [2]any{"big", 10} {
			t.Errorf("rerun: %v", got)
		}
		if got, want := stays(t, db, "x", now), []stay{{"small", t1, t2, 10}, {"big", t2, time.Time{}, 14}}; !reflect.DeepEqual(got, want) {
			t.Errorf("x after a second rerun at t3: %+v, want %+v", got, want)
		}
		// A backfill on Jan 6 finds x big: it became big then, and the
		// change on t2 is merged away.
		if got := apply(t, db, day(1, 6), map[string]float64{"x": 200}); got["x"] != [2]any{"big", 0} {
			t.Errorf("backfill: %v", got)
		}
		if got, want := stays(t, db, "x", now), []stay{{"small", t1, day(1, 6), 5}, {"big", day(1, 6), time.Time{}, 19}}; !reflect.DeepEqual(got, want) {
			t.Errorf("x after the backfill: %+v, want %+v", got, want)
		}
		cur, _ = lifecycle.CurrentOf(ctx, db, []string{"x"})
		if cur["x"] != (lifecycle.Current{StageID: "big", EnteredAt: day(1, 6)}) {
			t.Errorf("current after the backfill: %v", cur)
		}
		var rows int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM stage_history`).Scan(&rows); err != nil || rows != 4 {
			t.Errorf("%d history rows (%v), want 4: x small, big; y small, none", rows, err)
		}
	})
}

// TestSummary counts accounts and ARR per stage with the median time in
// stage, now and as of a past instant.
func TestSummary(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		twoStages(t, db, "x", "y")
		// x pays 200.00 a month from Dec 1 (ARR 2,400), y 50.00 from Jan 5.
		for _, p := range []billing.Period{
			{SubscriptionID: "sx", AccountID: "x", Start: day(12, 1).AddDate(-1, 0, 0), MRRMinor: 20000, Currency: "USD"},
			{SubscriptionID: "sy", AccountID: "y", Start: day(1, 5), MRRMinor: 5000, Currency: "USD"},
		} {
			if err := billing.UpsertPeriod(ctx, db, p); err != nil {
				t.Fatal(err)
			}
		}
		apply(t, db, day(1, 1), map[string]float64{"x": 50})
		apply(t, db, day(1, 11), map[string]float64{"x": 200, "y": 50})
		apply(t, db, day(1, 15), map[string]float64{"y": 200})

		sum, err := lifecycle.Summarize(ctx, db, day(1, 21))
		if err != nil {
			t.Fatal(err)
		}
		f := func(v float64) *float64 { return &v }
		want := []lifecycle.StageCount{
			// x big for 10 days, y for 6: median 8.
			{StageID: "big", Name: "Big", Accounts: 2, ARR: 2400 + 600, MedianDays: f(8)},
			// x was small 10 days, y 4: median 7.
			{StageID: "small", Name: "Small", CompletedStays: 2, MedianStayDays: f(7)},
		}
		if !reflect.DeepEqual(sum.Stages, want) || sum.NoStage != 0 || sum.Currency != "USD" {
			t.Errorf("summary %+v", sum)
			for _, s := range sum.Stages {
				t.Logf("%+v %v %v", s, deref(s.MedianDays), deref(s.MedianStayDays))
			}
		}
		// On Jan 12 x was big (1 day), y small (1 day), and y's MRR
		// already counted.
		sum, err = lifecycle.Summarize(ctx, db, day(1, 12))
		if err != nil {
			t.Fatal(err)
		}
		want = []lifecycle.StageCount{
			{StageID: "big", Name: "Big", Accounts: 1, ARR: 2400, MedianDays: f(1)},
			{StageID: "small", Name: "Small", Accounts: 1, ARR: 600, MedianDays: f(1), CompletedStays: 1, MedianStayDays: f(10)},
		}
		if !reflect.DeepEqual(sum.Stages, want) {
			t.Errorf("summary on Jan 12 %+v", sum.Stages)
		}
		// Before any recompute, both accounts are in no stage.
		sum, _ = lifecycle.Summarize(ctx, db, day(12, 1).AddDate(-1, 0, 0))
		if sum.NoStage != 2 || sum.Stages[0].Accounts != 0 {
			t.Errorf("summary before: %+v", sum)
		}
	})
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestPipeline: in a recompute, the lifecycle stage runs before segments,
// which see the new stage; a second run on a later day adds nothing.
func TestPipeline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		twoStages(t, db, "x", "y")
		if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "sx", AccountID: "x", Start: day(1, 1), MRRMinor: 50000, Currency: "USD"}); err != nil {
			t.Fatal(err)
		}
		if _, err := segment.Create(ctx, db, segment.Segment{ID: "bigs", Name: "Bigs", Rule: `stage == "big" && days_in_stage >= 0`}, time.Unix(1, 0)); err != nil {
			t.Fatal(err)
		}
		run := func(at time.Time) *lifecycle.Stage {
			lc, err := lifecycle.NewStage(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			seg, err := segment.NewStage(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := recompute.Run(ctx, db, at, recompute.Options{Stages: []recompute.Stage{lc, seg}}); err != nil {
				t.Fatal(err)
			}
			return lc
		}
		if lc := run(day(2, 1)); lc.Changed != 1 {
			t.Errorf("first run changed %d, want 1 (x)", lc.Changed)
		}
		ms, err := segment.Members(ctx, db, "bigs", "", 10)
		if err != nil || len(ms) != 1 || ms[0].AccountID != "x" {
			t.Errorf("members %v %v", ms, err)
		}
		if lc := run(day(2, 8)); lc.Changed != 0 {
			t.Errorf("second run changed %d, want 0", lc.Changed)
		}
		s, err := snapshot.Get(ctx, db, "x", day(2, 8))
		if err != nil || s.Stage != "big" || s.DaysInStage != 7 {
			t.Errorf("x on Feb 8: %q %d %v", s.Stage, s.DaysInStage, err)
		}
	})
}

// seen is a pipeline stage that records the stage each snapshot holds when
// it runs.
type seen struct{ stages map[string]string }

func (s *seen) Name() string { return "seen" }
func (s *seen) Apply(_ context.Context, _ store.Querier, _ time.Time, snaps []snapshot.Snapshot) error {
	for _, sn := range snaps {
		s.stages[sn.AccountID] = sn.Stage
	}
	return nil
}

// TestStageBeforeTheRun: a stage that runs before the lifecycle stage (the
// health stage, whose models' applies_to may name the stage) sees the
// stage stored before the run, one after it the new one.
func TestStageBeforeTheRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		twoStages(t, db, "x")
		period := billing.Period{SubscriptionID: "sx", AccountID: "x", Start: day(1, 1), MRRMinor: 5000, Currency: "USD"}
		if err := billing.UpsertPeriod(ctx, db, period); err != nil {
			t.Fatal(err)
		}
		run := func(at time.Time) (before, after map[string]string) {
			lc, err := lifecycle.NewStage(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			b, a := &seen{map[string]string{}}, &seen{map[string]string{}}
			if _, err := recompute.Run(ctx, db, at, recompute.Options{Stages: []recompute.Stage{b, lc, a}}); err != nil {
				t.Fatal(err)
			}
			return b.stages, a.stages
		}
		if b, a := run(day(2, 1)); b["x"] != "" || a["x"] != "small" {
			t.Errorf("first run: before %q, after %q", b["x"], a["x"])
		}
		period.MRRMinor = 50000 // 500 a month: big
		if err := billing.UpsertPeriod(ctx, db, period); err != nil {
			t.Fatal(err)
		}
		if b, a := run(day(2, 2)); b["x"] != "small" || a["x"] != "big" {
			t.Errorf("second run: before %q, after %q", b["x"], a["x"])
		}
	})
}

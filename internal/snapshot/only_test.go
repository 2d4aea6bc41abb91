package snapshot_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/stages"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestOnly: a Reader made by Only computes each field exactly as a full
// snapshot does, for every field, on the demo's data (every kind of record,
// recomputed so that health, segments, stages and onboarding results are
// stored) now and 45 days before; and it leaves out what it was not asked.
func TestOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
		if _, err := demo.Generate(ctx, db, demo.Config{Seed: 1, Scale: 0.02, Now: now}); err != nil {
			t.Fatal(err)
		}
		// What the demo has none of: a checklist milestone completed from
		// events, failed payments and stored churn scores.
		var first []string
		rows, err := db.QueryContext(ctx, `SELECT account_id FROM accounts ORDER BY account_id LIMIT 6`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			rows.Scan(&id)
			first = append(first, id)
		}
		rows.Close()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		exec(`INSERT INTO onboarding_milestones (milestone_id, name, event, position, created_at, updated_at) VALUES ('reports', 'Reports', 'reports', 1, 0, 0)`)
		for i, id := range first {
			exec(`INSERT INTO payment_events (account_id, invoice_id, kind, amount_minor, currency, at, recorded_at) VALUES ($1, $2, 'failed', 100, 'USD', $3, 0)`,
				id, "inv-"+id, now.Add(-time.Duration(i+1)*10*24*time.Hour).Unix())
			for _, back := range []time.Duration{50, 5} {
				exec(`INSERT INTO churn_score_history (scored_at, account_id, probability, as_of) VALUES ($1, $2, $3, $1)`,
					now.Add(-back*24*time.Hour).Unix(), id, float64(i)/10+float64(back)/100)
			}
		}
		build := stages.Builder(func(context.Context, store.Querier, []string) error { return nil })
		for _, at := range []time.Time{now.Add(-46 * 24 * time.Hour), now} {
			st, err := build(ctx, db, false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := recompute.Run(ctx, db, at, recompute.Options{Stages: st}); err != nil {
				t.Fatal(err)
			}
		}
		var ids []string
		rows, err = db.QueryContext(ctx, `SELECT account_id FROM accounts ORDER BY account_id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) > store.MaxInList {
			ids = ids[:store.MaxInList]
		}
		typ := reflect.TypeFor[snapshot.Snapshot]()
		for _, at := range []time.Time{now.Add(-45 * 24 * time.Hour), now} {
			r, err := snapshot.NewReader(ctx, db, at)
			if err != nil {
				t.Fatal(err)
			}
			full, err := r.IDs(ctx, db, ids)
			if err != nil {
				t.Fatal(err)
			}
			var constant []string // fields the data leaves at one value
			for i := range typ.NumField() {
				f := typ.Field(i)
				name := f.Tag.Get("expr")
				if name == "-" {
					continue
				}
				part, err := r.Only(name).IDs(ctx, db, ids)
				if err != nil {
					t.Fatal(err)
				}
				if len(part) != len(full) {
					t.Fatalf("%s: %d snapshots, want %d", name, len(part), len(full))
				}
				varies := false
				for j := range full {
					want, got := reflect.ValueOf(full[j]).Field(i).Interface(), reflect.ValueOf(part[j]).Field(i).Interface()
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s of %s at %s: Only gives %v, a full snapshot %v", name, full[j].AccountID, at.Format(time.DateOnly), got, want)
						break
					}
					varies = varies || !reflect.DeepEqual(want, reflect.ValueOf(full[0]).Field(i).Interface())
				}
				if !varies {
					constant = append(constant, name)
				}
			}
			// A field the same for every account would check nothing.
			slices.Sort(constant)
			if len(constant) > 0 {
				t.Errorf("at %s fields the same for every account: %v", at.Format(time.DateOnly), constant)
			}
			// What was not asked for is left out.
			part, err := r.Only("setup_done").IDs(ctx, db, ids)
			if err != nil {
				t.Fatal(err)
			}
			var usage, mrr bool
			for j := range full {
				usage = usage || len(full[j].Usage30d) > 0 && len(part[j].Usage30d) == 0
				mrr = mrr || full[j].MRR > 0 && part[j].MRR == 0
			}
			if !usage || !mrr {
				t.Errorf("Only(setup_done) read usage (%v) or MRR (%v)", !usage, !mrr)
			}
		}
	})
}

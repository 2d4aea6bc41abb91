package recompute_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// recorder is a stage that records the batches it saw and writes one row per
// account (its name, the previous stage's mark and its events_30d), and
// marks each snapshot for the next stage. failOn makes it fail on the batch
// holding that account.
type recorder struct {
	name    string
	failOn  string
	mu      sync.Mutex
	batches [][]string
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Apply(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot) error {
	ids := make([]string, len(snaps))
	for i, s := range snaps {
		ids[i] = s.AccountID
	}
	r.mu.Lock()
	r.batches = append(r.batches, ids)
	r.mu.Unlock()
	for i := range snaps {
		s := &snaps[i]
		// The health engineer's stage fills HealthBand for later stages;
		// this one reads what the stage before it left.
		if _, err := q.ExecContext(ctx, `INSERT INTO recorded (stage, account_id, before, events, at) VALUES ($1, $2, $3, $4, $5)`,
			r.name, s.AccountID, s.HealthBand, s.Events30d, at.Unix()); err != nil {
			return fmt.Errorf("record %s: %w", s.AccountID, err)
		}
		s.HealthBand = r.name
	}
	if slices.Contains(ids, r.failOn) {
		return errors.New("planted failure")
	}
	return nil
}

func setup(t *testing.T, db *store.DB, n int) []string {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE recorded (stage TEXT NOT NULL, account_id TEXT NOT NULL, before TEXT NOT NULL,
		events DOUBLE PRECISION NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (stage, account_id))`); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("a%03d", i)
		if err := account.Upsert(ctx, db, account.Account{ID: ids[i], Name: ids[i]}); err != nil {
			t.Fatal(err)
		}
		if err := usage.AddRollups(ctx, db, ids[i], []usage.DailyCount{{Day: store.Day(at.Unix()) - 1, Event: "reports", Count: int64(i)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

var at = time.Date(2024, 6, 30, 12, 0, 0, 0, time.UTC)

type row struct {
	Stage, Account, Before string
	Events                 float64
}

func recorded(t *testing.T, db *store.DB) []row {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT stage, account_id, before, events FROM recorded ORDER BY stage, account_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.Stage, &r.Account, &r.Before, &r.Events); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := setup(t, db, 23)
		for _, tc := range []struct {
			name     string
			accounts []string
			size     int
			readers  int
			batches  [][]string // what each stage sees, in order
		}{
			{"all in batches of 10", nil, 10, 2, [][]string{ids[0:10], ids[10:20], ids[20:23]}},
			{"all, one reader, exact batches", nil, 23, 1, [][]string{ids}},
			{"all in batches of 1", nil, 1, 3, func() (b [][]string) {
				for _, id := range ids {
					b = append(b, []string{id})
				}
				return
			}()},
			// Given accounts: sorted, de-duplicated, unknown ones dropped.
			{"some", []string{ids[15], "zzz", ids[2], ids[15], ids[7]}, 2, 2, [][]string{{ids[2], ids[7]}, {ids[15]}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := db.ExecContext(ctx, `DELETE FROM recorded`); err != nil {
					t.Fatal(err)
				}
				health, segment := &recorder{name: "health"}, &recorder{name: "segment"}
				var progress []int
				res, err := recompute.Run(ctx, db, at, recompute.Options{Accounts: tc.accounts, Stages: []recompute.Stage{health, segment},
					BatchSize: tc.size, Readers: tc.readers, Progress: func(n int) { progress = append(progress, n) }})
				if err != nil {
					t.Fatal(err)
				}
				// "some": its second chunk is a015 and the unknown zzz (sorted last).
				if !reflect.DeepEqual(health.batches, tc.batches) || !reflect.DeepEqual(segment.batches, tc.batches) {
					t.Errorf("batches: health %v, segment %v; want %v", health.batches, segment.batches, tc.batches)
				}
				total := 0
				var want []row
				for _, b := range tc.batches {
					total += len(b)
				}
				for _, stage := range []string{"health", "segment"} {
					before := map[string]string{"health": "", "segment": "health"}[stage]
					for _, b := range tc.batches {
						for _, id := range b {
							var i int
							fmt.Sscanf(id, "a%d", &i)
							want = append(want, row{stage, id, before, float64(i)})
						}
					}
				}
				slices.SortFunc(want, func(a, b row) int { return cmpRow(a, b) })
				if got := recorded(t, db); !reflect.DeepEqual(got, want) {
					t.Errorf("rows\n got %v\nwant %v", got, want)
				}
				if res.Accounts != total || res.Batches != len(tc.batches) || len(res.PerStage) != 2 || res.Seconds <= 0 {
					t.Errorf("result %+v, want %d accounts in %d batches", res, total, len(tc.batches))
				}
				if len(progress) != len(tc.batches) || progress[len(progress)-1] != total {
					t.Errorf("progress %v", progress)
				}
			})
		}
	})
}

func cmpRow(a, b row) int {
	if a.Stage != b.Stage {
		return map[bool]int{true: -1, false: 1}[a.Stage < b.Stage]
	}
	if a.Account != b.Account {
		return map[bool]int{true: -1, false: 1}[a.Account < b.Account]
	}
	return 0
}

// TestRunFailure: a stage failing on the second batch rolls that batch back
// (both stages' rows), keeps the first, runs no later batch, and says which
// batch and stage failed.
func TestRunFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := setup(t, db, 12)
		health, segment := &recorder{name: "health"}, &recorder{name: "segment", failOn: ids[6]}
		res, err := recompute.Run(ctx, db, at, recompute.Options{Stages: []recompute.Stage{health, segment}, BatchSize: 4, Readers: 2})
		var be *recompute.BatchError
		if !errors.As(err, &be) || be.Batch != 1 || be.Stage != "segment" || be.First != ids[4] || be.Last != ids[7] {
			t.Fatalf("error %v (%#v)", err, be)
		}
		want := fmt.Sprintf("recompute: batch 1 (accounts %s..%s): stage segment: planted failure", ids[4], ids[7])
		if err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if len(segment.batches) != 2 {
			t.Errorf("segment saw %d batches, want 2 (none after the failure)", len(segment.batches))
		}
		var got []string
		for _, r := range recorded(t, db) {
			got = append(got, r.Stage+":"+r.Account)
		}
		wantRows := []string{"health:a000", "health:a001", "health:a002", "health:a003", "segment:a000", "segment:a001", "segment:a002", "segment:a003"}
		if !reflect.DeepEqual(got, wantRows) {
			t.Errorf("rows after the failure %v, want %v", got, wantRows)
		}
		if res.Accounts != 4 || res.Batches != 1 {
			t.Errorf("result %+v", res)
		}
		// The readers' read transactions (SQLite) ended, though the run
		// stopped midway: every pooled connection can begin one of its own.
		conns := make([]*sql.Conn, 8)
		for i := range conns {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns[i] = c
			tx, err := c.BeginTx(ctx, nil)
			if err != nil {
				t.Fatalf("connection %d after the run: %v", i, err)
			}
			tx.Rollback()
		}
	})
}

// TestRunNoStages computes snapshots only (what `kizuna recompute` does
// before the stages are wired in) and counts every account.
func TestRunNoStages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		setup(t, db, 7)
		res, err := recompute.Run(context.Background(), db, at, recompute.Options{BatchSize: 3})
		if err != nil || res.Accounts != 7 || res.Batches != 3 {
			t.Errorf("%v, %+v", err, res)
		}
	})
}

// preparing is a recorder that is also a Preparer: Prepare (on a reader
// goroutine) notes each batch's accounts and events_30d; ApplyPrepared
// writes what Prepare returned. failOn makes Prepare fail on the batch
// holding that account.
type preparing struct {
	recorder
	applied int // Apply calls: none are expected
}

type prepared struct {
	ids    []string
	events []float64
}

func (p *preparing) Prepare(at time.Time, snaps []snapshot.Snapshot) (any, error) {
	var out prepared
	for _, s := range snaps {
		if s.HealthBand != "" {
			return nil, fmt.Errorf("prepared after a stage: %s has band %q", s.AccountID, s.HealthBand)
		}
		if s.AccountID == p.failOn {
			return nil, errors.New("planted preparation failure")
		}
		out.ids, out.events = append(out.ids, s.AccountID), append(out.events, s.Events30d)
	}
	return out, nil
}

func (p *preparing) ApplyPrepared(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot, v any) error {
	pr, ok := v.(prepared)
	if !ok || len(pr.ids) != len(snaps) {
		return fmt.Errorf("prepared %#v for %d snapshots", v, len(snaps))
	}
	p.mu.Lock()
	p.batches = append(p.batches, pr.ids)
	p.mu.Unlock()
	for i := range snaps {
		if pr.ids[i] != snaps[i].AccountID {
			return fmt.Errorf("prepared %s for %s", pr.ids[i], snaps[i].AccountID)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO recorded (stage, account_id, before, events, at) VALUES ($1, $2, '', $3, $4)`,
			p.name, pr.ids[i], pr.events[i], at.Unix()); err != nil {
			return err
		}
		snaps[i].HealthBand = p.name
	}
	return nil
}

func (p *preparing) Apply(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot) error {
	p.applied++
	return errors.New("Apply called on a Preparer")
}

// TestRunPreparer: a Preparer stage's work is prepared from the reader's
// snapshots and applied in the batch's transaction, before the next stage;
// a failing preparation fails its batch, naming the stage.
func TestRunPreparer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := setup(t, db, 9)
		health, segment := &preparing{recorder: recorder{name: "health"}}, &recorder{name: "segment"}
		if _, err := recompute.Run(ctx, db, at, recompute.Options{Stages: []recompute.Stage{health, segment}, BatchSize: 4, Readers: 2}); err != nil {
			t.Fatal(err)
		}
		want := [][]string{ids[0:4], ids[4:8], ids[8:9]}
		if !reflect.DeepEqual(health.batches, want) || !reflect.DeepEqual(segment.batches, want) || health.applied != 0 {
			t.Errorf("batches: health %v (Apply %d), segment %v; want %v", health.batches, health.applied, segment.batches, want)
		}
		got := recorded(t, db)
		if len(got) != 18 || got[3] != (row{"health", ids[3], "", 3}) || got[9+3] != (row{"segment", ids[3], "health", 3}) {
			t.Errorf("rows %v", got)
		}

		if _, err := db.ExecContext(ctx, `DELETE FROM recorded`); err != nil {
			t.Fatal(err)
		}
		health = &preparing{recorder: recorder{name: "health", failOn: ids[5]}}
		_, err := recompute.Run(ctx, db, at, recompute.Options{Stages: []recompute.Stage{health, &recorder{name: "segment"}}, BatchSize: 4, Readers: 2})
		var be *recompute.BatchError
		if !errors.As(err, &be) || be.Batch != 1 || be.Stage != "health" || !strings.Contains(err.Error(), "planted preparation failure") {
			t.Fatalf("error %v (%#v)", err, be)
		}
		if got := recorded(t, db); len(got) != 8 {
			t.Errorf("rows after the failure: %v, want the first batch's 8", got)
		}
	})
}

// finishing is a recorder that is also a Finisher: Finish notes the
// instant and how many batches it had seen by then.
type finishing struct {
	recorder
	finished []string
}

func (f *finishing) Finish(ctx context.Context, q store.Querier, at time.Time) error {
	f.finished = append(f.finished, fmt.Sprintf("%s after %d batches", at.Format(time.DateOnly), len(f.batches)))
	return nil
}

// TestRunFinisher: a Finisher's Finish runs once, after the last batch of
// a run of every account; a run of some accounts and a failed run finish
// nothing.
func TestRunFinisher(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := setup(t, db, 10)
		f := &finishing{recorder: recorder{name: "health"}}
		if _, err := recompute.Run(ctx, db, at, recompute.Options{Stages: []recompute.Stage{f}, BatchSize: 3, Readers: 2}); err != nil {
			t.Fatal(err)
		}
		if want := []string{"2024-06-30 after 4 batches"}; !reflect.DeepEqual(f.finished, want) {
			t.Errorf("after a full run: %v, want %v", f.finished, want)
		}
		reset := func() {
			t.Helper()
			f.finished, f.batches = nil, nil
			if _, err := db.ExecContext(ctx, `DELETE FROM recorded`); err != nil {
				t.Fatal(err)
			}
		}
		reset()
		if _, err := recompute.Run(ctx, db, at, recompute.Options{Accounts: ids[:2], Stages: []recompute.Stage{f}}); err != nil {
			t.Fatal(err)
		}
		if len(f.finished) != 0 || len(f.batches) != 1 {
			t.Errorf("a run of two accounts: finished %v after %d batches, want none after 1", f.finished, len(f.batches))
		}
		reset()
		f.failOn = ids[9]
		if _, err := recompute.Run(ctx, db, at, recompute.Options{Stages: []recompute.Stage{f}, BatchSize: 3}); err == nil {
			t.Fatal("a planted failure: no error")
		}
		if len(f.finished) != 0 {
			t.Errorf("a failed run finished: %v", f.finished)
		}
	})
}

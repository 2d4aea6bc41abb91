package snapshot_test

import (
	"context"
	"fmt"
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

// TestRange checks that computing batch by batch gives exactly what All
// gives, whatever the batch size, and that IDs computes just the named
// accounts. Every account has its own mix of data so that a query reading
// the wrong key range (a neighbour's rows, or missing the batch's first or
// last account) changes some field.
func TestRange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := day(2024, 6, 30).Add(12 * time.Hour)
		today := store.Day(at.Unix())
		const n = 9
		ids := make([]string, n)
		for i := range n {
			ids[i] = fmt.Sprintf("acct-%02d", i)
			a := account.Account{ID: ids[i], Name: fmt.Sprintf("Account %d", i), SignupAt: ptr(day(2024, 1, 1+i))}
			if i%3 == 0 {
				a.Attributes = map[string]any{"seats": float64(10 + i)}
			}
			if err := account.Upsert(ctx, db, a); err != nil {
				t.Fatal(err)
			}
			if i%4 != 3 { // some accounts have no subscription
				if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s" + ids[i], AccountID: ids[i],
					Start: day(2024, 2, 1), End: ptr(day(2024, 7, 1+i)), MRRMinor: int64(1000 * (i + 1)), Currency: "USD",
					Plan: "p" + fmt.Sprint(i%2), Product: "core", Quantity: ptr(float64(i + 1))}); err != nil {
					t.Fatal(err)
				}
			}
			var counts []usage.DailyCount
			users := map[int64][]string{}
			for d := range i * 5 { // account i active on its last 5i days
				counts = append(counts, usage.DailyCount{Day: today - int64(d), Event: "reports", Count: int64(d + i)})
				if d%2 == 0 {
					counts = append(counts, usage.DailyCount{Day: today - int64(d), Event: "login", Count: 2})
					users[today-int64(d)] = []string{fmt.Sprintf("u%d", d%(i+1))}
				}
			}
			if i%2 == 1 {
				counts = append(counts, usage.DailyCount{Day: today - 50, Event: "setup_completed", Count: 1})
			}
			if len(counts) > 0 {
				if err := usage.AddRollups(ctx, db, ids[i], counts, users); err != nil {
					t.Fatal(err)
				}
			}
			for k := range i % 3 {
				if _, err := db.ExecContext(ctx, `INSERT INTO tickets (ticket_id, account_id, opened_at, priority, recorded_at, updated_at)
					VALUES ($1, $2, $3, 'high', 1, 1)`, fmt.Sprintf("t%d-%d", i, k), ids[i], at.Unix()-int64(k+1)*86400*40); err != nil {
					t.Fatal(err)
				}
			}
			if i%2 == 0 {
				if _, err := db.ExecContext(ctx, `INSERT INTO survey_responses (response_id, account_id, survey, kind, score, answered_at, recorded_at, updated_at)
					VALUES ($1, $2, 's', 'nps', $3, $4, 1, 1)`, "r"+ids[i], ids[i], i, at.Unix()-86400); err != nil {
					t.Fatal(err)
				}
				if err := account.SetSentiment(ctx, db, account.Sentiment{AccountID: ids[i], SetAt: day(2024, 6, 1), Sentiment: "yellow"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		all, err := snapshot.All(ctx, db, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != n {
			t.Fatalf("All: %d snapshots, want %d", len(all), n)
		}
		// A few hand-checked values, so that "Range equals All" cannot pass
		// with both empty: account 4 is active on its last 20 days (reports
		// 4..23 → 270 in the 30 days, plus login 2 on 10 of them).
		if a := all[4]; a.Usage30d["reports"] != 270 || a.Usage30d["login"] != 20 || a.MRR != 50 || !a.HasNPS || a.LastNPS != 4 || a.OpenTickets != 1 || a.Seats != 5 {
			t.Errorf("account 4: %+v", a)
		}
		if a := all[3]; a.Customer || a.Seats != 13 || a.DaysToSetup != int(today-50-store.Day(day(2024, 1, 4).Unix())) {
			t.Errorf("account 3: %+v", a)
		}
		r, err := snapshot.NewReader(ctx, db, at)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, 2, 4, 8, 9, 100} {
			var got []snapshot.Snapshot
			after, batches := "", 0
			for {
				b, err := r.Range(ctx, db, after, size)
				if err != nil {
					t.Fatalf("size %d: %v", size, err)
				}
				if len(b) == 0 {
					break
				}
				if len(b) > size {
					t.Fatalf("size %d: batch of %d", size, len(b))
				}
				got = append(got, b...)
				after, batches = b[len(b)-1].AccountID, batches+1
			}
			if want := (n + size - 1) / size; batches != want {
				t.Errorf("size %d: %d batches, want %d", size, batches, want)
			}
			if !reflect.DeepEqual(got, all) {
				t.Errorf("size %d: Range differs from All\n got %+v\nwant %+v", size, got, all)
			}
		}
		some, err := r.IDs(ctx, db, []string{ids[7], ids[2], "nope"})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(some, []snapshot.Snapshot{all[2], all[7]}) {
			t.Errorf("IDs: got %+v", some)
		}
		mid, err := r.Between(ctx, db, ids[3], ids[5])
		if err != nil || !reflect.DeepEqual(mid, all[3:6]) {
			t.Errorf("Between %s and %s: %v, got %+v", ids[3], ids[5], err, mid)
		}
		if one, err := snapshot.Range(ctx, db, at, ids[8], 5); err != nil || len(one) != 0 {
			t.Errorf("Range after the last: %v, %d", err, len(one))
		}
		if _, err := r.Range(ctx, db, "", 0); err == nil {
			t.Error("Range with limit 0: no error")
		}
	})
}

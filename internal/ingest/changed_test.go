package ingest_test

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// Changed gets each account whose data changed once: the group calls'
// groups after their round's commit, and the events' resolved accounts (by
// context.groupId, by the user's group call, by properties.account_id) once
// their rollups are applied (here by Close); an event with no account
// changes nobody.
func TestChanged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		var got [][]string
		q := ingest.New(db, ingest.Options{Linger: -1, Changed: func(ids []string) {
			mu.Lock()
			got = append(got, slices.Sorted(slices.Values(ids)))
			mu.Unlock()
		}})
		ts := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
		ev := func(id, user, group, prop string) ingest.Event {
			return ingest.Event{Event: usage.Event{MessageID: id, UserID: user, Event: "login", Timestamp: ts}, ContextGroupID: group, PropertyAccountID: prop}
		}
		if err := q.Submit(ctx, ingest.Batch{Groups: []ingest.Group{{UserID: "u1", GroupID: "acc-u1", TS: ts.Unix()}}}); err != nil {
			t.Fatal(err)
		}
		if err := q.Submit(ctx, ingest.Batch{Events: []ingest.Event{
			ev("m1", "x", "acc-b", ""), ev("m2", "y", "acc-a", ""), ev("m3", "x", "acc-b", ""),
			ev("m4", "u1", "", ""), ev("m5", "", "", "acc-c"), ev("m6", "nobody", "", ""),
		}}); err != nil {
			t.Fatal(err)
		}
		if err := q.Close(ctx); err != nil {
			t.Fatal(err)
		}
		want := [][]string{{"acc-u1"}, {"acc-a", "acc-b", "acc-c", "acc-u1"}}
		mu.Lock()
		defer mu.Unlock()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("changed %v, want %v", got, want)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE account_id IS NULL`).Scan(&n); err != nil || n != 1 {
			t.Errorf("unattributed events: %d, %v", n, err)
		}
	})
}

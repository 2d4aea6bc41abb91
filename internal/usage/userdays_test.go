package usage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// TestDayWindow: the spans and masks of windows, by hand.
func TestDayWindow(t *testing.T) {
	for _, c := range []struct {
		from, to int64
		want     [4]int64
	}{
		{0, 0, [4]int64{0, 0, 1, 1}},
		{0, 63, [4]int64{0, 0, -1, -1}},
		{63, 63, [4]int64{0, 0, -1 << 63, -1 << 63}},
		{2, 4, [4]int64{0, 0, 0b11100, 0b11100}},
		{62, 65, [4]int64{0, 1, -1 << 62, 0b11}},
		{64, 64 + 29, [4]int64{1, 1, 1<<30 - 1, 1<<30 - 1}},
		{10, 200, [4]int64{0, 3, -1 << 10, 1<<9 - 1}}, // 200 = 3·64 + 8
		{-1, 0, [4]int64{-1, 0, -1 << 63, 1}},
		{5, 4, [4]int64{0, 0, 0, 0}}, // empty
	} {
		if got := usage.DayWindow(c.from, c.to); got != c.want {
			t.Errorf("DayWindow(%d, %d) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
}

// TestDaySpan: a day's span and bit, by hand (as migration 39 computes them).
func TestDaySpan(t *testing.T) {
	for _, c := range []struct{ day, span, bit int64 }{
		{0, 0, 1}, {63, 0, -1 << 63}, {64, 1, 1}, {20454, 319, 1 << 38}, {-1, -1, -1 << 63}, {-64, -1, 1},
	} {
		if span, bit := usage.DaySpan(c.day); span != c.span || bit != c.bit {
			t.Errorf("DaySpan(%d) = %d, %d; want %d, %d", c.day, span, bit, c.span, c.bit)
		}
	}
}

// TestActiveUsersAgainstCount: ActiveUsers over many windows, spanning one,
// two and several 64-day spans, equals the distinct users counted from the
// user-days themselves; written by the Writer, by AddRollups and by
// LoadRollups, whose masks must agree.
func TestActiveUsersAgainstCount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(3, 9))
		const first = 20_400
		active := map[string]map[int64]map[string]bool{} // account → day → users
		note := func(a string, d int64, u string) {
			if active[a] == nil {
				active[a] = map[int64]map[string]bool{}
			}
			if active[a][d] == nil {
				active[a][d] = map[string]bool{}
			}
			active[a][d][u] = true
		}
		var events []usage.Event
		var loads []usage.UserDay
		for i := range 600 {
			a, d, u := fmt.Sprint("acc", r.IntN(3)), int64(first+r.IntN(200)), fmt.Sprint("u", r.IntN(6))
			note(a, d, u)
			switch i % 3 {
			case 0:
				events = append(events, usage.Event{MessageID: fmt.Sprint("m", i), AccountID: a, UserID: u, Event: "login", Timestamp: time.Unix(d*86400+5, 0)})
			case 1:
				if err := usage.AddRollups(ctx, db, a, nil, map[int64][]string{d: {u}}); err != nil {
					t.Fatal(err)
				}
			default:
				loads = append(loads, usage.UserDay{AccountID: a, Day: d, UserID: u})
			}
		}
		if err := usage.LoadRollups(ctx, db, nil, loads); err != nil {
			t.Fatal(err)
		}
		if _, err := usage.Ingest(ctx, db, events); err != nil {
			t.Fatal(err)
		}
		for range 300 {
			a := fmt.Sprint("acc", r.IntN(3))
			from := int64(first - 5 + r.IntN(210))
			to := from + int64(r.IntN(140)) - 3
			want := map[string]bool{}
			for d := from; d <= to; d++ {
				for u := range active[a][d] {
					want[u] = true
				}
			}
			got, err := usage.ActiveUsers(ctx, db, a, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if got != int64(len(want)) {
				t.Fatalf("ActiveUsers(%s, %d, %d) = %d, want %d", a, from, to, got, len(want))
			}
		}
	})
}

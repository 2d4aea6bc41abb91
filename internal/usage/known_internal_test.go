package usage

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// A Session leaves out of a round the user-days it knows stored, and only
// those: the rollups match a GROUP BY over the events after rounds that
// repeat user-days, add new ones, roll back, and overflow the bound.
func TestKnownUserDays(t *testing.T) {
	for _, bound := range []int{1 << 18, 7} {
		t.Run(fmt.Sprint("bound ", bound), func(t *testing.T) {
			old := maxKnownUserDays
			maxKnownUserDays = bound
			t.Cleanup(func() { maxKnownUserDays = old })
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				s, err := NewSession(ctx, db)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				base := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
				round := func(k int, commit bool) {
					t.Helper()
					var evs []Event
					for i := range 30 {
						// Users 0-5 of three accounts over two days, the same in
						// every round; round k brings user 10+k.
						u := i % 6
						if i == 29 {
							u = 10 + k
						}
						evs = append(evs, Event{MessageID: fmt.Sprintf("r%d-%d", k, i), AccountID: fmt.Sprintf("a%d", i%3),
							UserID: fmt.Sprintf("u%d", u), Event: "login", Timestamp: base.Add(time.Duration(i%2) * 24 * time.Hour)})
					}
					p, err := s.IngestUncommitted(ctx, evs)
					if err != nil {
						t.Fatal(err)
					}
					if !commit {
						p.Rollback()
						return
					}
					if _, err := p.Commit(); err != nil {
						t.Fatal(err)
					}
				}
				round(0, true)
				round(1, false) // its new user-day must not count as known
				round(1, true)
				round(2, true)
				if bound > 100 && len(s.known.rows) == 0 {
					t.Fatal("the session knows no user-days")
				}
				if len(s.known.rows) > bound {
					t.Fatalf("%d user-days known, bound %d", len(s.known.rows), bound)
				}
				var got, want []string
				for q, out := range map[string]*[]string{
					`SELECT account_id || ' ' || CAST(day AS TEXT) || ' ' || user_id FROM usage_daily_users`:      &got,
					`SELECT DISTINCT account_id || ' ' || CAST(ts / 86400 AS TEXT) || ' ' || user_id FROM events`: &want,
				} {
					rows, err := db.QueryContext(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					for rows.Next() {
						var r string
						if err := rows.Scan(&r); err != nil {
							t.Fatal(err)
						}
						*out = append(*out, r)
					}
					rows.Close()
				}
				slices.Sort(got)
				slices.Sort(want)
				if len(want) == 0 || !slices.Equal(got, want) {
					t.Fatalf("user-days stored:\n%v\nfrom the events:\n%v", got, want)
				}
			})
		})
	}
}

func TestPieces(t *testing.T) {
	for _, c := range []struct {
		n, size int
		want    []int
	}{
		{0, 1000, nil},
		{1, 1000, []int{1}},
		{1000, 1000, []int{1000}},
		{2000, 1000, []int{1000, 1000}},
		{1900, 1000, []int{1000, 512, 256, 128, 4}},
		{7, 4, []int{4, 2, 1}},
		{1023, 2000, []int{512, 256, 128, 64, 32, 16, 8, 4, 2, 1}},
	} {
		var got []int
		next := 0
		if err := pieces(c.n, c.size, func(start, end int) error {
			if start != next {
				t.Errorf("pieces(%d, %d): a piece starts at %d, want %d", c.n, c.size, start, next)
			}
			next = end
			got = append(got, end-start)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) || next != c.n {
			t.Errorf("pieces(%d, %d) = %v ending at %d; want %v", c.n, c.size, got, next, c.want)
		}
	}
}

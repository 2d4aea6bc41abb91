package usage_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

func TestLoadRollups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// A row already stored is added to, as AddRollups does.
		if err := usage.AddRollups(ctx, db, "a1", []usage.DailyCount{{Day: 100, Event: "login", Count: 2}}, map[int64][]string{100: {"u1"}}); err != nil {
			t.Fatal(err)
		}
		var rows []usage.RollupRow
		var users []usage.UserDay
		// Enough rows to span several SQLite chunks and a partial last one.
		for a := 0; a < 7; a++ {
			for d := int64(100); d < 160; d++ {
				acct := fmt.Sprintf("a%d", a)
				rows = append(rows, usage.RollupRow{AccountID: acct, Day: d, Event: "login", Count: 1},
					usage.RollupRow{AccountID: acct, Day: d, Event: "reports", Count: d % 3})
				users = append(users, usage.UserDay{AccountID: acct, Day: d, UserID: "u1"}, usage.UserDay{AccountID: acct, Day: d, UserID: "u2"})
			}
		}
		// A key repeated within one load is summed (counts) or kept once (users).
		rows = append(rows, usage.RollupRow{AccountID: "a1", Day: 100, Event: "login", Count: 5})
		users = append(users, usage.UserDay{AccountID: "a1", Day: 100, UserID: "u2"})
		if err := usage.LoadRollups(ctx, db, rows, users); err != nil {
			t.Fatal(err)
		}

		got, err := usage.Daily(ctx, db, "a1", 100, 100)
		if err != nil {
			t.Fatal(err)
		}
		want := []usage.DailyCount{{Day: 100, Event: "login", Count: 2 + 1 + 5}, {Day: 100, Event: "reports", Count: 100 % 3}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Daily(a1, 100) = %v, want %v", got, want)
		}
		var nRows, nUsers, total int64
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*), SUM(count) FROM usage_daily`).Scan(&nRows, &total); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_daily_users`).Scan(&nUsers); err != nil {
			t.Fatal(err)
		}
		var wantTotal int64 = 2 + 5
		for _, r := range rows[:len(rows)-1] {
			wantTotal += r.Count
		}
		if nRows != 7*60*2 || nUsers != 7*60*2 || total != wantTotal {
			t.Fatalf("rows, users, total = %d, %d, %d; want %d, %d, %d", nRows, nUsers, total, 7*60*2, 7*60*2, wantTotal)
		}
		if names, err := usage.EventNames(ctx, db); err != nil || fmt.Sprint(names) != "[login reports]" {
			t.Fatalf("EventNames = %v, %v; want [login reports]", names, err)
		}
		n, err := usage.ActiveUsers(ctx, db, "a3", 100, 159)
		if err != nil || n != 2 {
			t.Fatalf("ActiveUsers(a3) = %d, %v; want 2", n, err)
		}

		// Loading nothing is a no-op.
		if err := usage.LoadRollups(ctx, db, nil, nil); err != nil {
			t.Fatal(err)
		}
	})
}

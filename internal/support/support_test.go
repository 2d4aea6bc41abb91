package support_test

import (
	"context"
	"database/sql"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/support"
)

func ptr[T any](v T) *T { return &v }

func TestMergeTickets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a1", "a2")
		t1 := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
		t2 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
		t3 := time.Date(2024, 5, 3, 9, 0, 0, 0, time.UTC)
		rows := [][]any{
			// ticket_id, account_id, opened_at, closed_at, status, priority, category, subject, csat
			{"t1", "a1", t1.Unix(), t2.Unix(), "closed", "high", "billing", "Invoice wrong", int64(4)},
			{"t2", "a1", t3.Unix(), nil, "open", "", "", "Login fails", nil},
			{"t3", "a2", t2.Unix(), nil, "open", "low", "how-to", "Export?", nil},
			{"t0", "a1", t3.Unix(), nil, "pending", "", "", "Same time as t2", nil},
		}
		merge := func(now int64, want int64) {
			t.Helper()
			storetest.WithStage(t, db, "stage_tickets", support.StageTickets, support.StageTicketsColumns, rows, func(tx *sql.Tx) {
				if n, err := support.MergeTickets(ctx, tx, "stage_tickets", now); err != nil || n != want {
					t.Fatalf("MergeTickets = %d, %v; want %d", n, err, want)
				}
			})
		}
		merge(100, 4)
		got, err := support.Tickets(ctx, db, "a1")
		if err != nil {
			t.Fatal(err)
		}
		want := []support.Ticket{
			{ID: "t0", AccountID: "a1", OpenedAt: t3, Status: "pending", Subject: "Same time as t2"},
			{ID: "t2", AccountID: "a1", OpenedAt: t3, Status: "open", Subject: "Login fails"},
			{ID: "t1", AccountID: "a1", OpenedAt: t1, ClosedAt: &t2, Status: "closed", Priority: "high", Category: "billing",
				Subject: "Invoice wrong", CSAT: ptr(4)},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Tickets(a1) =\n%+v\nwant\n%+v", got, want)
		}
		if got, err := support.Tickets(ctx, db, "a2"); err != nil || len(got) != 1 || got[0].ID != "t3" || got[0].Category != "how-to" {
			t.Fatalf("Tickets(a2) = %+v, %v", got, err)
		}
		if got, err := support.Tickets(ctx, db, "a3"); err != nil || len(got) != 0 {
			t.Fatalf("Tickets(a3) = %+v, %v", got, err)
		}

		// The same file again changes nothing; closing t2 with a rating changes one row.
		merge(200, 0)
		rows[1] = []any{"t2", "a1", t3.Unix(), t3.Add(time.Hour).Unix(), "closed", "", "", "Login fails", int64(2)}
		merge(300, 1)
		got, _ = support.Tickets(ctx, db, "a1")
		if got[1].ID != "t2" || got[1].ClosedAt == nil || !got[1].ClosedAt.Equal(t3.Add(time.Hour)) || got[1].CSAT == nil || *got[1].CSAT != 2 {
			t.Fatalf("t2 after closing = %+v", got[1])
		}
		var updated, recorded int64
		if err := db.QueryRowContext(ctx, `SELECT recorded_at, updated_at FROM tickets WHERE ticket_id = 't2'`).Scan(&recorded, &updated); err != nil || recorded != 100 || updated != 300 {
			t.Fatalf("t2 recorded_at %d, updated_at %d, %v; want 100, 300", recorded, updated, err)
		}
		if err := db.QueryRowContext(ctx, `SELECT updated_at FROM tickets WHERE ticket_id = 't1'`).Scan(&updated); err != nil || updated != 100 {
			t.Fatalf("t1 updated_at %d, %v; want 100", updated, err)
		}
		// Clearing the rating back to NULL is a change too.
		rows[0][8] = nil
		merge(400, 1)
		got, _ = support.Tickets(ctx, db, "a1")
		if got[2].ID != "t1" || got[2].CSAT != nil {
			t.Fatalf("t1 after clearing csat = %+v", got[2])
		}

		// A ticket naming an unknown account fails the merge.
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := db.CreateTempTable(ctx, tx, "stage_bad", "line BIGINT NOT NULL, "+support.StageTickets); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO stage_bad (line, ticket_id, account_id, opened_at, status, priority, category, subject)
			VALUES (2, 'tx', 'ghost', 1, '', '', '', '')`); err != nil {
			t.Fatal(err)
		}
		if _, err := support.MergeTickets(ctx, tx, "stage_bad", 1); err == nil || !strings.Contains(err.Error(), "tickets") {
			t.Fatalf("MergeTickets for an unknown account: err = %v", err)
		}
	})
}

package support_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/support"
)

func TestTicketCRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Exec(`INSERT INTO accounts (account_id, name, recorded_at, updated_at) VALUES ('a1', '', 0, 0), ('a2', '', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
		closed := t0.Add(48 * time.Hour)
		for _, tk := range []support.Ticket{
			{ID: "t1", AccountID: "a1", OpenedAt: t0, Status: "open", Category: "billing"},
			{ID: "t2", AccountID: "a1", OpenedAt: t0.Add(time.Hour), ClosedAt: &closed, Status: "closed", CSAT: ptr(4)},
			{ID: "t3", AccountID: "a2", OpenedAt: t0, Status: "open"},
		} {
			if err := support.UpsertTicket(ctx, db, tk); err != nil {
				t.Fatal(err)
			}
		}
		if err := support.UpsertTicket(ctx, db, support.Ticket{ID: "t1", AccountID: "a1", OpenedAt: t0, Status: "pending", Category: "billing"}); err != nil {
			t.Fatal(err)
		}
		got, err := support.GetTicket(ctx, db, "t1")
		if err != nil || got.Status != "pending" || !got.OpenedAt.Equal(t0) || got.ClosedAt != nil {
			t.Fatalf("GetTicket = %+v, %v", got, err)
		}
		for _, bad := range []support.Ticket{
			{AccountID: "a1", OpenedAt: t0},
			{ID: "x", AccountID: "a1", OpenedAt: closed, ClosedAt: &t0},
			{ID: "x", AccountID: "a1", OpenedAt: t0, CSAT: ptr(6)},
		} {
			if err := support.UpsertTicket(ctx, db, bad); err == nil {
				t.Errorf("UpsertTicket(%+v) succeeded", bad)
			}
		}

		ids := func(f support.TicketFilter) []string {
			t.Helper()
			ts, err := support.SearchTickets(ctx, db, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, tk := range ts {
				out = append(out, tk.ID)
			}
			return out
		}
		yes, no := true, false
		for _, tt := range []struct {
			f    support.TicketFilter
			want []string
		}{
			{support.TicketFilter{}, []string{"t1", "t3", "t2"}},
			{support.TicketFilter{Desc: true}, []string{"t2", "t3", "t1"}},
			{support.TicketFilter{Sort: "ticket_id", Desc: true, AfterID: "t3"}, []string{"t2", "t1"}},
			{support.TicketFilter{AfterKey: t0.Unix(), AfterID: "t1"}, []string{"t3", "t2"}},
			{support.TicketFilter{AccountID: "a1"}, []string{"t1", "t2"}},
			{support.TicketFilter{Open: &yes}, []string{"t1", "t3"}},
			{support.TicketFilter{Open: &no}, []string{"t2"}},
			{support.TicketFilter{Status: "open"}, []string{"t3"}},
			{support.TicketFilter{Category: "billing"}, []string{"t1"}},
			{support.TicketFilter{Limit: 1}, []string{"t1"}},
		} {
			if got := ids(tt.f); !slices.Equal(got, tt.want) {
				t.Errorf("SearchTickets(%+v) = %v, want %v", tt.f, got, tt.want)
			}
		}
		if _, err := support.SearchTickets(ctx, db, support.TicketFilter{Sort: "subject"}); err == nil {
			t.Error("unknown sort accepted")
		}
		if err := support.DeleteTicket(ctx, db, "t1"); err != nil {
			t.Fatal(err)
		}
		if _, err := support.GetTicket(ctx, db, "t1"); !errors.Is(err, support.ErrNotFound) {
			t.Errorf("deleted ticket: %v", err)
		}
		if err := support.DeleteTicket(ctx, db, "t1"); !errors.Is(err, support.ErrNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
	})
}

// TestOpenedBetween: [from, to), oldest first, ties by id.
func TestOpenedBetween(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a1")
		t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
		for id, at := range map[string]time.Time{"t1": t0.Add(-time.Second), "t2": t0, "t3": t0.Add(time.Hour), "t4": t0, "t5": t0.Add(24 * time.Hour)} {
			if err := support.UpsertTicket(ctx, db, support.Ticket{ID: id, AccountID: "a1", OpenedAt: at, Subject: "s " + id}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := support.OpenedBetween(ctx, db, t0, t0.Add(24*time.Hour))
		var ids []string
		for _, tk := range got {
			ids = append(ids, tk.ID)
		}
		if err != nil || !slices.Equal(ids, []string{"t2", "t4", "t3"}) || got[0].Subject != "s t2" {
			t.Errorf("opened between = %v, %v; want t2 t4 t3", ids, err)
		}
	})
}

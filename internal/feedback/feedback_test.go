package feedback_test

import (
	"context"
	"database/sql"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func feedbackIDs(items []feedback.Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func TestMergeItemsAndList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a1", "a2")
		d := func(day int) time.Time { return time.Date(2024, 5, day, 8, 30, 0, 0, time.UTC) }
		rows := [][]any{
			// feedback_id, account_id, category, text, source, created_at
			{"f1", "a1", "feature", "Slack integration please", "call", d(1).Unix()},
			{"f2", nil, "ui_ux", "Dark mode", "web", d(4).Unix()}, // no account
			{"f3", "a2", "performance", "Reports are slow", "", d(3).Unix()},
			{"f4", "a1", "support", "Faster replies", "survey", d(3).Unix()}, // same time as f3
			{"f5", "a1", "other", "Thanks!", "", d(2).Unix()},
		}
		merge := func(now, want int64) {
			t.Helper()
			storetest.WithStage(t, db, "stage_feedback", feedback.StageItems, feedback.StageItemsColumns, rows, func(tx *sql.Tx) {
				if n, err := feedback.MergeItems(ctx, tx, "stage_feedback", now); err != nil || n != want {
					t.Fatalf("MergeItems = %d, %v; want %d", n, err, want)
				}
			})
		}
		merge(1, 5)
		merge(2, 0)

		all, err := feedback.List(ctx, db, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := feedbackIDs(all), []string{"f2", "f3", "f4", "f5", "f1"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("List(all) = %v, want %v", got, want)
		}
		if all[0] != (feedback.Item{ID: "f2", Category: "ui_ux", Text: "Dark mode", Source: "web", CreatedAt: d(4)}) {
			t.Fatalf("f2 = %+v", all[0])
		}
		if all[4] != (feedback.Item{ID: "f1", AccountID: "a1", Category: "feature", Text: "Slack integration please", Source: "call", CreatedAt: d(1)}) {
			t.Fatalf("f1 = %+v", all[4])
		}
		for _, c := range []struct {
			account string
			limit   int
			want    []string
		}{
			{"a1", 0, []string{"f4", "f5", "f1"}},
			{"a1", 2, []string{"f4", "f5"}},
			{"a2", 0, []string{"f3"}},
			{"a3", 0, []string{}},
			{"", 3, []string{"f2", "f3", "f4"}},
			{"", -1, []string{"f2", "f3", "f4", "f5", "f1"}},
		} {
			got, err := feedback.List(ctx, db, c.account, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(feedbackIDs(got), c.want) {
				t.Errorf("List(%q, %d) = %v, want %v", c.account, c.limit, feedbackIDs(got), c.want)
			}
		}

		// Attributing f2 to an account and re-categorising f5: two changes.
		rows[1][1] = "a2"
		rows[4][2] = "feature"
		merge(3, 2)
		got, _ := feedback.List(ctx, db, "a2", 0)
		if !reflect.DeepEqual(feedbackIDs(got), []string{"f2", "f3"}) {
			t.Fatalf("List(a2) after attributing f2 = %v", feedbackIDs(got))
		}
		got, _ = feedback.List(ctx, db, "a1", 0)
		if got[1].ID != "f5" || got[1].Category != "feature" {
			t.Fatalf("f5 after the edit = %+v", got[1])
		}

		// Deleting an account keeps its feedback, without the account.
		if _, err := db.ExecContext(ctx, `DELETE FROM accounts WHERE account_id = 'a2'`); err != nil {
			t.Fatal(err)
		}
		all, _ = feedback.List(ctx, db, "", 0)
		if len(all) != 5 || all[0].ID != "f2" || all[0].AccountID != "" || all[1].ID != "f3" || all[1].AccountID != "" {
			t.Fatalf("after deleting a2: %+v", all)
		}
	})
}

func TestMergeItemsRefusesBadCategory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := db.CreateTempTable(ctx, tx, "stage_bad", "line BIGINT NOT NULL, "+feedback.StageItems); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO stage_bad (line, feedback_id, account_id, category, text, source, created_at)
			VALUES (2, 'f1', NULL, 'praise', 'x', '', 1)`); err != nil {
			t.Fatal(err)
		}
		if _, err := feedback.MergeItems(ctx, tx, "stage_bad", 1); err == nil {
			t.Fatal("MergeItems with category 'praise' succeeded")
		}
	})
}

func TestCategories(t *testing.T) {
	want := []string{"feature", "ui_ux", "performance", "support", "other"}
	if !reflect.DeepEqual(feedback.Categories, want) {
		t.Fatalf("Categories = %v, want %v (CONTRACT.md)", feedback.Categories, want)
	}
}

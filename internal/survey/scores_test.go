package survey_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// TestScoresBetween returns one kind's scores per account in [from, to), oldest first.
func TestScoresBetween(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Exec(`INSERT INTO accounts (account_id, name, recorded_at, updated_at) VALUES ('a1', '', 0, 0), ('a2', '', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		for _, r := range []survey.Response{
			{ID: "r1", AccountID: "a1", Survey: "Q2", Kind: "nps", Score: 9, AnsweredAt: from.Add(48 * time.Hour)},
			{ID: "r2", AccountID: "a1", Survey: "Q2", Kind: "nps", Score: 6, AnsweredAt: from},
			{ID: "r3", AccountID: "a1", Survey: "Q2", Kind: "csat", Score: 4, AnsweredAt: from},
			{ID: "r4", AccountID: "a2", Survey: "Q2", Kind: "nps", Score: 10, AnsweredAt: from.Add(-time.Second)},
			{ID: "r5", AccountID: "a2", Survey: "Q2", Kind: "nps", Score: 3, AnsweredAt: from.AddDate(0, 0, 30)},
		} {
			if err := survey.UpsertResponse(ctx, db, r); err != nil {
				t.Fatal(err)
			}
		}
		got, err := survey.ScoresBetween(ctx, db, "nps", from, from.AddDate(0, 0, 30))
		if err != nil {
			t.Fatal(err)
		}
		// a1: r2 then r1 (the csat answer is another kind); a2's answers fall
		// one second before and exactly at the end.
		if len(got) != 1 || !slices.Equal(got["a1"], []int{6, 9}) {
			t.Errorf("got %v, want map[a1:[6 9]]", got)
		}
	})
}

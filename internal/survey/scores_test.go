package survey_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// TestScores returns one kind's scores per account in [from, to), oldest
// first, of one owner's accounts when asked; Pooled puts them in one list.
func TestScores(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Exec(`INSERT INTO accounts (account_id, name, owner_email, recorded_at, updated_at)
			VALUES ('a1', '', 'x@example.com', 0, 0), ('a2', '', NULL, 0, 0)`); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
		for i, r := range []survey.Response{
			{AccountID: "a1", Score: 10, AnsweredAt: at.AddDate(0, 0, 2)},
			{AccountID: "a1", Score: 3, AnsweredAt: at}, // older than the 10: first
			{AccountID: "a2", Score: 9, AnsweredAt: at.AddDate(0, 0, 20)},
			{AccountID: "a2", Score: 8, AnsweredAt: at.AddDate(0, 0, 30)}, // the end is exclusive
			{AccountID: "a1", Score: 0, AnsweredAt: at.Add(-time.Second)}, // before the start
			{AccountID: "a1", Kind: "csat", Score: 5, AnsweredAt: at},
		} {
			r.ID, r.Survey = fmt.Sprint("r", i), "Q3"
			if err := survey.UpsertResponse(ctx, db, r); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			kind, owner string
			want        map[string][]int
			pooled      []int
		}{
			{"nps", "", map[string][]int{"a1": {3, 10}, "a2": {9}}, []int{3, 9, 10}},
			{"nps", "x@example.com", map[string][]int{"a1": {3, 10}}, []int{3, 10}},
			{"nps", "nobody@example.com", map[string][]int{}, nil},
			{"csat", "", map[string][]int{"a1": {5}}, []int{5}},
			{"ces", "", map[string][]int{}, nil},
		} {
			got, err := survey.Scores(ctx, db, tt.kind, at, at.AddDate(0, 0, 30), tt.owner)
			if err != nil {
				t.Fatalf("Scores(%s, %q): %v", tt.kind, tt.owner, err)
			}
			if len(got) != len(tt.want) {
				t.Errorf("Scores(%s, %q) = %v, want %v", tt.kind, tt.owner, got, tt.want)
			}
			for id, w := range tt.want {
				if !slices.Equal(got[id], w) {
					t.Errorf("Scores(%s, %q)[%s] = %v, want %v", tt.kind, tt.owner, id, got[id], w)
				}
			}
			pooled := survey.Pooled(got)
			slices.Sort(pooled)
			if !slices.Equal(pooled, tt.pooled) {
				t.Errorf("Pooled(Scores(%s, %q)) = %v, want %v", tt.kind, tt.owner, pooled, tt.pooled)
			}
		}
		if _, err := survey.Scores(ctx, db, "wow", at, at, ""); err == nil {
			t.Error("kind wow: no error")
		}
	})
}

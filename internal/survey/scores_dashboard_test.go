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

func TestScores(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Exec(`INSERT INTO accounts (account_id, name, owner_email, recorded_at, updated_at)
			VALUES ('a1', '', 'x@example.com', 0, 0), ('a2', '', NULL, 0, 0)`); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
		for i, r := range []survey.Response{
			{AccountID: "a1", Score: 10, AnsweredAt: at},
			{AccountID: "a1", Score: 3, AnsweredAt: at.AddDate(0, 0, 10)},
			{AccountID: "a2", Score: 9, AnsweredAt: at.AddDate(0, 0, 20)},
			{AccountID: "a2", Score: 8, AnsweredAt: at.AddDate(0, 0, 30)}, // the end is exclusive
			{AccountID: "a1", Score: 0, AnsweredAt: at.Add(-time.Second)},
			{AccountID: "a1", Kind: "csat", Score: 5, AnsweredAt: at},
		} {
			r.ID, r.Survey = fmt.Sprint("r", i), "Q3"
			if err := survey.UpsertResponse(ctx, db, r); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			kind, owner string
			want        []int
		}{
			{"nps", "", []int{3, 9, 10}},
			{"nps", "x@example.com", []int{3, 10}},
			{"csat", "", []int{5}},
			{"ces", "", nil},
		} {
			got, err := survey.Scores(ctx, db, tt.kind, at, at.AddDate(0, 0, 30), tt.owner)
			slices.Sort(got)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Scores(%s, %q) = %v, %v; want %v", tt.kind, tt.owner, got, err, tt.want)
			}
		}
		if _, err := survey.Scores(ctx, db, "wow", at, at, ""); err == nil {
			t.Error("kind wow: no error")
		}
	})
}

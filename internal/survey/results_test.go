package survey_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// TestCompute: a survey's score, its parts, the distribution and the
// score by month, hand-computed for each kind; other surveys' answers and
// out-of-range scores stay out.
func TestCompute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Exec(`INSERT INTO accounts (account_id, name, recorded_at, updated_at) VALUES ('a1', '', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		sep := time.Date(2026, 9, 30, 23, 0, 0, 0, time.UTC)
		oct := sep.Add(2 * time.Hour) // the next month, UTC
		answers := map[string][]struct {
			score int
			at    time.Time
		}{
			"n": {{10, sep}, {9, sep}, {3, sep}, {9, oct}, {7, oct}},
			"c": {{5, sep}, {4, oct}, {2, oct}},
			"e": {{2, sep}, {7, sep}, {3, oct}},
			"x": {{0, sep}}, // another survey
		}
		for id, list := range answers {
			for i, a := range list {
				kind := map[string]string{"n": "nps", "c": "csat", "e": "ces", "x": "nps"}[id]
				if err := survey.UpsertResponse(ctx, db, survey.Response{ID: fmt.Sprint(id, i), AccountID: "a1", Survey: id, Kind: kind,
					Score: a.score, AnsweredAt: a.at}); err != nil {
					t.Fatal(err)
				}
			}
		}
		f := func(v float64) *float64 { return &v }
		for _, tt := range []struct {
			id, kind string
			want     survey.Results
		}{
			// NPS: 3 promoters, 1 passive, 1 detractor of 5 → 100 × 2 / 5 = 40;
			// September 10, 9, 3 → 100 × 1 / 3; October 9, 7 → 100 × 1 / 2.
			{"n", "nps", survey.Results{Kind: "nps", Responses: 5, Score: f(40), Promoters: 3, Passives: 1, Detractors: 1,
				Low: 0, Distribution: []int{0, 0, 0, 1, 0, 0, 0, 1, 0, 2, 1},
				Months: []survey.MonthScore{{"2026-09", 3, 100.0 / 3}, {"2026-10", 2, 50}}}},
			// CSAT: 5 and 4 of 5, 4, 2 → 2/3; September 1/1, October 1/2.
			{"c", "csat", survey.Results{Kind: "csat", Responses: 3, Score: f(2.0 / 3), Satisfied: 2, Low: 1, Distribution: []int{0, 1, 0, 1, 1},
				Months: []survey.MonthScore{{"2026-09", 1, 1}, {"2026-10", 2, 0.5}}}},
			// CES: (2 + 7 + 3) / 3 = 4; September 4.5, October 3.
			{"e", "ces", survey.Results{Kind: "ces", Responses: 3, Score: f(4), Low: 1, Distribution: []int{0, 1, 1, 0, 0, 0, 1},
				Months: []survey.MonthScore{{"2026-09", 2, 4.5}, {"2026-10", 1, 3}}}},
			{"none", "nps", survey.Results{Kind: "nps", Low: 0, Distribution: make([]int, 11)}},
		} {
			got, err := survey.Compute(ctx, db, survey.Survey{ID: tt.id, Kind: tt.kind})
			if err != nil {
				t.Fatal(err)
			}
			if (got.Score == nil) != (tt.want.Score == nil) || got.Score != nil && math.Abs(*got.Score-*tt.want.Score) > 1e-9 {
				t.Errorf("%s: score %v, want %v", tt.id, got.Score, tt.want.Score)
			}
			for i := range got.Months {
				if i < len(tt.want.Months) && math.Abs(got.Months[i].Score-tt.want.Months[i].Score) < 1e-9 {
					got.Months[i].Score = tt.want.Months[i].Score
				}
			}
			got.Score, tt.want.Score = nil, nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s:\n got %+v\nwant %+v", tt.id, got, tt.want)
			}
		}
		if _, err := survey.Compute(ctx, db, survey.Survey{ID: "n", Kind: "stars"}); err == nil {
			t.Error("kind stars: no error")
		}
	})
}

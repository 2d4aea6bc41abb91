package survey_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

func TestResponseCRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Exec(`INSERT INTO accounts (account_id, name, recorded_at, updated_at) VALUES ('a1', '', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
		for _, r := range []survey.Response{
			{ID: "r1", AccountID: "a1", Survey: "Q2", Score: 9, AnsweredAt: at},
			{ID: "r2", AccountID: "a1", Survey: "Q2", Kind: "csat", Score: 4, AnsweredAt: at.Add(time.Hour)},
		} {
			if err := survey.UpsertResponse(ctx, db, r); err != nil {
				t.Fatal(err)
			}
		}
		r, err := survey.GetResponse(ctx, db, "r1")
		if err != nil || r.Kind != "nps" || r.Score != 9 || !r.AnsweredAt.Equal(at) {
			t.Fatalf("GetResponse = %+v, %v", r, err)
		}
		for _, bad := range []survey.Response{
			{ID: "x", AccountID: "a1", Survey: "Q2", Kind: "csat", Score: 0, AnsweredAt: at},
			{ID: "x", AccountID: "a1", Survey: "Q2", Kind: "nps", Score: 11, AnsweredAt: at},
			{ID: "x", AccountID: "a1", Survey: "Q2", Kind: "wow", Score: 1, AnsweredAt: at},
			{ID: "x", AccountID: "a1", Survey: "Q2", Score: 1},
			{ID: "x", AccountID: "a1", Score: 1, AnsweredAt: at},
		} {
			if err := survey.UpsertResponse(ctx, db, bad); err == nil {
				t.Errorf("UpsertResponse(%+v) succeeded", bad)
			}
		}
		list, err := survey.SearchResponses(ctx, db, survey.ResponseFilter{Desc: true})
		if err != nil || len(list) != 2 || list[0].ID != "r2" {
			t.Fatalf("newest first = %+v, %v", list, err)
		}
		list, err = survey.SearchResponses(ctx, db, survey.ResponseFilter{Desc: true, AfterKey: list[0].SortKey(""), AfterID: "r2"})
		if err != nil || len(list) != 1 || list[0].ID != "r1" {
			t.Errorf("after r2 = %+v, %v", list, err)
		}
		if list, _ := survey.SearchResponses(ctx, db, survey.ResponseFilter{Kind: "csat"}); len(list) != 1 || list[0].ID != "r2" {
			t.Errorf("csat = %+v", list)
		}
		if err := survey.DeleteResponse(ctx, db, "r1"); err != nil {
			t.Fatal(err)
		}
		if err := survey.DeleteResponse(ctx, db, "r1"); !errors.Is(err, survey.ErrNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
	})
}

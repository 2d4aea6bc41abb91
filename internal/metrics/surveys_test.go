package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestSurveys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for id, seg := range map[string]string{"a": "smb", "b": "enterprise"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Attributes: map[string]any{"segment": seg}}); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		answer := func(acct, survey, kind string, score int, at time.Time, recorded int64) {
			t.Helper()
			n++
			if _, err := db.ExecContext(ctx, `INSERT INTO survey_responses (response_id, account_id, survey, kind, score, answered_at, recorded_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, fmt.Sprint(n), acct, survey, kind, score, at.Unix(), recorded); err != nil {
				t.Fatal(err)
			}
		}
		jan, feb := day(2024, 1, 10), day(2024, 2, 10)
		answer("a", "q1", "nps", 10, jan, 100)
		answer("a", "q1", "nps", 9, jan, 100)
		answer("b", "q1", "nps", 8, jan, 100)
		answer("b", "q1", "nps", 3, jan, 100)
		answer("a", "support", "csat", 5, jan, 100)
		answer("a", "support", "csat", 4, jan, 100)
		answer("b", "support", "csat", 2, jan, 100)
		answer("b", "support", "ces", 2, jan, 100)
		answer("b", "support", "ces", 4, jan, 100)
		answer("a", "q1", "nps", 0, feb, 100)
		answer("b", "q1", "nps", 10, feb, 5000) // recorded later

		from, _ := metrics.ParseMonth("2024-01")
		to, _ := metrics.ParseMonth("2024-03")
		rows, err := metrics.Surveys(ctx, db, from, to, "", nil)
		if err != nil || len(rows) != 3 {
			t.Fatalf("%v %+v", err, rows)
		}
		j := rows[0]
		checkRate(t, "jan nps", j.NPS, 25.0)
		checkRate(t, "jan csat", j.CSAT, 2.0/3)
		checkRate(t, "jan ces", j.CES, 3.0)
		if j.NPSResponses != 4 || j.Promoters != 2 || j.Passives != 1 || j.Detractors != 1 || j.CSATResponses != 3 || j.CESResponses != 2 {
			t.Errorf("january counts %+v", j)
		}
		checkRate(t, "feb nps", rows[1].NPS, 0.0) // 0 and 10
		checkRate(t, "mar nps", rows[2].NPS, nil)

		asOf := time.Unix(1000, 0)
		rows, _ = metrics.Surveys(ctx, db, from, to, "", &asOf)
		checkRate(t, "feb nps as of before the late answer", rows[1].NPS, -100.0)

		rows, err = metrics.Surveys(ctx, db, from, from, "attr:segment", nil)
		if err != nil || len(rows) != 2 || *rows[0].Group != "enterprise" || *rows[1].Group != "smb" {
			t.Fatalf("by segment: %v %+v", err, rows)
		}
		checkRate(t, "enterprise nps", rows[0].NPS, -50.0)
		checkRate(t, "smb nps", rows[1].NPS, 100.0)
		checkRate(t, "smb csat", rows[1].CSAT, 1.0)

		rows, _ = metrics.Surveys(ctx, db, from, from, "survey", nil)
		if len(rows) != 2 || *rows[0].Group != "q1" || rows[0].NPSResponses != 4 || *rows[1].Group != "support" || rows[1].CSATResponses != 3 {
			t.Errorf("by survey: %+v", rows)
		}
		if _, err := metrics.Surveys(ctx, db, from, from, "plan", nil); err == nil {
			t.Error("by plan: no error")
		}
	})
}

func TestRenewals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db, []sub{
			{account: "a", id: "s1", start: day(2024, 1, 1), end: day(2024, 7, 1), mrr: 100, plan: "pro"},
			{account: "b", id: "s2", start: day(2024, 1, 1), end: day(2024, 6, 20), mrr: 70},
			{account: "b", id: "s2", start: day(2024, 6, 20), end: day(2025, 6, 20), mrr: 80}, // renewed already
			{account: "a", id: "s3", start: day(2024, 3, 1), end: day(2024, 9, 1), mrr: 10},
			{account: "d", id: "s4", start: day(2023, 1, 1), end: day(2024, 5, 1), mrr: 10}, // over
			{account: "c", id: "s5", start: day(2023, 1, 1), mrr: 50},
		})
		if err := account.SetAttributes(ctx, db, account.ObjectAccount, "c", map[string]any{"renewal_date": "2024-06-15"}); err != nil {
			t.Fatal(err)
		}
		at := day(2024, 6, 1)
		got, err := metrics.Renewals(ctx, db, at, 30)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("renewals %+v", got)
		}
		c, a := got[0], got[1]
		if c.AccountID != "c" || c.Source != "renewal_date" || c.DaysLeft != 14 || c.ARR == nil || *c.ARR != 600 {
			t.Errorf("first %+v", c)
		}
		if a.AccountID != "a" || a.SubscriptionID != "s1" || a.Source != "period_end" || a.DaysLeft != 30 || *a.ARR != 1200 || a.Plan != "pro" {
			t.Errorf("second %+v", a)
		}
		got, _ = metrics.Renewals(ctx, db, at, 100)
		if len(got) != 3 || got[2].SubscriptionID != "s3" {
			t.Errorf("100 days: %+v", got)
		}
		if _, err := metrics.Renewals(ctx, db, at, 0); err == nil {
			t.Error("0 days: no error")
		}
	})
}

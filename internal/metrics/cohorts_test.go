package metrics_test

import (
	"context"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestCohorts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db, []sub{
			{account: "a", id: "a", start: day(2024, 1, 5), mrr: 100},
			{account: "b", id: "b", start: day(2024, 1, 5), end: day(2024, 3, 1), mrr: 50},
			{account: "c", id: "c", start: day(2024, 1, 20), end: day(2024, 2, 10), mrr: 30},
			{account: "c", id: "c", start: day(2024, 2, 10), mrr: 60},
			{account: "d", id: "d", start: day(2024, 2, 15), mrr: 10},
			{account: "e", id: "e", start: day(2023, 12, 1), mrr: 999}, // a cohort before the table
			{account: "f", id: "f1", start: day(2024, 1, 2), end: day(2024, 1, 9), mrr: 7},
			{account: "f", id: "f2", start: day(2024, 3, 2), mrr: 5},
		})
		from, _ := metrics.ParseMonth("2024-01")
		to, _ := metrics.ParseMonth("2024-03")
		got, err := metrics.Cohorts(context.Background(), db, from, to, nil)
		if err != nil {
			t.Fatal(err)
		}
		type off struct {
			customers      int
			mrr, logo, rev float64
		}
		want := map[string][]off{
			"2024-01": {{3, 180, 1, 1}, {3, 210, 1, 210.0 / 180}, {2, 160, 2.0 / 3, 160.0 / 180}},
			"2024-02": {{1, 10, 1, 1}, {1, 10, 1, 1}},
			"2024-03": {{1, 5, 1, 1}},
		}
		if len(got.Cohorts) != len(want) {
			t.Fatalf("cohorts %+v", got.Cohorts)
		}
		for _, c := range got.Cohorts {
			w := want[c.Cohort]
			if len(c.Offsets) != len(w) || c.Customers != w[0].customers || c.MRR != w[0].mrr {
				t.Errorf("cohort %s = %+v", c.Cohort, c)
				continue
			}
			for i, o := range c.Offsets {
				if o.Offset != i || o.Customers != w[i].customers || !near(o.MRR, w[i].mrr) || !near(o.LogoRetention, w[i].logo) || !near(o.RevenueRetention, w[i].rev) {
					t.Errorf("cohort %s offset %d = %+v, want %+v", c.Cohort, i, o, w[i])
				}
			}
		}
	})
}

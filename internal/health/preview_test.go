package health_test

import (
	"errors"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

func TestPreviewModel(t *testing.T) {
	seats := func(id string, from, to float64, applies string) health.Model {
		return health.Model{ID: id, AppliesTo: applies, Measures: []health.Measure{
			{Name: "Seats", Field: "seat_utilization", Linear: &health.Linear{From: from, To: to}, Weight: 1}}}
	}
	// Four accounts at 5 %, 45 %, 95 % and 100 % seat use; the big one has 200 seats.
	snaps := []snapshot.Snapshot{
		{AccountID: "a", SeatUtilization: 0.05, Seats: 10},
		{AccountID: "b", SeatUtilization: 0.45, Seats: 10},
		{AccountID: "c", SeatUtilization: 0.95, Seats: 10},
		{AccountID: "d", SeatUtilization: 1, Seats: 200},
	}
	for _, tc := range []struct {
		name      string
		saved     []health.Model
		edited    health.Model
		scored    int
		histogram [10]int
		bands     map[string]int
		changed   int
	}{
		{
			// Saved 0–50 %: scores 10, 90, 100, 100 (red, green, green, green).
			// Edited 0–100 %: 5, 45, 95, 100 (red, yellow, green, green).
			name: "the default model rescaled", saved: []health.Model{seats("default", 0, 0.5, "")},
			edited: seats("default", 0, 1, ""), scored: 4, histogram: [10]int{1, 0, 0, 0, 1, 0, 0, 0, 0, 2},
			bands: map[string]int{"red": 1, "yellow": 1, "green": 2}, changed: 1,
		},
		{
			// A new model for the big account only, inverted: 100 % → 0, red
			// (was green under the default 0–50 %).
			name: "a new model for one account", saved: []health.Model{seats("default", 0, 0.5, "")},
			edited: seats("big", 1, 0, "seats >= 100"), scored: 1, histogram: [10]int{1},
			bands: map[string]int{"red": 1, "yellow": 0, "green": 0}, changed: 1,
		},
		{
			name: "no saved model", edited: seats("default", 0, 1, ""), scored: 4,
			histogram: [10]int{1, 0, 0, 0, 1, 0, 0, 0, 0, 2}, bands: map[string]int{"red": 1, "yellow": 1, "green": 2}, changed: 4,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := health.PreviewModel(tc.saved, tc.edited, snaps)
			if err != nil {
				t.Fatal(err)
			}
			if p.Accounts != 4 || p.Scored != tc.scored || p.Histogram != tc.histogram || p.Changed != tc.changed {
				t.Errorf("preview = %+v", p)
			}
			for b, n := range tc.bands {
				if p.Bands[b] != n {
					t.Errorf("band %s: %d accounts, want %d", b, p.Bands[b], n)
				}
			}
		})
	}
	t.Run("a model that does not compile", func(t *testing.T) {
		m := seats("default", 0, 1, "")
		m.Measures[0].Field = "seat_utilisation"
		_, err := health.PreviewModel(nil, m, snaps)
		var he *health.Error
		if !errors.As(err, &he) || he.Part != "field" || he.Rule == nil || he.Rule.Column != 1 {
			t.Fatalf("err = %#v", err)
		}
	})
}

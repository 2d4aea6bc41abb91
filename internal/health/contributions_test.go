package health

import (
	"encoding/json"
	"math"
	"testing"
)

// TestContributionsJSON: the hand-written encoding is byte for byte
// json.Marshal's, for the numbers and names that need care.
func TestContributionsJSON(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1.0 / 3, 15.38, 100, 1e-6, 9.99e-7, 1e-7, -1e-9,
		1e20, 1e21, 123456789012345678901234.0, math.MaxFloat64, math.SmallestNonzeroFloat64, 5e-324}
	names := []string{"Tenure", "", `quote " and \ slash`, "<b>&</b>", "改行\nタブ\t", "\u2028\u2029", "\x01"}
	cache := map[string][]byte{}
	for i, f := range floats {
		cs := []Contribution{
			{Measure: names[i%len(names)], Applied: i%2 == 0, Value: f, Score: -f, Weight: f / 7, Share: f / 3, Points: f/2 + 0.25},
			{Measure: names[(i+1)%len(names)], Value: f},
		}
		want, err := json.Marshal(cs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := contributionsJSON(nil, cs, cache)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("contributionsJSON(%v)\n got %s\nwant %s", f, got, want)
		}
	}
	for _, cs := range [][]Contribution{nil, {}} {
		want, _ := json.Marshal(cs)
		if got, err := contributionsJSON(nil, cs, cache); err != nil || string(got) != string(want) {
			t.Errorf("contributionsJSON(%#v) = %s, %v; want %s", cs, got, err, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := contributionsJSON(nil, []Contribution{{Measure: "m", Value: f}}, cache); err == nil {
			t.Errorf("contributionsJSON(%v): no error", f)
		}
	}
}

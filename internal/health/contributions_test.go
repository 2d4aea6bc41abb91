package health

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// TestContributionsRoundTrip: the compact form reads back exactly what was
// written, for the numbers and names that need care, and is smaller than
// the JSON it replaced.
func TestContributionsRoundTrip(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1.0 / 3, 15.38, 100, 1e-6, 9.99e-7, 1e-7, -1e-9,
		1e20, 1e21, 123456789012345678901234.0, math.MaxFloat64, math.SmallestNonzeroFloat64, 5e-324}
	names := []string{"Tenure", "", "a,b;c:d", "12:34", "~", `quote " and \ slash`, "改行\nタブ\t", "\x00"}
	for i, f := range floats {
		cs := []Contribution{
			{Measure: names[i%len(names)], Applied: i%2 == 0, Value: f, Score: -f, Weight: f / 7, Share: f / 3, Points: f/2 + 0.25},
			{Measure: names[(i+1)%len(names)], Value: f},
		}
		b, err := appendContributions(nil, cs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseContributions(string(b))
		if err != nil {
			t.Fatalf("parseContributions(%q): %v", b, err)
		}
		if !reflect.DeepEqual(got, cs) {
			t.Errorf("round trip of %v\n got %+v\nwant %+v", f, got, cs)
		}
		if math.Signbit(got[0].Value) != math.Signbit(f) {
			t.Errorf("round trip of %v: sign lost", f)
		}
	}
	for _, cs := range [][]Contribution{nil, {}} {
		b, err := appendContributions(nil, cs)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := parseContributions(string(b)); err != nil || got == nil || len(got) != 0 {
			t.Errorf("parseContributions(%q) = %#v, %v; want an empty list", b, got, err)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := appendContributions(nil, []Contribution{{Measure: "m", Value: f}}); err == nil {
			t.Errorf("appendContributions(%v): no error", f)
		}
	}

	// The default model's explanation as the recompute stores it.
	typical := []Contribution{
		{Measure: "CSM sentiment", Applied: false, Weight: 6},
		{Measure: "Onboarding", Applied: true, Value: 100, Score: 100, Weight: 2, Share: 0.1538, Points: 15.38},
		{Measure: "Reports adoption", Applied: true, Value: 3, Score: 60, Weight: 3, Share: 0.2308, Points: 13.85},
		{Measure: "Seat utilisation", Applied: true, Value: 0.67, Score: 66.67, Weight: 3, Share: 0.2308, Points: 15.38},
		{Measure: "Tenure", Applied: true, Value: 412, Score: 100, Weight: 1, Share: 0.0769, Points: 7.69},
		{Measure: "Payments", Applied: true, Value: 0, Score: 100, Weight: 2, Share: 0.1538, Points: 15.38},
		{Measure: "NPS", Applied: true, Value: 9, Score: 100, Weight: 2, Share: 0.1538, Points: 15.38},
	}
	compact, _ := appendContributions(nil, typical)
	js, _ := json.Marshal(typical)
	if len(compact)*2 > len(js) {
		t.Errorf("compact form %d bytes, JSON %d: want at most half", len(compact), len(js))
	}
}

// TestParseContributionsJSON: rows written before the compact form read
// back as they always did.
func TestParseContributionsJSON(t *testing.T) {
	want := []Contribution{{Measure: "Tenure", Applied: true, Value: 412, Score: 100, Weight: 1, Share: 0.0769, Points: 7.69}}
	js, _ := json.Marshal(want)
	for in, want := range map[string][]Contribution{string(js): want, "[]": {}, "null": {}} {
		got, err := parseContributions(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseContributions(%s) = %#v, %v; want %#v", in, got, err, want)
		}
	}
}

// TestParseContributionsMalformed: a damaged stored value is an error naming
// where, never a silently wrong explanation.
func TestParseContributionsMalformed(t *testing.T) {
	for _, in := range []string{
		"", "{", "~x", "~6Tenure,1,1,1,1,1,1;", "~99:Tenure,1,1,1,1,1,1;", "~-1:Tenure,1,1,1,1,1,1;",
		"~6:Tenure,1,1,1,1,1,1", "~6:Tenure,1,1,1,1,1;", "~6:Tenure,1,1,1,1,1,1,1;", "~6:Tenure,2,1,1,1,1,1;",
		"~6:Tenure,1,1,x,1,1,1;", "~6:Tenurex,1,1,1,1,1,1;", "~6:Tenure,1,1,1,1,1,1;junk",
	} {
		if got, err := parseContributions(in); err == nil {
			t.Errorf("parseContributions(%q) = %+v; want an error", in, got)
		} else if strings.HasPrefix(in, "~") && !strings.Contains(err.Error(), "byte ") {
			t.Errorf("parseContributions(%q): %v; want the position", in, err)
		}
	}
}

// TestSameBesidesValues: two explanations that differ only in the
// measures' values are the same to the daily run; any other difference
// (a score, weight, share, points, applied flag, name or measure more) is
// not, nor is anything but the compact form unless equal.
func TestSameBesidesValues(t *testing.T) {
	base := []Contribution{
		{Measure: "Tenure", Applied: true, Value: 412, Score: 100, Weight: 1, Share: 0.25, Points: 25},
		{Measure: "a,b;c:d", Applied: true, Value: 3, Score: 60, Weight: 3, Share: 0.75, Points: 45},
		{Measure: "CSM sentiment", Applied: false, Weight: 6},
	}
	compact := func(cs []Contribution) string {
		b, err := appendContributions(nil, cs)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	with := func(change func(cs []Contribution) []Contribution) string {
		return compact(change(append([]Contribution(nil), base...)))
	}
	js, _ := json.Marshal(base)
	tests := []struct {
		name string
		b    string
		same bool
	}{
		{"identical", compact(base), true},
		{"one value", with(func(cs []Contribution) []Contribution { cs[0].Value = 413; return cs }), true},
		{"every value", with(func(cs []Contribution) []Contribution {
			cs[0].Value, cs[1].Value, cs[2].Value = 1e21, -0.125, 7
			return cs
		}), true},
		{"a score", with(func(cs []Contribution) []Contribution { cs[1].Score = 61; return cs }), false},
		{"the points", with(func(cs []Contribution) []Contribution { cs[1].Points = 45.01; return cs }), false},
		{"a weight", with(func(cs []Contribution) []Contribution { cs[0].Weight = 2; return cs }), false},
		{"a share", with(func(cs []Contribution) []Contribution { cs[0].Share = 0.3; return cs }), false},
		{"applied", with(func(cs []Contribution) []Contribution { cs[2].Applied = true; return cs }), false},
		{"a name", with(func(cs []Contribution) []Contribution { cs[1].Measure = "a,b;c:e"; return cs }), false},
		{"a measure more", with(func(cs []Contribution) []Contribution { return append(cs, Contribution{Measure: "NPS"}) }), false},
		{"a measure fewer", with(func(cs []Contribution) []Contribution { return cs[:2] }), false},
		{"none", compact(nil), false},
		{"JSON", string(js), false},
		{"truncated", compact(base)[:20], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := compact(base)
			if got := sameBesidesValues(a, tc.b); got != tc.same {
				t.Errorf("sameBesidesValues(%q, %q) = %v, want %v", a, tc.b, got, tc.same)
			}
			if got := sameBesidesValues(tc.b, a); got != tc.same {
				t.Errorf("sameBesidesValues(%q, %q) = %v, want %v (reversed)", tc.b, a, got, tc.same)
			}
		})
	}
	if !sameBesidesValues(string(js), string(js)) || sameBesidesValues("~6:Tenure,1,5", "~6:Tenure,1,6") {
		t.Error("equal JSON differs, or malformed compact forms compare the same")
	}
}

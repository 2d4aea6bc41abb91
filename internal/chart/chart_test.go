package chart

import (
	"encoding/xml"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// wellFormed fails unless s parses as XML (an SVG the browser can draw).
func wellFormed(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("not well-formed: %v\n%s", err, s)
		}
	}
}

func TestBarsStackNegativesBelowTheAxis(t *testing.T) {
	c := Bars("MRR movements", []string{"Jan", "Feb"}, []Series{
		{Name: "New", Values: []float64{100, 50}},
		{Name: "Churn", Values: []float64{-40, -80}},
	}, func(x float64) string { return fmt.Sprintf("$%.0f", x) })
	svg := string(c.SVG)
	wellFormed(t, svg[:strings.Index(svg, "</svg>")+6])
	for _, want := range []string{"<title>Jan · New: $100</title>", "<title>Feb · Churn: $-80</title>", `aria-label="MRR movements"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	// The scale runs from -100 to 100 in steps of 50: the zero line is in the middle.
	sc := newScale(-80, 100)
	if sc.lo != -100 || sc.hi != 100 || sc.step != 50 {
		t.Errorf("scale = %+v, want -100..100 by 50", sc)
	}
	if y := sc.y(0); math.Abs(y-(padT+plotH/2)) > 1e-9 {
		t.Errorf("zero at y=%.2f, want the middle %.2f", y, padT+plotH/2)
	}
	table := string(c.Table)
	for _, want := range []string{`<th class="num">New</th>`, `<th scope="row">Feb</th><td class="num">$50</td><td class="num">$-80</td>`} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q: %s", want, table)
		}
	}
	if !strings.Contains(svg, `class="legend"`) {
		t.Errorf("two series and no legend")
	}
}

func TestEscaping(t *testing.T) {
	c := HBars(`<b>&"`, []Bar{{Label: `<script>x</script>`, Value: 3, Class: "band-red"}}, nil)
	if strings.Contains(string(c.SVG), "<script>") || strings.Contains(string(c.Table), "<script>") {
		t.Fatalf("a label is not escaped: %s", c.SVG)
	}
	wellFormed(t, string(c.SVG))
	if !strings.Contains(string(c.SVG), `class="band-red"`) {
		t.Errorf("the bar's class is lost")
	}
}

func TestLinesAndHeatmapSkipMissingValues(t *testing.T) {
	l := Lines("NRR", []string{"a", "b", "c"}, []Series{{Name: "NRR", Values: []float64{1, math.NaN(), 1.2}}}, nil)
	wellFormed(t, string(l.SVG))
	if n := strings.Count(string(l.SVG), "<circle"); n != 2 {
		t.Errorf("%d points, want 2 (the NaN is left out)", n)
	}
	h := Heatmap("Cohorts", []string{"2026-01", "2026-02"}, []string{"0", "1"}, [][]float64{{1, 0.5}, {1, math.NaN()}}, nil)
	wellFormed(t, string(h.SVG))
	if n := strings.Count(string(h.SVG), "<rect"); n != 3 {
		t.Errorf("%d cells, want 3", n)
	}
	if !strings.Contains(string(h.SVG), "<title>2026-01 · 1: 0.5</title>") {
		t.Errorf("no tooltip for a cell: %s", h.SVG)
	}
}

func TestNiceStep(t *testing.T) {
	for _, tt := range []struct{ span, want float64 }{{100, 20}, {7, 2}, {1000, 200}, {0.3, 0.1}, {0, 1}} {
		if got := niceStep(tt.span); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("niceStep(%g) = %g, want %g", tt.span, got, tt.want)
		}
	}
}

// TestXLabelsDoNotOverlap: twelve months fit in English; in Japanese
// ("2026年1月" is wider) every other one is shown; 36 labels thin out.
func TestXLabelsDoNotOverlap(t *testing.T) {
	months := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		labels []string
		shown  int
	}{
		{"12 English months", months(12, func(i int) string { return fmt.Sprintf("Jan %d", 2020+i) }), 12},
		{"12 Japanese months", months(12, func(i int) string { return fmt.Sprintf("2026年%d月", i+1) }), 6},
		{"36 English months", months(36, func(i int) string { return fmt.Sprintf("Jan %d", 2020+i) }), 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Bars("c", tc.labels, []Series{{Name: "s", Values: make([]float64, len(tc.labels))}}, nil)
			got := 0
			for _, l := range tc.labels {
				if strings.Contains(string(c.SVG), `text-anchor="middle">`+l+`</text>`) {
					got++
				}
			}
			if got != tc.shown {
				t.Errorf("%d of %d labels shown, want %d", got, len(tc.labels), tc.shown)
			}
		})
	}
}

// TestXLabelsInsideThePicture: every x-axis label, the line chart's last
// one (centred on the plot's right edge) included, is drawn within the
// viewBox by the same width estimate that spaces them.
func TestXLabelsInsideThePicture(t *testing.T) {
	labels := []string{"2025-12", "2026-01", "2026-02", "2026年3月", "Nov 2026"}
	series := []Series{{Name: "s", Values: []float64{1, 2, 3, 4, 5}}}
	re := regexp.MustCompile(`<text x="([0-9.]+)" y="[0-9.]+" text-anchor="middle">([^<]+)</text>`)
	for _, c := range []Chart{Lines("l", labels, series, nil), Bars("b", labels, series, nil)} {
		found := 0
		for _, m := range re.FindAllStringSubmatch(string(c.SVG), -1) {
			x, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				t.Fatal(err)
			}
			found++
			if half := textWidth(m[2]) / 2; x-half < 0 || x+half > width {
				t.Errorf("%s: label %q spans %.1f to %.1f, outside 0 to %.0f", c.Caption, m[2], x-half, x+half, width)
			}
		}
		if found != len(labels) {
			t.Errorf("%s: %d labels drawn, want %d", c.Caption, found, len(labels))
		}
	}
	// The last label of the line chart is the one that was cut off.
	if l := Lines("l", labels, series, nil); !strings.Contains(string(l.SVG), fmt.Sprintf(`<text x="%.1f"`, width-1-textWidth("Nov 2026")/2)) {
		t.Errorf("the last label was not moved in from the edge:\n%s", l.SVG)
	}
}

// TestLinesSeriesClass: a series' own class marks its line as well as its
// points, so a page can draw a target or a forecast differently; a series
// without one keeps the positional classes.
func TestLinesSeriesClass(t *testing.T) {
	c := Lines("goal", []string{"Jan", "Feb"}, []Series{
		{Name: "Actual", Values: []float64{1, 2}},
		{Name: "Target", Values: []float64{3, 3}, Class: "target"},
	}, nil)
	svg := string(c.SVG)
	for _, want := range []string{`<polyline class="line0" points=`, `<polyline class="line1 target" points=`, `<circle class="target"`, `<circle class="s0"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

// Package chart draws the UI's charts as SVG on the server: bars (stacked,
// with negative values below the axis), lines, horizontal bars and heat
// maps. Every mark has a <title> (the browser's tooltip) and every chart
// comes with an HTML table of the same numbers, so the chart needs no
// script and can be read without seeing it.
package chart

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// Chart is a drawn chart and the table of its data.
type Chart struct {
	SVG     template.HTML
	Table   template.HTML
	Caption string
}

// Series is one named row of values, one per label.
type Series struct {
	Name   string
	Values []float64
	// Class is the CSS class of its marks (default "s0", "s1", ... by position).
	Class string
}

// Format turns a value into text for tooltips, axes and the table.
type Format func(float64) string

func (f Format) or(x float64) string {
	if f == nil {
		return trim(fmt.Sprintf("%.2f", x))
	}
	return f(x)
}

func trim(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

const (
	width   = 720.0
	height  = 240.0
	padL    = 64.0
	padR    = 8.0
	padT    = 8.0
	padB    = 28.0
	plotW   = width - padL - padR
	plotH   = height - padT - padB
	maxTick = 5
)

func esc(s string) string { return html.EscapeString(s) }

func class(s Series, i int) string {
	if s.Class != "" {
		return s.Class
	}
	return fmt.Sprintf("s%d", i%5)
}

// niceStep is a round step (1, 2 or 5 × 10ⁿ) giving about maxTick ticks over span.
func niceStep(span float64) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / maxTick
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// scale maps values in [lo, hi] (widened to round ticks) onto the plot's height.
type scale struct{ lo, hi, step float64 }

func newScale(lo, hi float64) scale {
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	if lo == hi {
		hi = lo + 1
	}
	step := niceStep(hi - lo)
	return scale{lo: math.Floor(lo/step) * step, hi: math.Ceil(hi/step) * step, step: step}
}

func (s scale) y(v float64) float64 { return padT + plotH*(s.hi-v)/(s.hi-s.lo) }

func (s scale) axis(b *strings.Builder, f Format) {
	for v := s.lo; v <= s.hi+s.step/2; v += s.step {
		y := s.y(v)
		fmt.Fprintf(b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, padL, width-padR, y, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, padL-6, y+4, esc(f.or(v)))
	}
}

func open(b *strings.Builder, label string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, width, height, esc(label))
}

// xLabels writes every n-th label under the bars, n as small as keeps
// them from overlapping: the labels' width is estimated from their
// characters (a wide East Asian character takes about twice a digit's
// room), as the server cannot measure the browser's font.
func xLabels(b *strings.Builder, labels []string, x func(i int) float64) {
	widest := 0.0
	for _, l := range labels {
		widest = math.Max(widest, textWidth(l))
	}
	slot := (width - padL - padR) / math.Max(float64(len(labels)), 1)
	every := max(int(math.Ceil((widest+4)/slot)), 1)
	for i, l := range labels {
		if i%every != 0 {
			continue
		}
		// A line chart's last point sits on the plot's right edge: centred
		// there, its label would run out of the picture, so a label is
		// moved in just as far as keeps it whole.
		half := textWidth(l) / 2
		cx := math.Max(math.Min(x(i), width-1-half), 1+half)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, cx, height-8, esc(l))
	}
}

// labelFont is the size of the charts' text (app.css: svg text).
const labelFont = 11.0

// textWidth estimates how wide s is drawn at labelFont.
func textWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		if r >= 0x1100 && (r <= 0x115f || (r >= 0x2e80 && r <= 0xa4cf) || (r >= 0xac00 && r <= 0xd7a3) || (r >= 0xf900 && r <= 0xfaff) || (r >= 0xff00 && r <= 0xff60)) {
			w += labelFont
		} else {
			w += 0.55 * labelFont
		}
	}
	return w
}

// Bars draws one bar per label, the series stacked: positive values above
// the axis, negative ones below (MRR movements: churn and contraction
// under new and expansion).
func Bars(caption string, labels []string, series []Series, f Format) Chart {
	lo, hi := 0.0, 0.0
	for i := range labels {
		pos, neg := 0.0, 0.0
		for _, s := range series {
			if v := at(s.Values, i); v > 0 {
				pos += v
			} else {
				neg += v
			}
		}
		hi, lo = math.Max(hi, pos), math.Min(lo, neg)
	}
	sc := newScale(lo, hi)
	var b strings.Builder
	open(&b, caption)
	sc.axis(&b, f)
	n := math.Max(float64(len(labels)), 1)
	slot := plotW / n
	bw := math.Max(slot*0.7, 1)
	x := func(i int) float64 { return padL + slot*float64(i) + slot/2 }
	for i, l := range labels {
		pos, neg := 0.0, 0.0
		for si, s := range series {
			v := at(s.Values, i)
			if v == 0 {
				continue
			}
			var y0, y1 float64
			if v > 0 {
				y0, y1 = sc.y(pos+v), sc.y(pos)
				pos += v
			} else {
				y0, y1 = sc.y(neg), sc.y(neg+v)
				neg += v
			}
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s · %s: %s</title></rect>`,
				class(s, si), x(i)-bw/2, y0, bw, math.Max(y1-y0, 0.5), esc(l), esc(s.Name), esc(f.or(v)))
		}
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke-width="1.5"/>`, padL, width-padR, sc.y(0), sc.y(0))
	xLabels(&b, labels, x)
	b.WriteString(`</svg>`)
	return Chart{SVG: template.HTML(b.String() + legend(series)), Table: table(labels, series, f), Caption: caption}
}

// Lines draws each series as a line over the labels.
func Lines(caption string, labels []string, series []Series, f Format) Chart {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	sc := newScale(lo, hi)
	var b strings.Builder
	open(&b, caption)
	sc.axis(&b, f)
	n := math.Max(float64(len(labels)-1), 1)
	x := func(i int) float64 { return padL + plotW*float64(i)/n }
	for si, s := range series {
		var pts []string
		for i := range labels {
			v := at(s.Values, i)
			if math.IsNaN(v) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), sc.y(v)))
		}
		// A series' own class also marks its line, so a page can tell a
		// target or a trend from the data (dashed, say).
		line := fmt.Sprintf("line%d", si%2)
		if s.Class != "" {
			line += " " + s.Class
		}
		fmt.Fprintf(&b, `<polyline class="%s" points="%s"/>`, line, strings.Join(pts, " "))
		for i, l := range labels {
			v := at(s.Values, i)
			if math.IsNaN(v) {
				continue
			}
			fmt.Fprintf(&b, `<circle class="%s" cx="%.1f" cy="%.1f" r="3"><title>%s · %s: %s</title></circle>`,
				class(s, si), x(i), sc.y(v), esc(l), esc(s.Name), esc(f.or(v)))
		}
	}
	xLabels(&b, labels, x)
	b.WriteString(`</svg>`)
	return Chart{SVG: template.HTML(b.String() + legend(series)), Table: table(labels, series, f), Caption: caption}
}

// Bar is one bar of an HBars chart.
type Bar struct {
	Label string
	Value float64
	Class string // e.g. "band-red"
}

// HBars draws one horizontal bar per item (a distribution: accounts per
// health band, per stage).
func HBars(caption string, bars []Bar, f Format) Chart {
	max := 0.0
	for _, br := range bars {
		max = math.Max(max, br.Value)
	}
	if max == 0 {
		max = 1
	}
	row := 26.0
	h := row*float64(len(bars)) + 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, width, h, esc(caption))
	labelW := 150.0
	for i, br := range bars {
		y := float64(i)*row + 4
		w := (width - labelW - 90) * br.Value / max
		cl := br.Class
		if cl == "" {
			cl = "s0"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, labelW-8, y+15, esc(br.Label))
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="3"><title>%s: %s</title></rect>`,
			cl, labelW, y+2, math.Max(w, 1), row-8, esc(br.Label), esc(f.or(br.Value)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`, labelW+math.Max(w, 1)+6, y+15, esc(f.or(br.Value)))
	}
	b.WriteString(`</svg>`)
	var t strings.Builder
	t.WriteString(`<table><tbody>`)
	for _, br := range bars {
		fmt.Fprintf(&t, `<tr><th scope="row">%s</th><td class="num">%s</td></tr>`, esc(br.Label), esc(f.or(br.Value)))
	}
	t.WriteString(`</tbody></table>`)
	return Chart{SVG: template.HTML(b.String()), Table: template.HTML(t.String()), Caption: caption}
}

// Heatmap draws rows × columns of values in [0, 1] as cells whose shade is
// the value (cohort retention: a row per signup month, a column per month
// since). A NaN cell is left empty.
func Heatmap(caption string, rows, cols []string, values [][]float64, f Format) Chart {
	cell := 30.0
	cw := math.Max((width-90)/math.Max(float64(len(cols)), 1), 8)
	cell = math.Min(cell, 24)
	h := cell*float64(len(rows)) + 24
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, width, h, esc(caption))
	for j, c := range cols {
		if len(cols) > 24 && j%3 != 0 {
			continue
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="14" text-anchor="middle">%s</text>`, 90+cw*float64(j)+cw/2, esc(c))
	}
	for i, r := range rows {
		y := 20 + cell*float64(i)
		fmt.Fprintf(&b, `<text x="84" y="%.1f" text-anchor="end">%s</text>`, y+cell/2+4, esc(r))
		for j := range cols {
			v := math.NaN()
			if i < len(values) && j < len(values[i]) {
				v = values[i][j]
			}
			if math.IsNaN(v) {
				continue
			}
			op := math.Max(math.Min(v, 1), 0)*0.9 + 0.08
			fmt.Fprintf(&b, `<rect class="s0" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill-opacity="%.2f"><title>%s · %s: %s</title></rect>`,
				90+cw*float64(j), y, cw-1, cell-1, op, esc(r), esc(cols[j]), esc(f.or(v)))
		}
	}
	b.WriteString(`</svg>`)
	var t strings.Builder
	t.WriteString(`<table><thead><tr><th></th>`)
	for _, c := range cols {
		fmt.Fprintf(&t, `<th class="num">%s</th>`, esc(c))
	}
	t.WriteString(`</tr></thead><tbody>`)
	for i, r := range rows {
		fmt.Fprintf(&t, `<tr><th scope="row">%s</th>`, esc(r))
		for j := range cols {
			v := math.NaN()
			if i < len(values) && j < len(values[i]) {
				v = values[i][j]
			}
			if math.IsNaN(v) {
				t.WriteString(`<td></td>`)
			} else {
				fmt.Fprintf(&t, `<td class="num">%s</td>`, esc(f.or(v)))
			}
		}
		t.WriteString(`</tr>`)
	}
	t.WriteString(`</tbody></table>`)
	return Chart{SVG: template.HTML(b.String()), Table: template.HTML(t.String()), Caption: caption}
}

func at(v []float64, i int) float64 {
	if i < len(v) {
		return v[i]
	}
	return 0
}

func legend(series []Series) string {
	if len(series) < 2 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<ul class="legend">`)
	for i, s := range series {
		fmt.Fprintf(&b, `<li><span class="sw %s"></span>%s</li>`, class(s, i), esc(s.Name))
	}
	b.WriteString(`</ul>`)
	return b.String()
}

func table(labels []string, series []Series, f Format) template.HTML {
	var t strings.Builder
	t.WriteString(`<table><thead><tr><th></th>`)
	for _, s := range series {
		fmt.Fprintf(&t, `<th class="num">%s</th>`, esc(s.Name))
	}
	t.WriteString(`</tr></thead><tbody>`)
	for i, l := range labels {
		fmt.Fprintf(&t, `<tr><th scope="row">%s</th>`, esc(l))
		for _, s := range series {
			v := at(s.Values, i)
			if math.IsNaN(v) {
				t.WriteString(`<td></td>`)
				continue
			}
			fmt.Fprintf(&t, `<td class="num">%s</td>`, esc(f.or(v)))
		}
		t.WriteString(`</tr>`)
	}
	t.WriteString(`</tbody></table>`)
	return template.HTML(t.String())
}

package health

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

// NoMeasureScore is the score of an account none of whose measures apply:
// nothing is known, so it sits in the middle rather than looking at risk.
const NoMeasureScore = 50.0

// Contribution explains one measure of a score.
type Contribution struct {
	Measure string  `json:"measure"`
	Applied bool    `json:"applied" doc:"False when the measure's when condition was false: it was left out."`
	Value   float64 `json:"value" doc:"The field's value."`
	Score   float64 `json:"score" doc:"The value mapped to 0–100."`
	Weight  float64 `json:"weight"`
	Share   float64 `json:"share" doc:"weight / the sum of the applied measures' weights."`
	Points  float64 `json:"points" doc:"share × score; the points sum to the model's score."`
}

// Result is an account's score under one model.
type Result struct {
	ModelID       string         `json:"model_id"`
	Score         float64        `json:"score"`
	Band          string         `json:"band"`
	Contributions []Contribution `json:"contributions"`
}

// round2 keeps two decimals: enough for people, and stable for comparing a
// new score with the stored one.
func round2(x float64) float64 { return math.Round(x*100) / 100 }

// measureScore maps value to 0–100 by the measure's thresholds or linear range.
func (m *Measure) measureScore(v float64) float64 {
	if m.Linear != nil {
		f, t := m.Linear.From, m.Linear.To
		s := (v - f) / (t - f) * 100
		return math.Max(0, math.Min(100, s))
	}
	score := 0.0
	for _, th := range m.Thresholds {
		if v < th.Min {
			break
		}
		score = th.Score
	}
	return score
}

// band is the band of score under the model's limits.
func (c *compiled) band(score float64) string {
	switch {
	case score < c.red:
		return Red
	case score < c.yellow:
		return Yellow
	}
	return Green
}

// score scores s under c.
func (c *compiled) score(s *snapshot.Snapshot) (Result, error) {
	res := Result{ModelID: c.ID, Contributions: make([]Contribution, len(c.measures))}
	var total float64
	for i := range c.measures {
		m := &c.measures[i]
		ct := Contribution{Measure: m.Name, Weight: m.Weight, Applied: true}
		if m.when != nil {
			ok, err := m.when.Match(s)
			if err != nil {
				return res, fmt.Errorf("model %q: measure %q: when: %w", c.ID, m.Name, err)
			}
			ct.Applied = ok
		}
		if ct.Applied {
			v, err := m.field.Value(s)
			if err != nil {
				return res, fmt.Errorf("model %q: measure %q: field: %w", c.ID, m.Name, err)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				// A ratio over nothing: no information, so the measure is left out.
				ct.Applied = false
			} else {
				ct.Value = v
				ct.Score = m.measureScore(v)
				total += m.Weight
			}
		}
		res.Contributions[i] = ct
	}
	if total == 0 {
		res.Score = NoMeasureScore
	} else {
		var sum float64
		for i := range res.Contributions {
			ct := &res.Contributions[i]
			if !ct.Applied {
				continue
			}
			share := ct.Weight / total
			sum += share * ct.Score
			ct.Share, ct.Points = math.Round(share*10000)/10000, round2(share*ct.Score)
			ct.Value, ct.Score = round2(ct.Value), round2(ct.Score)
		}
		res.Score = round2(sum)
	}
	res.Band = c.band(res.Score)
	return res, nil
}

// Change is how one measure moved since the previous score.
type Change struct {
	Measure     string  `json:"measure"`
	PointsDelta float64 `json:"points_delta" doc:"Points now less points before."`
	Before      float64 `json:"points_before"`
	After       float64 `json:"points_after"`
	ValueBefore float64 `json:"value_before"`
	ValueAfter  float64 `json:"value_after"`
}

// Changes compares two explanations: per measure the points delta, largest
// magnitude first (then by name), leaving out measures that did not move.
func Changes(before, after []Contribution) []Change {
	type pair struct{ b, a *Contribution }
	by := map[string]*pair{}
	var names []string
	get := func(name string) *pair {
		p := by[name]
		if p == nil {
			p = &pair{}
			by[name] = p
			names = append(names, name)
		}
		return p
	}
	for i := range before {
		get(before[i].Measure).b = &before[i]
	}
	for i := range after {
		get(after[i].Measure).a = &after[i]
	}
	var out []Change
	for _, n := range names {
		p := by[n]
		var ch Change
		ch.Measure = n
		if p.b != nil {
			ch.Before, ch.ValueBefore = p.b.Points, p.b.Value
		}
		if p.a != nil {
			ch.After, ch.ValueAfter = p.a.Points, p.a.Value
		}
		ch.PointsDelta = round2(ch.After - ch.Before)
		if ch.PointsDelta == 0 && ch.ValueBefore == ch.ValueAfter {
			continue
		}
		out = append(out, ch)
	}
	slices.SortFunc(out, func(x, y Change) int {
		if c := cmp.Compare(math.Abs(y.PointsDelta), math.Abs(x.PointsDelta)); c != 0 {
			return c
		}
		return cmp.Compare(x.Measure, y.Measure)
	})
	return out
}

// Scorer scores snapshots with a set of models.
type Scorer struct {
	models []*compiled
}

// NewScorer validates models and returns their scorer.
func NewScorer(models []Model) (*Scorer, error) {
	cs, err := compileSet(models)
	if err != nil {
		return nil, err
	}
	return &Scorer{models: cs}, nil
}

// Score scores s with the first model that applies; ok is false when there
// are no models.
func (sc *Scorer) Score(s *snapshot.Snapshot) (res Result, ok bool, err error) {
	m, err := pick(sc.models, s)
	if err != nil || m == nil {
		return res, false, err
	}
	res, err = m.score(s)
	return res, err == nil, err
}

// Band is the band of score under model id's limits (the default limits for
// an unknown model).
func (sc *Scorer) Band(id string, score float64) string {
	for _, m := range sc.models {
		if m.ID == id {
			return m.band(score)
		}
	}
	return (&compiled{red: DefaultRedBelow, yellow: DefaultYellowBelow}).band(score)
}

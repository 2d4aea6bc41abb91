// Package health scores accounts with configurable health models: measures
// (a snapshot field or expression mapped to 0–100 by thresholds or a linear
// range), weights and bands, one model per segment or lifecycle stage chosen
// by a rule. It explains every score by its measures' contributions and by
// what changed since the previous score, keeps a daily history, applies
// manual overrides, and back-tests a model against past churn.
package health

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

// Bands, best first.
const (
	Green  = "green"
	Yellow = "yellow"
	Red    = "red"
)

// Default band limits, used when a model leaves them out.
const (
	DefaultRedBelow    = 40.0
	DefaultYellowBelow = 70.0
)

// Model is a health model as users write it (and as the export file holds it).
type Model struct {
	ID          string `json:"id" doc:"Letters, digits, '-' and '_'."`
	Name        string `json:"name" required:"false" doc:"Default: the id."`
	Description string `json:"description,omitempty"`
	// AppliesTo is a condition on the snapshot; empty for the default model,
	// which scores every account no other model applies to.
	AppliesTo string    `json:"applies_to,omitempty" doc:"A rule condition; empty for the default model."`
	Priority  int       `json:"priority" required:"false" doc:"Models are tried in ascending priority; the first whose applies_to matches wins."`
	Bands     Bands     `json:"bands" required:"false"`
	Measures  []Measure `json:"measures" minItems:"1"`
	// Version counts the saves of the model; set by the store.
	Version int64 `json:"version,omitempty" readOnly:"true"`
}

// Bands are the score limits: red below RedBelow, yellow below YellowBelow,
// green otherwise.
type Bands struct {
	RedBelow    *float64 `json:"red_below,omitempty" doc:"Default 40."`
	YellowBelow *float64 `json:"yellow_below,omitempty" doc:"Default 70."`
}

// Measure is one input of a model.
type Measure struct {
	Name string `json:"name"`
	// Field is a number rule: a snapshot field or an expression over it.
	Field string `json:"field" doc:"A number rule, e.g. seat_utilization or usage_30d[\"reports\"] / 30."`
	// Exactly one of Thresholds and Linear maps the value to 0–100.
	Thresholds []Threshold `json:"thresholds,omitempty" doc:"The score of the highest min at or below the value; below every min the score is 0."`
	Linear     *Linear     `json:"linear,omitempty"`
	Weight     float64     `json:"weight" doc:"Greater than 0."`
	// When, if set, is a condition: when false the measure is left out and
	// the other weights are renormalised.
	When string `json:"when,omitempty" doc:"A rule condition; when false the measure is left out, e.g. has_nps."`
}

// Threshold maps values from Min up (to the next threshold) to Score.
type Threshold struct {
	Min   float64 `json:"min"`
	Score float64 `json:"score" minimum:"0" maximum:"100"`
}

// Linear maps From to 0 and To to 100, clamped; From > To inverts it.
type Linear struct {
	From float64 `json:"from"`
	To   float64 `json:"to"`
}

// Error is a model that does not validate: which model, which measure,
// which part and why. Rule is set when a rule does not compile.
type Error struct {
	Model   string      `json:"model"`
	Measure string      `json:"measure,omitempty"`
	Part    string      `json:"part,omitempty" doc:"applies_to, field, when, weight, thresholds, linear, bands, id, name, measures."`
	Message string      `json:"message"`
	Rule    *rule.Error `json:"rule,omitempty"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model %q", e.Model)
	if e.Measure != "" {
		fmt.Fprintf(&b, ": measure %q", e.Measure)
	}
	if e.Part != "" {
		fmt.Fprintf(&b, ": %s", e.Part)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	return b.String()
}

// ErrInvalid is wrapped by every validation error, for callers that map it
// to a status.
var ErrInvalid = errors.New("invalid health model")

func (e *Error) Unwrap() error { return ErrInvalid }

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// compiled is a validated model, ready to score.
type compiled struct {
	Model
	red, yellow float64
	applies     *rule.Rule // nil for the default model
	measures    []compiledMeasure
}

type compiledMeasure struct {
	Measure
	field *rule.Rule
	when  *rule.Rule // nil: always
}

// Validate checks m and fills its default bands. It returns an *Error.
func (m *Model) Validate() error {
	_, err := compile(m)
	return err
}

// compile validates m (filling its default bands) and compiles its rules.
func compile(m *Model) (*compiled, error) {
	fail := func(measure, part, format string, args ...any) error {
		return &Error{Model: m.ID, Measure: measure, Part: part, Message: fmt.Sprintf(format, args...)}
	}
	ruleErr := func(measure, part string, err error) error {
		e := &Error{Model: m.ID, Measure: measure, Part: part, Message: err.Error()}
		if re, ok := errors.AsType[*rule.Error](err); ok {
			e.Rule = re
		}
		return e
	}
	if !idPattern.MatchString(m.ID) {
		return nil, fail("", "id", "the id must be 1–64 letters, digits, '-' or '_'")
	}
	if strings.TrimSpace(m.Name) == "" {
		m.Name = m.ID
	}
	if m.Bands.RedBelow == nil {
		v := DefaultRedBelow
		m.Bands.RedBelow = &v
	}
	if m.Bands.YellowBelow == nil {
		v := DefaultYellowBelow
		m.Bands.YellowBelow = &v
	}
	c := &compiled{Model: *m, red: *m.Bands.RedBelow, yellow: *m.Bands.YellowBelow}
	if !(c.red >= 0 && c.red <= c.yellow && c.yellow <= 100) {
		return nil, fail("", "bands", "need 0 ≤ red_below (%v) ≤ yellow_below (%v) ≤ 100", c.red, c.yellow)
	}
	if strings.TrimSpace(m.AppliesTo) != "" {
		r, err := rule.Compile(m.AppliesTo, rule.Bool)
		if err != nil {
			return nil, ruleErr("", "applies_to", err)
		}
		c.applies = r
	}
	if len(m.Measures) == 0 {
		return nil, fail("", "measures", "a model needs at least one measure")
	}
	seen := map[string]bool{}
	for i, ms := range m.Measures {
		name := ms.Name
		if strings.TrimSpace(name) == "" {
			return nil, fail(fmt.Sprintf("#%d", i+1), "name", "the measure has no name")
		}
		if seen[name] {
			return nil, fail(name, "name", "two measures have this name")
		}
		seen[name] = true
		cm := compiledMeasure{Measure: ms}
		r, err := rule.Compile(ms.Field, rule.Number)
		if err != nil {
			return nil, ruleErr(name, "field", err)
		}
		cm.field = r
		if strings.TrimSpace(ms.When) != "" {
			w, err := rule.Compile(ms.When, rule.Bool)
			if err != nil {
				return nil, ruleErr(name, "when", err)
			}
			cm.when = w
		}
		if !(ms.Weight > 0) || math.IsInf(ms.Weight, 0) {
			return nil, fail(name, "weight", "the weight must be a number greater than 0, not %v", ms.Weight)
		}
		switch {
		case len(ms.Thresholds) > 0 && ms.Linear != nil:
			return nil, fail(name, "thresholds", "give either thresholds or linear, not both")
		case len(ms.Thresholds) > 0:
			for j, th := range ms.Thresholds {
				if !(th.Score >= 0 && th.Score <= 100) {
					return nil, fail(name, "thresholds", "threshold %d: the score must be within 0–100, not %v", j+1, th.Score)
				}
				if math.IsNaN(th.Min) || math.IsInf(th.Min, 0) {
					return nil, fail(name, "thresholds", "threshold %d: min must be a finite number", j+1)
				}
				if j > 0 && !(th.Min > ms.Thresholds[j-1].Min) {
					return nil, fail(name, "thresholds", "threshold %d: min %v must be greater than the one before (%v)", j+1, th.Min, ms.Thresholds[j-1].Min)
				}
			}
		case ms.Linear != nil:
			if ms.Linear.From == ms.Linear.To || math.IsNaN(ms.Linear.From) || math.IsNaN(ms.Linear.To) ||
				math.IsInf(ms.Linear.From, 0) || math.IsInf(ms.Linear.To, 0) {
				return nil, fail(name, "linear", "from and to must be two different finite numbers (%v, %v)", ms.Linear.From, ms.Linear.To)
			}
		default:
			return nil, fail(name, "thresholds", "give thresholds or linear to map the value to 0–100")
		}
		c.measures = append(c.measures, cm)
	}
	return c, nil
}

// ValidateSet checks a whole set of models: each one, unique ids, and
// exactly one default model (empty applies_to) when there is any model.
func ValidateSet(models []Model) error {
	_, err := compileSet(models)
	return err
}

// compileSet validates and compiles models and orders them for selection.
func compileSet(models []Model) ([]*compiled, error) {
	var out []*compiled
	ids := map[string]bool{}
	defaults := 0
	for i := range models {
		c, err := compile(&models[i])
		if err != nil {
			return nil, err
		}
		if ids[c.ID] {
			return nil, &Error{Model: c.ID, Part: "id", Message: "two models have this id"}
		}
		ids[c.ID] = true
		if c.applies == nil {
			defaults++
		}
		out = append(out, c)
	}
	if len(out) > 0 && defaults != 1 {
		return nil, &Error{Model: "", Part: "applies_to", Message: fmt.Sprintf("exactly one default model (empty applies_to) is required; there are %d", defaults)}
	}
	sortModels(out)
	return out, nil
}

// sortModels orders models for selection (see order).
func sortModels(ms []*compiled) {
	slices.SortStableFunc(ms, func(a, b *compiled) int { return order(&a.Model, &b.Model) })
}

// order is the selection order: ascending priority, then id; the default
// model always last, since it is the fallback.
func order(a, b *Model) int {
	ad, bd := strings.TrimSpace(a.AppliesTo) == "", strings.TrimSpace(b.AppliesTo) == ""
	if ad != bd {
		if ad {
			return 1
		}
		return -1
	}
	if a.Priority != b.Priority {
		return a.Priority - b.Priority
	}
	return strings.Compare(a.ID, b.ID)
}

// pick is the model that scores s: the first whose applies_to matches.
func pick(models []*compiled, s *snapshot.Snapshot) (*compiled, error) {
	for _, m := range models {
		if m.applies == nil {
			return m, nil
		}
		ok, err := m.applies.Match(s)
		if err != nil {
			return nil, fmt.Errorf("model %q: applies_to: %w", m.ID, err)
		}
		if ok {
			return m, nil
		}
	}
	return nil, nil
}

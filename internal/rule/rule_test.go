package rule_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		source       string
		kind         rule.Kind
		line, column int
		message      string
	}{
		{"mrr > 100 && active_usrs_30d < 3", rule.Bool, 1, 14, "unknown name active_usrs_30d (did you mean active_users_30d?)"},
		{"mrr > ", rule.Bool, 1, 6, "unexpected token EOF"},
		{"plan + 1", rule.Bool, 1, 6, "mismatched types string and int"},
		{"mrr > 10 &&\n  owner == 5", rule.Bool, 2, 9, "mismatched types string and int"},
		{"mrr * 2", rule.Bool, 1, 1, "expected bool"},
		{"owner", rule.Number, 1, 1, "expected float64"},
		{"zzzz > 1", rule.Bool, 1, 1, "unknown name zzzz"},
		{"   ", rule.Bool, 1, 1, "the rule is empty"},
		{strings.Repeat("mrr > 1 && ", 400) + "true", rule.Bool, 1, 1, "at most 4096"},
	}
	for _, c := range cases {
		_, err := rule.Compile(c.source, c.kind)
		var e *rule.Error
		if !errors.As(err, &e) {
			t.Errorf("%q: error %v, want a *rule.Error", c.source, err)
			continue
		}
		if e.Line != c.line || e.Column != c.column || !strings.Contains(e.Message, c.message) {
			t.Errorf("%q: line %d column %d %q; want %d, %d and %q", c.source, e.Line, e.Column, e.Message, c.line, c.column, c.message)
		}
	}
	if _, err := rule.Compile("zzzz > 1", rule.Bool); strings.Contains(err.Error(), "did you mean") {
		t.Errorf("a far name got a suggestion: %v", err)
	}
}

func TestEvaluate(t *testing.T) {
	s := &snapshot.Snapshot{AccountID: "a", MRR: 500, DaysToRenewal: -1, ActiveUsers30d: 2, Seats: 10, SeatUtilization: 0.2, HasNPS: true, LastNPS: 4,
		Usage30d: map[string]float64{"reports": 3}, FeaturesUsed30d: []string{"reports"}, Products: []string{"platform"},
		Attributes: map[string]any{"segment": "enterprise", "employees": 120.0}}
	for _, c := range []struct {
		source string
		want   bool
	}{
		{"mrr >= 500 && active_users_30d < 3", true},
		{`attr["segment"] == "enterprise" && attr["employees"] > 100`, true},
		{`has_nps && last_nps <= 6`, true},
		{`usage_30d["reports"] > 0 && usage_30d["dashboards"] == 0`, true},
		{`"reports" in features_used_30d && !("export" in features_used_30d)`, true},
		{`seat_utilization < 0.3 and "platform" in products`, true},
		{`days_to_renewal >= 0 && days_to_renewal <= 90`, false},
	} {
		r, err := rule.Compile(c.source, rule.Bool)
		if err != nil {
			t.Errorf("%q: %v", c.source, err)
			continue
		}
		if got, err := r.Match(s); err != nil || got != c.want {
			t.Errorf("%q = %v, %v; want %v", c.source, got, err, c.want)
		}
	}
	r, err := rule.Compile("active_users_30d / seats * 100", rule.Number)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := r.Value(s); err != nil || v != 20 {
		t.Errorf("value %v, %v", v, err)
	}
	if _, err := r.Match(s); err == nil {
		t.Error("Match of a number rule: no error")
	}
}

// TestFields: a rule's fields are the snapshot fields it reads, each once,
// sorted, wherever they appear (operands, map keys, calls, closures, let).
func TestFields(t *testing.T) {
	for _, tc := range []struct {
		source string
		kind   rule.Kind
		want   []string
	}{
		{"setup_done", rule.Bool, []string{"setup_done"}},
		{"setup_done && login_week_rate >= 0.6 || setup_done", rule.Bool, []string{"login_week_rate", "setup_done"}},
		{`usage_30d["reports"] ?? 0`, rule.Number, []string{"usage_30d"}},
		{`attr["segment"] == "enterprise" && "core" in products`, rule.Bool, []string{"attr", "products"}},
		{`any(features_used_30d, # == "reports") && len(segments) > 0`, rule.Bool, []string{"features_used_30d", "segments"}},
		{`let u = active_users_30d; u > 3 && mrr > 100`, rule.Bool, []string{"active_users_30d", "mrr", "u"}},
		{`csm_sentiment != "" ? csm_sentiment_score : 50`, rule.Number, []string{"csm_sentiment", "csm_sentiment_score"}},
		{"1 + 2 > 2", rule.Bool, []string{}},
	} {
		r, err := rule.Compile(tc.source, tc.kind)
		if err != nil {
			t.Fatalf("%s: %v", tc.source, err)
		}
		if got := r.Fields(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Fields(%s) = %v, want %v", tc.source, got, tc.want)
		}
	}
}

package metrics

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// SurveyRow is one month (and group) of survey results, by CONTRACT.md's
// definitions: NPS = 100 × (promoters − detractors) / responses; CSAT = the
// share of 4s and 5s; CES is the mean score (1–7, lower is easier).
type SurveyRow struct {
	Month         string   `json:"month"`
	Group         *string  `json:"group,omitempty" doc:"The breakdown value, when by is given."`
	NPS           *float64 `json:"nps"`
	NPSResponses  int      `json:"nps_responses"`
	Promoters     int      `json:"promoters"`
	Passives      int      `json:"passives"`
	Detractors    int      `json:"detractors"`
	CSAT          *float64 `json:"csat"`
	CSATResponses int      `json:"csat_responses"`
	CES           *float64 `json:"ces"`
	CESResponses  int      `json:"ces_responses"`
}

// Surveys computes NPS, CSAT and CES by month of the answer, for months
// from..to, optionally by "survey" (the survey's name) or by an account
// breakdown (owner, tier, attr:NAME), from the responses recorded by asOf
// (nil: all).
func Surveys(ctx context.Context, q store.Querier, from, to time.Time, by string, asOf *time.Time) ([]SurveyRow, error) {
	lo, hi := Month.bucketOf(from.Unix()), Month.bucketOf(to.Unix())
	if hi < lo {
		return nil, fmt.Errorf("%w: to %s is before from %s", ErrBadOptions, Month.label(hi), Month.label(lo))
	}
	if hi-lo+1 > 1200 {
		return nil, fmt.Errorf("%w: %d months is more than 1200", ErrBadOptions, hi-lo+1)
	}
	var groupOf map[string]string
	if by != "" && by != "survey" {
		if _, perPeriod := periodDimensions[by]; perPeriod {
			return nil, fmt.Errorf("%w: survey answers belong to accounts, not to a %s: break down by survey, owner, tier or attr:NAME", ErrBadOptions, by)
		}
		var err error
		if groupOf, err = accountGroups(ctx, q, by, asOf); err != nil {
			return nil, err
		}
	}
	var known int64 = math.MaxInt64
	if asOf != nil {
		known = asOf.Unix()
	}
	rows, err := q.QueryContext(ctx, `SELECT account_id, survey, kind, score, answered_at FROM survey_responses
		WHERE answered_at >= $1 AND answered_at < $2 AND recorded_at <= $3`, Month.start(lo), Month.start(hi+1), known)
	if err != nil {
		return nil, fmt.Errorf("metrics: read survey responses: %w", err)
	}
	defer rows.Close()
	type key struct {
		group string
		month int
		kind  string
	}
	scores := map[key][]int{}
	groups := map[string]bool{"": by == ""}
	for rows.Next() {
		var acct, name, kind string
		var score int
		var at int64
		if err := rows.Scan(&acct, &name, &kind, &score, &at); err != nil {
			return nil, fmt.Errorf("metrics: read survey responses: %w", err)
		}
		g := ""
		switch {
		case by == "survey":
			g = name
		case by != "":
			g = groupOf[acct]
		}
		groups[g] = true
		k := key{g, Month.bucketOf(at), kind}
		scores[k] = append(scores[k], score)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metrics: read survey responses: %w", err)
	}
	names := make([]string, 0, len(groups))
	for g, ok := range groups {
		if ok {
			names = append(names, g)
		}
	}
	slices.SortFunc(names, strings.Compare)
	var out []SurveyRow
	for _, g := range names {
		for m := lo; m <= hi; m++ {
			r := SurveyRow{Month: Month.label(m)}
			if by != "" {
				r.Group = &g
			}
			if s := scores[key{g, m, "nps"}]; len(s) > 0 {
				if v, ok := survey.NPS(s); ok {
					r.NPS = &v
				}
				for _, x := range s {
					switch {
					case x >= 9:
						r.Promoters++
					case x >= 7:
						r.Passives++
					default:
						r.Detractors++
					}
				}
				r.NPSResponses = len(s)
			}
			if s := scores[key{g, m, "csat"}]; len(s) > 0 {
				if v, ok := survey.CSAT(s); ok {
					r.CSAT = &v
				}
				r.CSATResponses = len(s)
			}
			if s := scores[key{g, m, "ces"}]; len(s) > 0 {
				var sum int
				for _, x := range s {
					sum += x
				}
				v := float64(sum) / float64(len(s))
				r.CES = &v
				r.CESResponses = len(s)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

package survey

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// KindScore is the score of a survey of kind over scores: NPS (−100…100),
// CSAT (the share of 4–5) or CES (the mean); ok is false without responses.
func KindScore(kind string, scores []int) (v float64, ok bool) {
	switch kind {
	case "nps":
		return NPS(scores)
	case "csat":
		return CSAT(scores)
	}
	if len(scores) == 0 {
		return 0, false
	}
	total := 0
	for _, x := range scores {
		total += x
	}
	return float64(total) / float64(len(scores)), true
}

// Results are a survey's answers in figures: the score and its parts, the
// distribution of scores and the score by month.
type Results struct {
	Kind      string
	Responses int
	Score     *float64
	// NPS: promoters 9–10, passives 7–8, detractors 0–6. CSAT: Satisfied
	// are the 4–5 answers.
	Promoters, Passives, Detractors, Satisfied int
	// Distribution counts the responses by score: Distribution[i] answered
	// Low+i.
	Low          int
	Distribution []int
	// Months are the calendar months (UTC) with answers, oldest first.
	Months []MonthScore
}

// MonthScore is a survey's score over the answers of one month.
type MonthScore struct {
	Month     string // YYYY-MM
	Responses int
	Score     float64
}

// Compute returns the results of survey s from its responses.
func Compute(ctx context.Context, q store.Querier, s Survey) (Results, error) {
	rng, ok := ScoreRange[s.Kind]
	if !ok {
		return Results{}, fmt.Errorf("results of survey %s: kind %q: want nps, csat or ces", s.ID, s.Kind)
	}
	res := Results{Kind: s.Kind, Low: rng[0], Distribution: make([]int, rng[1]-rng[0]+1)}
	rows, err := q.QueryContext(ctx, `SELECT score, answered_at FROM survey_responses WHERE survey = $1
		ORDER BY answered_at, response_id`, s.ID)
	if err != nil {
		return res, fmt.Errorf("results of survey %s: %w", s.ID, err)
	}
	type answer struct {
		score int
		at    int64
	}
	list, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (answer, error) {
		var a answer
		return a, sc.Scan(&a.score, &a.at)
	})
	if err != nil {
		return res, fmt.Errorf("results of survey %s: %w", s.ID, err)
	}
	var all, month []int
	current := ""
	flush := func() {
		if v, ok := KindScore(s.Kind, month); ok {
			res.Months = append(res.Months, MonthScore{Month: current, Responses: len(month), Score: v})
		}
		month = month[:0]
	}
	for _, a := range list {
		// A response imported under this survey's id with another kind's
		// range would not fit the distribution: it is left out, as the
		// score functions leave it out.
		if a.score < rng[0] || a.score > rng[1] {
			continue
		}
		if m := time.Unix(a.at, 0).UTC().Format("2006-01"); m != current {
			flush()
			current = m
		}
		month = append(month, a.score)
		all = append(all, a.score)
		res.Distribution[a.score-rng[0]]++
		switch {
		case s.Kind == "nps" && a.score >= 9:
			res.Promoters++
		case s.Kind == "nps" && a.score >= 7:
			res.Passives++
		case s.Kind == "nps":
			res.Detractors++
		case s.Kind == "csat" && a.score >= 4:
			res.Satisfied++
		}
	}
	flush()
	res.Responses = len(all)
	if v, ok := KindScore(s.Kind, all); ok {
		res.Score = &v
	}
	return res, nil
}

package demo_test

import (
	"context"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// TestDemoSurveys: the campaigns behind the generated answers (the last
// two NPS waves before the anchor, the onboarding CSAT), each answer with
// the send that asked for it, and the feedback grouped into product
// requests in every status without a close-the-loop email.
func TestDemoSurveys(t *testing.T) {
	db := storetest.SQLite(t)
	generate(t, db, 2, 0.05)
	ctx := context.Background()
	list, err := survey.List(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	// The anchor is 2026-06-15: the waves are on the 20th of June and
	// December from 2023-06-20; the one of 2026-06-20 is still to come.
	want := []struct{ id, kind, status string }{
		{"nps-2025-h1", "nps", survey.StatusClosed},
		{"nps-2025-h2", "nps", survey.StatusActive},
		{demo.OnboardingSurvey, "csat", survey.StatusActive},
	}
	if len(list) != len(want) {
		t.Fatalf("surveys = %+v", list)
	}
	for i, w := range want {
		s := list[i]
		if s.ID != w.id || s.Kind != w.kind || s.Status != w.status {
			t.Errorf("survey %d = %s %s %s, want %+v", i, s.ID, s.Kind, s.Status, w)
			continue
		}
		var responses, answeredSends, early, unasked int
		if err := db.QueryRow(`SELECT COUNT(*) FROM survey_responses WHERE survey = $1`, s.ID).Scan(&responses); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT COUNT(*), COUNT(CASE WHEN responded_at < sent_at THEN 1 END) FROM survey_sends
			WHERE survey_id = $1 AND responded_at IS NOT NULL`, s.ID).Scan(&answeredSends, &early); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT COUNT(*) FROM survey_responses r WHERE r.survey = $1 AND NOT EXISTS
			(SELECT 1 FROM survey_sends ss WHERE ss.survey_id = r.survey AND ss.contact_id = r.contact_id)`, s.ID).Scan(&unasked); err != nil {
			t.Fatal(err)
		}
		if responses == 0 || answeredSends != responses || early != 0 || unasked != 0 {
			t.Errorf("%s: %d responses, %d answered sends (%d answered before sent), %d answers never asked", s.ID, responses, answeredSends, early, unasked)
		}
		sum, err := survey.Summarize(ctx, db, s)
		if err != nil {
			t.Fatal(err)
		}
		// The generator answers 35 % (NPS) and 40 % (CSAT) of those asked.
		if sum.ResponseRate == nil || *sum.ResponseRate < 0.2 || *sum.ResponseRate > 0.6 || sum.Score == nil {
			t.Errorf("%s: summary %+v", s.ID, sum)
		}
	}

	reqs, err := feedback.Rank(ctx, db, feedback.RankOptions{})
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]int{}
	for _, r := range reqs {
		statuses[r.Status]++
		var items, same int
		if err := db.QueryRow(`SELECT COUNT(*) FROM feedback WHERE text = $1`, r.Title).Scan(&same); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT COUNT(*) FROM feedback WHERE request_id = $1 AND text = $2`, r.ID, r.Title).Scan(&items); err != nil {
			t.Fatal(err)
		}
		if r.Items != same || items != same || (r.Status != feedback.StatusOpen && r.StatusChangedAt == nil) {
			t.Errorf("%s: %d items, %d with its text of %d; status %s changed %v", r.ID, r.Items, items, same, r.Status, r.StatusChangedAt)
		}
	}
	if len(reqs) != 6 || statuses["open"] != 2 || statuses["planned"] != 2 || statuses["shipped"] != 1 || statuses["declined"] != 1 {
		t.Errorf("%d requests by status %v", len(reqs), statuses)
	}
	var loops int
	if err := db.QueryRow(`SELECT COUNT(*) FROM deliveries WHERE subject LIKE 'Shipped:%' OR subject LIKE 'Declined:%'`).Scan(&loops); err != nil || loops != 0 {
		t.Errorf("%d close-the-loop emails (%v): the demo's history closes no loop", loops, err)
	}
}

package health

import (
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

// PreviewBuckets is the number of histogram buckets of a preview: ten
// points of score each, the last one including 100.
const PreviewBuckets = 10

// Preview is what saving a model would do to the current scores.
type Preview struct {
	// Accounts are the snapshots looked at; Scored those the edited model
	// would score (its applies_to matches and no model before it does).
	Accounts int `json:"accounts"`
	Scored   int `json:"scored"`
	// Histogram counts the scored accounts by score: bucket i holds scores
	// from 10·i up to 10·(i+1), the last one including 100.
	Histogram [PreviewBuckets]int `json:"histogram"`
	Bands     map[string]int      `json:"bands"`
	// Changed counts the accounts (of all the snapshots) whose band would
	// differ from the one the saved models give them; manual overrides are
	// left out of both.
	Changed int `json:"changed"`
}

// PreviewModel scores snaps with saved where m replaces the saved model of
// its id (or joins them when new), without storing anything, and compares
// each band with the saved models'. The set with m must be valid (one
// default model), as saving it requires; the error is then an *Error.
func PreviewModel(saved []Model, m Model, snaps []snapshot.Snapshot) (Preview, error) {
	set := make([]Model, 0, len(saved)+1)
	found := false
	for _, s := range saved {
		if s.ID == m.ID {
			s, found = m, true
		}
		set = append(set, s)
	}
	if !found {
		set = append(set, m)
	}
	if err := m.Validate(); err != nil {
		return Preview{}, err
	}
	after, err := NewScorer(set)
	if err != nil {
		return Preview{}, err
	}
	var before *Scorer
	if len(saved) > 0 {
		if before, err = NewScorer(saved); err != nil {
			return Preview{}, fmt.Errorf("the saved health models: %w", err)
		}
	}
	p := Preview{Accounts: len(snaps), Bands: map[string]int{Green: 0, Yellow: 0, Red: 0}}
	for i := range snaps {
		res, _, err := after.Score(&snaps[i])
		if err != nil {
			return p, fmt.Errorf("preview on account %s: %w", snaps[i].AccountID, err)
		}
		if res.ModelID == m.ID {
			p.Scored++
			p.Bands[res.Band]++
			p.Histogram[min(int(res.Score/10), PreviewBuckets-1)]++
		}
		was := ""
		if before != nil {
			old, _, err := before.Score(&snaps[i])
			if err != nil {
				return p, fmt.Errorf("preview on account %s with the saved models: %w", snaps[i].AccountID, err)
			}
			was = old.Band
		}
		if was != res.Band {
			p.Changed++
		}
	}
	return p, nil
}

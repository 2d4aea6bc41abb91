package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Job is one job as [List] shows it.
type Job struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Queue       string          `json:"queue"`
	State       string          `json:"state"`
	Args        json.RawMessage `json:"args"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Errors      []JobError      `json:"errors"`
	CreatedAt   time.Time       `json:"created_at"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	FinalizedAt *time.Time      `json:"finalized_at,omitempty"`
}

// JobError is one failed attempt.
type JobError struct {
	At      time.Time `json:"at"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
}

// States are the job states List accepts, River's names.
var States = []string{"available", "cancelled", "completed", "discarded", "pending", "retryable", "running", "scheduled"}

// Kinds are Kizuna's job kinds.
var Kinds = []string{KindRecomputeAll, KindRecomputeAccounts, KindDeliver, KindChurnRetrain}

// ListOptions filter [List]; empty fields do not filter.
type ListOptions struct {
	States []string
	Kinds  []string
	Limit  int // default 100, at most 1000
}

// List returns jobs of db, newest first: what failed deliveries and
// recomputes went through (attempts, errors, when the next try is).
func List(ctx context.Context, db *store.DB, opts ListOptions) ([]Job, error) {
	// An insert-only client: listing needs no workers and no running queue.
	client, err := river.NewClient(driver(db), &river.Config{})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > 1000 {
		return nil, fmt.Errorf("list jobs: limit %d: at most 1000", limit)
	}
	p := river.NewJobListParams().First(limit).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	if len(opts.States) > 0 {
		var states []rivertype.JobState
		for _, s := range opts.States {
			if !slices.Contains(States, s) {
				return nil, fmt.Errorf("list jobs: state %q: want one of %s", s, strings.Join(States, ", "))
			}
			states = append(states, rivertype.JobState(s))
		}
		p = p.States(states...)
	}
	if len(opts.Kinds) > 0 {
		for _, k := range opts.Kinds {
			if !slices.Contains(Kinds, k) {
				return nil, fmt.Errorf("list jobs: kind %q: want one of %s", k, strings.Join(Kinds, ", "))
			}
		}
		p = p.Kinds(opts.Kinds...)
	}
	res, err := client.JobList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	out := make([]Job, 0, len(res.Jobs))
	for _, r := range res.Jobs {
		j := Job{ID: r.ID, Kind: r.Kind, Queue: r.Queue, State: string(r.State), Args: json.RawMessage(r.EncodedArgs),
			Attempt: r.Attempt, MaxAttempts: r.MaxAttempts, Errors: []JobError{}, CreatedAt: r.CreatedAt.UTC(),
			ScheduledAt: r.ScheduledAt.UTC(), FinalizedAt: r.FinalizedAt}
		for _, e := range r.Errors {
			j.Errors = append(j.Errors, JobError{At: e.At.UTC(), Attempt: e.Attempt, Error: e.Error})
		}
		out = append(out, j)
	}
	return out, nil
}

package web

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/jobs"
)

// JobsInput filters the job list.
type JobsInput struct {
	State string `query:"state" doc:"Comma-separated job states: available, cancelled, completed, discarded, pending, retryable, running, scheduled. Default: all."`
	Kind  string `query:"kind" doc:"Comma-separated job kinds: recompute_all, recompute_accounts, deliver, churn_retrain. Default: all."`
	Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"At most this many jobs, newest first."`
}

type jobsOutput struct{ Body []jobs.Job }

// registerJobs serves the job queue's jobs (every kind in jobs.Kinds), so
// that failed deliveries, recomputes and retrainings (state retryable or
// discarded) are visible with their errors.
func registerJobs(s *Server, api huma.API) {
	register(api, needAudit, huma.Operation{
		OperationID: "list-jobs", Method: http.MethodGet, Path: "/jobs", Tags: []string{"Jobs"},
		Summary: "Background jobs",
		Description: "Jobs of the queue (" + strings.Join(jobs.Kinds, ", ") + "), newest first, with their arguments, " +
			"attempts, the error of each failed attempt and when the job is (or was) scheduled: " +
			"?state=retryable,discarded&kind=deliver lists the deliveries that are failing or gave up.",
	}, func(ctx context.Context, in *JobsInput) (*jobsOutput, error) {
		opts := jobs.ListOptions{States: splitParam(in.State), Kinds: splitParam(in.Kind), Limit: in.Limit}
		for _, st := range opts.States {
			if !slices.Contains(jobs.States, st) {
				return nil, huma.Error422UnprocessableEntity("state " + st + ": want one of " + strings.Join(jobs.States, ", "))
			}
		}
		for _, k := range opts.Kinds {
			if !slices.Contains(jobs.Kinds, k) {
				return nil, huma.Error422UnprocessableEntity("kind " + k + ": want one of " + strings.Join(jobs.Kinds, ", "))
			}
		}
		list, err := jobs.List(ctx, s.db, opts)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &jobsOutput{Body: list}, nil
	})
}

// splitParam splits a comma-separated query parameter, dropping empty items.
func splitParam(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

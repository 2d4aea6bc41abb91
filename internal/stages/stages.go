// Package stages is the recompute pipeline's list of stages: one place
// that the server, the CLI and the tests build it from, so that they run
// the same stages in the same order.
package stages

import (
	"context"

	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/lifecycle"
	"github.com/kizuna-cs/kizuna/internal/onboarding"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Builder returns the builder of the recompute stages, in order: health,
// onboarding, lifecycle stages, segments, playbooks (each reads what the
// ones before it wrote into the snapshot). enqueue hands the deliveries a
// batch wrote to the job queue, in the batch's transaction.
func Builder(enqueue func(ctx context.Context, q store.Querier, ids []string) error) func(context.Context, store.Querier, bool) ([]recompute.Stage, error) {
	return func(ctx context.Context, q store.Querier, partial bool) ([]recompute.Stage, error) {
		h, err := health.NewStage(ctx, q)
		if err != nil {
			return nil, err
		}
		h.Partial = partial
		ob, err := onboarding.NewStage(ctx, q)
		if err != nil {
			return nil, err
		}
		ob.Partial = partial
		lc, err := lifecycle.NewStage(ctx, q)
		if err != nil {
			return nil, err
		}
		seg, err := segment.NewStage(ctx, q)
		if err != nil {
			return nil, err
		}
		pb, err := playbook.NewStage(ctx, q, playbook.Options{Enqueue: enqueue, Partial: partial})
		if err != nil {
			return nil, err
		}
		return []recompute.Stage{h, ob, lc, seg, pb}, nil
	}
}

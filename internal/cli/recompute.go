package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"time"

	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/stages"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// RecomputeCmd runs the recompute pipeline in the foreground.
type RecomputeCmd struct {
	Accounts  []string `name:"accounts" sep:"," help:"Only these accounts (comma-separated ids); default every account."`
	At        string   `name:"at" help:"The moment to compute at: a date (00:00 UTC) or an RFC 3339 time. Default: now."`
	BatchSize int      `name:"batch-size" default:"1000" help:"Accounts per batch (one write transaction each)."`
	Readers   int      `name:"readers" default:"0" help:"Batches computed at once (0: one per CPU, at most 4)."`
	Format    string   `default:"table" enum:"table,json" help:"Output: table or json."`
}

// pipeline returns the builder of the recompute stages (see package
// stages); enqueue hands the deliveries a batch wrote to the job queue.
func pipeline(enqueue func(ctx context.Context, q store.Querier, ids []string) error) func(context.Context, store.Querier, bool) ([]recompute.Stage, error) {
	return stages.Builder(enqueue)
}

// queueDeliveries is the playbook stage's Enqueue over j: one deliver job
// a delivery, inserted in the batch's transaction so that a delivery and its
// job commit together.
func queueDeliveries(j *jobs.Jobs) func(ctx context.Context, q store.Querier, ids []string) error {
	return func(ctx context.Context, q store.Querier, ids []string) error {
		tx, ok := q.(*sql.Tx)
		if !ok {
			return errors.New("queue deliveries: not in a transaction")
		}
		for _, id := range ids {
			if err := j.Deliver(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	}
}

// queueRecomputeAll asks the server's workers for a recompute_all (after a
// change that concerns every account), through an insert-only job queue
// client, as the deliveries of a CLI recompute are queued.
func queueRecomputeAll(ctx context.Context, db *store.DB) error {
	if err := jobs.Migrate(ctx, db); err != nil {
		return err
	}
	j, err := jobs.New(db, jobs.Config{})
	if err != nil {
		return err
	}
	return j.ChangedAll(ctx)
}

// cliStages are the stages of a recompute run from the command line: its
// deliveries go to the job queue (a client that only inserts), which the
// server's workers run. partial: a run of some accounts (--accounts).
func cliStages(ctx context.Context, db *store.DB, partial bool) ([]recompute.Stage, error) {
	if err := jobs.Migrate(ctx, db); err != nil {
		return nil, err
	}
	j, err := jobs.New(db, jobs.Config{})
	if err != nil {
		return nil, err
	}
	return pipeline(queueDeliveries(j))(ctx, db, partial)
}

// Run recomputes and prints what it did: accounts, seconds, per stage.
func (c RecomputeCmd) Run(ctx context.Context, g *Globals) error {
	at := time.Now().UTC()
	if c.At != "" {
		var err error
		if at, err = parseInstant(c.At); err != nil {
			return UsageError{fmt.Errorf("--at %q: %w", c.At, err)}
		}
	}
	if c.BatchSize < 1 {
		return UsageError{fmt.Errorf("--batch-size %d: want at least 1", c.BatchSize)}
	}
	if slices.Contains(c.Accounts, "") {
		return UsageError{errors.New("--accounts: an empty account id")}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	stages, err := cliStages(ctx, db, len(c.Accounts) > 0)
	if err != nil {
		return err
	}
	opts := recompute.Options{Stages: stages, BatchSize: c.BatchSize, Readers: c.Readers}
	if os.Getenv("GOGC") == "" {
		// A recompute keeps a few batches live, whatever the number of
		// accounts: collecting garbage four times less often costs about
		// 150 MB and spares a tenth of its CPU time (measured at 100,000
		// accounts). The server's recompute jobs keep the default.
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	if len(c.Accounts) > 0 {
		opts.Accounts = c.Accounts
	}
	res, err := recompute.Run(ctx, db, at, opts)
	if err != nil {
		return err
	}
	if c.Format == "json" {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(g.stdout, "%d accounts in %d batches, %.2f s (snapshots %.2f s over the readers)\n", res.Accounts, res.Batches, res.Seconds, res.ReadSeconds)
	for _, s := range stages {
		fmt.Fprintf(g.stdout, "  %-10s %.2f s\n", s.Name(), res.PerStage[s.Name()])
	}
	return nil
}

// parseInstant reads a date (00:00 UTC) or an RFC 3339 time.
func parseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("want a date (YYYY-MM-DD) or an RFC 3339 time")
	}
	return t.UTC(), nil
}

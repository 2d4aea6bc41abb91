// Package recompute runs the recompute pipeline: it computes account
// snapshots batch by batch (in account_id order) and hands each batch to the
// stages (health → segment → playbook), which write their results in one
// transaction per batch.
//
// Memory stays bounded whatever the number of accounts: only the bounds of
// the batches are listed up front, and at most Readers+1 batches of
// snapshots exist at a time. Reading overlaps writing: Readers goroutines
// compute the next batches on their own connections (SQLite in WAL mode lets
// readers run beside the one writer; PostgreSQL has no such limit) while the
// writer applies the stages to the current batch.
package recompute

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Stage is one step of the pipeline (the pipeline contract of the project;
// health, segment and playbook each export a type with this method set).
type Stage interface {
	Name() string
	// Apply gets the snapshots of one batch of accounts at instant at (account_id order). It may fill snapshot
	// fields for later stages (health fills HealthScore, HealthBand, HealthBandPrevious; segment fills Segments)
	// and writes its results with q (a *sql.Tx of the batch).
	Apply(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot) error
}

// Preparer is a Stage that does the part of its work that reads nothing
// from the database (scoring, say) on the reader goroutines, beside the
// writer, which is the pipeline's bottleneck. Prepare sees the snapshots as
// the reader computed them, before any stage filled its fields, so only a
// stage that reads none of those fields may be one (health, the first).
// The writer then calls ApplyPrepared, with what Prepare returned, instead
// of Apply.
type Preparer interface {
	Prepare(at time.Time, snaps []snapshot.Snapshot) (any, error)
	ApplyPrepared(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot, prepared any) error
}

// Finisher is a Stage with something to record once every batch of a run
// of every account (Options.Accounts nil) is written: health, the day
// through which it scored every account (a daily run leaves an unchanged
// score's row alone). A run that fails, or of some accounts, finishes
// nothing.
type Finisher interface {
	Finish(ctx context.Context, q store.Querier, at time.Time) error
}

// Options of a [Run].
type Options struct {
	// Accounts limits the run to these accounts (unknown ids are skipped);
	// nil means every account.
	Accounts []string
	// Stages run in this order on every batch.
	Stages []Stage
	// BatchSize is the number of accounts a batch holds (default 1000; at
	// most store.MaxInList when Accounts is set).
	BatchSize int
	// Readers is how many batches are computed at once (default: the
	// number of CPUs, at least 1, at most 4).
	Readers int
	// Progress, when set, is called after each batch is written with the
	// number of accounts done so far.
	Progress func(done int)
}

// Result is what a run did.
type Result struct {
	Accounts int     `json:"accounts"`
	Batches  int     `json:"batches"`
	Seconds  float64 `json:"seconds"`
	// ReadSeconds is the time spent computing snapshots and the stages'
	// preparations (Preparer), summed over the readers (so it may exceed
	// Seconds when they overlap).
	ReadSeconds float64 `json:"read_seconds"`
	// PerStage is each stage's time in Apply, by name.
	PerStage map[string]float64 `json:"per_stage"`
}

// BatchError is the error of a failed batch: which batch, which stage (empty
// when computing its snapshots or committing failed) and why. The batch's
// writes were rolled back; the batches before it stay written.
type BatchError struct {
	Batch int // 0-based, in account order
	First string
	Last  string
	Stage string
	Err   error
}

func (e *BatchError) Error() string {
	where := "snapshots"
	if e.Stage != "" {
		where = "stage " + e.Stage
	}
	return fmt.Sprintf("recompute: batch %d (accounts %s..%s): %s: %v", e.Batch, e.First, e.Last, where, e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// batch is one batch's bounds (ids nil: the key range first..last) and,
// once read, its snapshots.
type batch struct {
	n           int
	first, last string
	ids         []string
	snaps       []snapshot.Snapshot
	prepared    []any // by stage: what its Prepare returned
	err         error
	errStage    string // the stage whose Prepare failed
	read        time.Duration
	ready       chan struct{}
}

// prepare runs the Preparer stages' Prepare on b's snapshots.
func (b *batch) prepare(at time.Time, stages []Stage) {
	for i, s := range stages {
		p, ok := s.(Preparer)
		if !ok {
			continue
		}
		if b.prepared == nil {
			b.prepared = make([]any, len(stages))
		}
		v, err := p.Prepare(at, b.snaps)
		if err != nil {
			b.err, b.errStage = err, s.Name()
			return
		}
		b.prepared[i] = v
	}
}

// Run recomputes the accounts at instant at; see the package comment.
func Run(ctx context.Context, db *store.DB, at time.Time, opts Options) (Result, error) {
	start := time.Now()
	res := Result{PerStage: map[string]float64{}}
	for _, s := range opts.Stages {
		res.PerStage[s.Name()] = 0
	}
	size := opts.BatchSize
	if size <= 0 {
		size = 1000
	}
	if opts.Accounts != nil && size > store.MaxInList {
		size = store.MaxInList
	}
	readers := opts.Readers
	if readers <= 0 {
		readers = min(max(runtime.NumCPU(), 1), 4)
	}
	ctx = snapshot.ShareDefaults(ctx) // the stages' Readers too
	r, err := snapshot.NewReader(ctx, db, at)
	if err != nil {
		return res, fmt.Errorf("recompute: %w", err)
	}
	r.SkipStored = true // the stages compute health and segments anew
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The lister sends batches in order to the readers (work) and to the
	// writer (order); tokens bound how many batches exist at once.
	work := make(chan *batch)
	order := make(chan *batch, readers+1)
	tokens := make(chan struct{}, readers+1)
	var listErr error
	go func() {
		defer close(work)
		defer close(order)
		send := func(b *batch) bool {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return false
			}
			b.ready = make(chan struct{})
			order <- b
			work <- b
			return true
		}
		listErr = list(ctx, db, opts.Accounts, size, send)
	}()
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			for b := range work {
				t0 := time.Now()
				b.snaps, b.err = read(ctx, db, r, b)
				if b.err == nil {
					b.prepare(at, opts.Stages)
				}
				b.read = time.Since(t0)
				close(b.ready)
			}
		})
	}
	defer wg.Wait()

	var runErr error
	for b := range order {
		<-b.ready
		if runErr == nil {
			runErr = write(ctx, db, at, opts.Stages, b, &res)
			if runErr == nil && opts.Progress != nil {
				opts.Progress(res.Accounts)
			}
			if runErr != nil {
				cancel()
			}
		}
		b.snaps, b.prepared = nil, nil // list keeps every batch until the run ends
		<-tokens
	}
	res.Seconds = time.Since(start).Seconds()
	if runErr != nil {
		return res, runErr
	}
	if listErr != nil {
		return res, listErr
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	for _, s := range opts.Stages {
		if f, ok := s.(Finisher); ok && opts.Accounts == nil {
			if err := f.Finish(ctx, db, at); err != nil {
				return res, fmt.Errorf("recompute: finish stage %s: %w", s.Name(), err)
			}
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// read computes b's snapshots. On SQLite its queries run in one read
// transaction on one connection: a commit by the writer empties a reader
// connection's page cache at that connection's next read transaction, so
// the batch reads its pages again once, not after each query that follows
// a commit. Its queries also all see the same state.
func read(ctx context.Context, db *store.DB, r *snapshot.Reader, b *batch) ([]snapshot.Snapshot, error) {
	var q store.Querier = db
	if db.Dialect == store.SQLite {
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
			return nil, err
		}
		// Nothing was written: ending it either way is the same.
		defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		q = conn
	}
	if b.ids != nil {
		return r.IDs(ctx, q, b.ids)
	}
	return r.Between(ctx, q, b.first, b.last)
}

// write runs the stages on one read batch in one transaction.
func write(ctx context.Context, db *store.DB, at time.Time, stages []Stage, b *batch, res *Result) error {
	res.ReadSeconds += b.read.Seconds()
	if b.err != nil {
		return &BatchError{Batch: b.n, First: b.first, Last: b.last, Stage: b.errStage, Err: b.err}
	}
	if len(b.snaps) == 0 {
		return nil
	}
	if len(stages) > 0 {
		stage := ""
		spent := make([]time.Duration, len(stages))
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			for i, s := range stages {
				stage = s.Name()
				t0 := time.Now()
				var err error
				if p, ok := s.(Preparer); ok && b.prepared != nil {
					err = p.ApplyPrepared(ctx, tx, at, b.snaps, b.prepared[i])
				} else {
					err = s.Apply(ctx, tx, at, b.snaps)
				}
				spent[i] = time.Since(t0)
				if err != nil {
					return err
				}
			}
			stage = ""
			return nil
		})
		if err != nil {
			return &BatchError{Batch: b.n, First: b.first, Last: b.last, Stage: stage, Err: err}
		}
		for i, s := range stages {
			res.PerStage[s.Name()] += spent[i].Seconds()
		}
	}
	res.Accounts += len(b.snaps)
	res.Batches++
	return nil
}

// list cuts the accounts into batches of size, in account order, and sends
// them; it stops when send returns false.
func list(ctx context.Context, db *store.DB, accounts []string, size int, send func(*batch) bool) error {
	n := 0
	if accounts != nil {
		ids := slices.Clone(accounts)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		for c := range slices.Chunk(ids, size) {
			if !send(&batch{n: n, first: c[0], last: c[len(c)-1], ids: c}) {
				return nil
			}
			n++
		}
		return nil
	}
	// The bounds are listed before any batch is written, so that no read
	// transaction stays open across the run (on SQLite it would keep the
	// WAL from being checkpointed).
	var bounds []*batch
	err := func() error {
		rows, err := db.QueryContext(ctx, `SELECT account_id FROM accounts ORDER BY account_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		var id string
		k := 0
		for rows.Next() {
			if err := rows.Scan(&id); err != nil {
				return err
			}
			if k == 0 {
				bounds = append(bounds, &batch{n: len(bounds), first: id})
			}
			if k++; k == size {
				k = 0
			}
			bounds[len(bounds)-1].last = id
		}
		return rows.Err()
	}()
	if err != nil {
		return fmt.Errorf("recompute: list accounts: %w", err)
	}
	for _, b := range bounds {
		if !send(b) {
			return nil
		}
	}
	return nil
}

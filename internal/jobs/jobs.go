// Package jobs is Kizuna's durable job queue: River, in the same database as
// the data (riversqlite on SQLite, riverdatabasesql on PostgreSQL, so both
// sides work with *sql.Tx and a job can be inserted in the transaction of
// the change that needs it).
//
// Four kinds of job:
//
//   - recompute_all: the whole recompute pipeline (internal/recompute), once
//     at start, then every Config.RecomputeEvery (default 1 h), and when
//     asked for by ChangedAll;
//   - recompute_accounts: the pipeline for the accounts whose data changed.
//     [Jobs.Changed] buffers ids for Config.Debounce (default 500 ms) and
//     then inserts one job for all of them, so that a burst of events (a
//     busy ingestion round, a CSV import) becomes one job, not thousands;
//   - deliver: one outbound delivery (email, webhook, Slack message), by
//     id, through Config.Deliver; a failure is retried with exponential
//     backoff up to Config.DeliverMaxAttempts (default 8), then the job is
//     discarded and stays visible through [List] and GET /api/v1/jobs;
//   - churn_retrain: every Config.ChurnCheckEvery (default 1 h, and at
//     start) it checks whether the churn.retrain_days setting (default 7)
//     has passed since the latest stored churn scoring, and if so retrains
//     the churn model, stores every paying account's score and queues a
//     recompute_all (the snapshots' churn_risk changed); with too little
//     history it logs why and stores nothing.
//
// A change that concerns every account (new churn scores, a new onboarding
// definition, a CSV import) queues a recompute_all at once through
// [Jobs.ChangedAll] or [ChangedAll].
//
// Ids buffered by Changed live in memory until their job is inserted: a
// crash in that half second loses them, and the next recompute_all (at
// start, then hourly) catches up.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Job kinds.
const (
	KindRecomputeAll      = "recompute_all"
	KindRecomputeAccounts = "recompute_accounts"
	KindDeliver           = "deliver"
	KindChurnRetrain      = "churn_retrain"
)

// Queues: recomputes run one at a time (they write in batches, and SQLite
// has one writer), changed accounts in a queue of their own so that they
// are not stuck behind a full recompute's queue position, deliveries beside.
const (
	queueRecompute = "recompute"
	queueChanges   = "changes"
	queueDeliver   = "deliver"
	queueChurn     = "churn"
)

// RecomputeAllArgs are the arguments of a recompute_all job.
type RecomputeAllArgs struct{}

// Kind is the job kind.
func (RecomputeAllArgs) Kind() string { return KindRecomputeAll }

// InsertOpts puts the job in the recompute queue; one waiting or running
// at a time is enough: a second would recompute the same accounts. (The
// states are River's required ones and retryable; without completed, unlike
// River's default, so the next period's job is not refused.)
func (RecomputeAllArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueRecompute, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByQueue: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
}

// RecomputeAccountsArgs are the arguments of a recompute_accounts job.
type RecomputeAccountsArgs struct {
	AccountIDs []string `json:"account_ids"`
}

// Kind is the job kind.
func (RecomputeAccountsArgs) Kind() string { return KindRecomputeAccounts }

// InsertOpts puts the job in the changes queue.
func (RecomputeAccountsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueChanges, MaxAttempts: 5}
}

// DeliverArgs are the arguments of a deliver job.
type DeliverArgs struct {
	DeliveryID string `json:"delivery_id"`
}

// Kind is the job kind.
func (DeliverArgs) Kind() string { return KindDeliver }

// InsertOpts puts the job in the deliver queue.
func (DeliverArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: queueDeliver} }

// ChurnRetrainArgs are the arguments of a churn_retrain job.
type ChurnRetrainArgs struct{}

// Kind is the job kind.
func (ChurnRetrainArgs) Kind() string { return KindChurnRetrain }

// InsertOpts puts the job in its own queue (training takes a while and
// should hold up neither recomputes nor deliveries), one at a time.
func (ChurnRetrainArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueChurn, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByQueue: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
}

// Config configures [New].
type Config struct {
	// Stages builds the recompute stages for one run (their constructors
	// load what they need once per run); partial is set for a run over the
	// accounts that changed only. nil: snapshots only.
	Stages func(ctx context.Context, q store.Querier, partial bool) ([]recompute.Stage, error)
	// Deliver sends delivery id; attempt is 1-based, max the attempts a
	// delivery gets. An error means "try again later" until attempt == max.
	// nil: deliver jobs fail (and are retried) until a hook is given.
	Deliver func(ctx context.Context, id string, attempt, max int) error
	// DeliverMaxAttempts bounds the attempts of a delivery (default 8).
	DeliverMaxAttempts int
	// RetryBase is the delay before the first retry; the n-th waits
	// RetryBase × 2^(n-1), ±10 %, at most RetryMax (defaults 15 s and 6 h:
	// 8 attempts span about half an hour).
	RetryBase, RetryMax time.Duration
	// RecomputeEvery is the period of recompute_all (default 1 h; negative:
	// never, not even at start).
	RecomputeEvery time.Duration
	// ChurnCheckEvery is how often churn_retrain looks whether the
	// retraining is due (default 1 h; negative: never). The interval itself
	// is the churn.retrain_days setting, read at each check, so changing it
	// needs no restart.
	ChurnCheckEvery time.Duration
	// Debounce is how long Changed gathers ids before inserting one job
	// (default 500 ms).
	Debounce time.Duration
	// PollInterval is how often idle workers look for new jobs (default
	// 250 ms: neither driver here gets PostgreSQL's LISTEN/NOTIFY).
	PollInterval time.Duration
	// Log receives job failures; nil discards them.
	Log *slog.Logger
}

// Jobs is a running (or runnable) job queue: a River client with Kizuna's
// workers. Its methods are safe for concurrent use.
type Jobs struct {
	db     *store.DB
	cfg    Config
	client *river.Client[*sql.Tx]

	mu      sync.Mutex
	pending map[string]bool
	timer   *time.Timer
	flushes sync.WaitGroup
	stopped bool
}

// driver is River's driver for db: both speak database/sql.
func driver(db *store.DB) riverdriver.Driver[*sql.Tx] {
	if db.Dialect == store.Postgres {
		return riverdatabasesql.New(db.DB)
	}
	return riversqlite.New(db.DB)
}

// Migrate applies River's own migrations (its tables river_job, river_leader,
// river_queue, ...) after Kizuna's. It is idempotent; `kizuna migrate` and
// `kizuna serve` run it.
func Migrate(ctx context.Context, db *store.DB) error {
	m, err := rivermigrate.New(driver(db), nil)
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	return nil
}

// New prepares the job queue on db (whose River tables [Migrate] created);
// [Jobs.Start] starts working.
func New(db *store.DB, cfg Config) (*Jobs, error) {
	if cfg.DeliverMaxAttempts <= 0 {
		cfg.DeliverMaxAttempts = 8
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 15 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 6 * time.Hour
	}
	if cfg.RecomputeEvery == 0 {
		cfg.RecomputeEvery = time.Hour
	}
	if cfg.ChurnCheckEvery == 0 {
		cfg.ChurnCheckEvery = time.Hour
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = 500 * time.Millisecond
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	j := &Jobs{db: db, cfg: cfg, pending: map[string]bool{}}
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(j.recomputeAll))
	river.AddWorker(workers, river.WorkFunc(j.recomputeAccounts))
	river.AddWorker(workers, river.WorkFunc(j.deliver))
	river.AddWorker(workers, river.WorkFunc(j.churnRetrain))
	var periodic []*river.PeriodicJob
	if cfg.RecomputeEvery > 0 {
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.RecomputeEvery),
			func() (river.JobArgs, *river.InsertOpts) { return RecomputeAllArgs{}, nil },
			&river.PeriodicJobOpts{ID: KindRecomputeAll, RunOnStart: true}))
	}
	if cfg.ChurnCheckEvery > 0 {
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.ChurnCheckEvery),
			func() (river.JobArgs, *river.InsertOpts) { return ChurnRetrainArgs{}, nil },
			&river.PeriodicJobOpts{ID: KindChurnRetrain, RunOnStart: true}))
	}
	client, err := river.NewClient(driver(db), &river.Config{
		Queues: map[string]river.QueueConfig{
			queueRecompute: {MaxWorkers: 1},
			queueChanges:   {MaxWorkers: 1},
			queueDeliver:   {MaxWorkers: 4},
			queueChurn:     {MaxWorkers: 1},
		},
		Workers:           workers,
		PeriodicJobs:      periodic,
		RetryPolicy:       backoff{base: cfg.RetryBase, max: cfg.RetryMax},
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     min(cfg.PollInterval, 100*time.Millisecond),
		PollOnly:          true,
		// A full recompute of a million accounts takes about a minute.
		JobTimeout:   30 * time.Minute,
		Logger:       cfg.Log,
		ErrorHandler: errorLogger{cfg.Log},
	})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	j.client = client
	return j, nil
}

// Start starts working jobs until [Jobs.Stop], and makes j the target of
// the package-level [Changed].
func (j *Jobs) Start(ctx context.Context) error {
	if err := j.client.Start(ctx); err != nil {
		return fmt.Errorf("job queue: start: %w", err)
	}
	running.Store(j)
	return nil
}

// Stop inserts the ids Changed still holds, then lets the running jobs
// finish (until ctx ends, when they are cancelled) and stops. Call it after
// the ingestion queue has drained, so that its last rounds' accounts are
// in a job (which the next start works).
func (j *Jobs) Stop(ctx context.Context) error {
	running.CompareAndSwap(j, nil)
	j.mu.Lock()
	j.stopped = true
	if j.timer != nil && j.timer.Stop() {
		j.flushes.Done()
	}
	j.mu.Unlock()
	j.flushes.Wait()
	flushErr := j.flush(ctx)
	err := j.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = j.client.StopAndCancel(context.Background())
	}
	if err != nil {
		return fmt.Errorf("job queue: stop: %w", err)
	}
	return flushErr
}

// Client is the River client, for inserting jobs in a transaction
// (InsertTx) where a package needs its own kind.
func (j *Jobs) Client() *river.Client[*sql.Tx] { return j.client }

// Changed asks for the accounts' recompute: the ids gathered over
// Config.Debounce become one recompute_accounts job. It does not block
// (ingestion calls it on its writer's path).
func (j *Jobs) Changed(accountIDs []string) {
	if len(accountIDs) == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stopped {
		return
	}
	for _, id := range accountIDs {
		j.pending[id] = true
	}
	if j.timer == nil {
		j.flushes.Add(1)
		j.timer = time.AfterFunc(j.cfg.Debounce, func() {
			defer j.flushes.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := j.flush(ctx); err != nil {
				j.cfg.Log.Error("jobs: queue changed accounts", "err", err)
			}
		})
	}
}

// flush inserts the gathered ids as recompute_accounts jobs (one per
// store.MaxInList ids, the pipeline's batch bound for given accounts).
func (j *Jobs) flush(ctx context.Context) error {
	j.mu.Lock()
	ids := make([]string, 0, len(j.pending))
	for id := range j.pending {
		ids = append(ids, id)
	}
	clear(j.pending)
	j.timer = nil
	j.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	var params []river.InsertManyParams
	for c := range slices.Chunk(ids, store.MaxInList) {
		params = append(params, river.InsertManyParams{Args: RecomputeAccountsArgs{AccountIDs: c}})
	}
	if _, err := j.client.InsertMany(ctx, params); err != nil {
		// Put them back: the next Changed or Stop tries again.
		j.mu.Lock()
		for _, id := range ids {
			j.pending[id] = true
		}
		j.mu.Unlock()
		return fmt.Errorf("queue recompute of %d accounts: %w", len(ids), err)
	}
	return nil
}

// ChangedAll asks for a recompute_all now: for a change that alters every
// account's snapshot or how it is read (a churn retrain's new scores, a new
// onboarding definition, a CSV import), which would otherwise wait for the
// next period. One recompute_all waiting is enough (its InsertOpts), so a
// second request before it runs is the same job.
func (j *Jobs) ChangedAll(ctx context.Context) error {
	if _, err := j.client.Insert(ctx, RecomputeAllArgs{}, nil); err != nil {
		return fmt.Errorf("queue recompute of every account: %w", err)
	}
	return nil
}

// Deliver queues delivery id in tx (the transaction that records the
// delivery, so that neither exists without the other).
func (j *Jobs) Deliver(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := j.client.InsertTx(ctx, tx, DeliverArgs{DeliveryID: id}, &river.InsertOpts{MaxAttempts: j.cfg.DeliverMaxAttempts}); err != nil {
		return fmt.Errorf("queue delivery %s: %w", id, err)
	}
	return nil
}

// QueueDelivery inserts a deliver job for delivery id in tx through the job
// queue this process started (the API's retry of a failed delivery); queued
// is false when no queue runs here, as in a CLI command or a test.
func QueueDelivery(ctx context.Context, tx *sql.Tx, id string) (queued bool, _ error) {
	j := running.Load()
	if j == nil {
		return false, nil
	}
	return true, j.Deliver(ctx, tx, id)
}

// running is the started Jobs of this process, for [Changed].
var running atomic.Pointer[Jobs]

// Changed asks for the recompute of the accounts through the job queue this
// process started (the web layer calls it after an API or CSV change). It
// does nothing when no queue runs (a CLI command, a test): the periodic
// recompute_all of the server catches up then.
func Changed(ctx context.Context, accountIDs []string) {
	_ = ctx // kept for the call sites' sake: the ids are only buffered
	if j := running.Load(); j != nil {
		j.Changed(accountIDs)
	}
}

// ChangedAll asks for a recompute_all through the job queue this process
// started (see [Jobs.ChangedAll]); without one (a test, or a CLI command,
// which makes its own insert-only [Jobs]) it does nothing. A failure to
// queue is logged, not returned: the change itself is committed, and the
// periodic recompute_all catches up.
func ChangedAll(ctx context.Context) {
	if j := running.Load(); j != nil {
		if err := j.ChangedAll(ctx); err != nil {
			j.cfg.Log.Error("jobs: queue recompute of every account", "err", err)
		}
	}
}

func (j *Jobs) stages(ctx context.Context, partial bool) ([]recompute.Stage, error) {
	if j.cfg.Stages == nil {
		return nil, nil
	}
	return j.cfg.Stages(ctx, j.db, partial)
}

func (j *Jobs) recomputeAll(ctx context.Context, job *river.Job[RecomputeAllArgs]) error {
	stages, err := j.stages(ctx, false)
	if err != nil {
		return fmt.Errorf("recompute all: stages: %w", err)
	}
	res, err := recompute.Run(ctx, j.db, time.Now(), recompute.Options{Stages: stages})
	if err != nil {
		return err
	}
	j.cfg.Log.Info("jobs: recomputed all accounts", "accounts", res.Accounts, "seconds", res.Seconds)
	return nil
}

func (j *Jobs) recomputeAccounts(ctx context.Context, job *river.Job[RecomputeAccountsArgs]) error {
	stages, err := j.stages(ctx, true)
	if err != nil {
		return fmt.Errorf("recompute accounts: stages: %w", err)
	}
	_, err = recompute.Run(ctx, j.db, time.Now(), recompute.Options{Accounts: job.Args.AccountIDs, Stages: stages})
	return err
}

// churnRetrain retrains the churn model when churn.retrain_days have
// passed since the latest stored scoring (or none is stored).
func (j *Jobs) churnRetrain(ctx context.Context, job *river.Job[ChurnRetrainArgs]) error {
	days, err := churn.RetrainDays(ctx, j.db)
	if err != nil {
		return err
	}
	if days == 0 {
		return nil
	}
	now := time.Now()
	last, err := churn.LastScored(ctx, j.db)
	if err != nil {
		return err
	}
	if !last.IsZero() && now.Sub(last) < time.Duration(days)*24*time.Hour {
		return nil
	}
	res, err := churn.Retrain(ctx, j.db, now, "job:"+KindChurnRetrain)
	if err != nil {
		return fmt.Errorf("churn retrain: %w", err)
	}
	if res.Skipped != "" {
		j.cfg.Log.Warn("jobs: churn retrain skipped: too little history; stored scores left as they were", "reason", res.Skipped)
		return nil
	}
	j.cfg.Log.Info("jobs: churn model retrained", "as_of", res.AsOf, "rows", res.Rows, "churned", res.Churned,
		"auc", res.AUC, "stored", res.Stored)
	// Every snapshot's churn_risk changed: health measures, segments and
	// playbook triggers that read it are recomputed now, not in an hour.
	// The scores are stored; failing the job would only retrain again.
	if err := j.ChangedAll(ctx); err != nil {
		j.cfg.Log.Error("jobs: churn retrain", "err", err)
	}
	return nil
}

func (j *Jobs) deliver(ctx context.Context, job *river.Job[DeliverArgs]) error {
	if j.cfg.Deliver == nil {
		return fmt.Errorf("deliver %s: no delivery hook configured", job.Args.DeliveryID)
	}
	return j.cfg.Deliver(ctx, job.Args.DeliveryID, job.Attempt, job.MaxAttempts)
}

// backoff is the retry policy: exponential, base × 2^(n-1) after the n-th
// failure, ±10 % so that failures at one moment do not retry at one
// moment, capped.
type backoff struct{ base, max time.Duration }

func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(b.delay(len(job.Errors)+1, rand.Float64()))
}

// delay is the wait after failure n (1-based), with u in [0, 1) choosing
// the jitter.
func (b backoff) delay(n int, u float64) time.Duration {
	d := float64(b.base) * math.Pow(2, float64(n-1))
	d = min(d, float64(b.max))
	return time.Duration(d * (0.9 + 0.2*u))
}

// errorLogger logs job failures (River then retries or discards them).
type errorLogger struct{ log *slog.Logger }

func (e errorLogger) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	e.log.Warn("jobs: job failed", "kind", job.Kind, "id", job.ID, "attempt", job.Attempt, "max_attempts", job.MaxAttempts, "err", err)
	return nil
}

func (e errorLogger) HandlePanic(ctx context.Context, job *rivertype.JobRow, v any, trace string) *river.ErrorHandlerResult {
	e.log.Error("jobs: job panicked", "kind", job.Kind, "id", job.ID, "panic", fmt.Sprint(v))
	return nil
}

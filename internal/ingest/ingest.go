// Package ingest is the write path of the Segment-compatible ingestion API: a
// bounded queue in front of one writer goroutine that commits what many
// requests submitted together (group commit).
//
// A handler calls [Queue.Submit] with one request's batch and waits. The
// writer takes everything waiting (up to Options.MaxBatch events, lingering
// up to Options.Linger for more when there is little), writes it in as few
// transactions as possible and only then answers each waiter, so an
// acknowledged event is durably stored. If a combined write fails, the
// submissions are written again one by one, so that one bad batch does not
// fail the others. When more than Options.MaxQueued events wait, Submit
// fails at once with [ErrFull] (the handler answers 429 with Retry-After)
// instead of letting memory grow. [Queue.Close] stops accepting and drains
// what was accepted.
//
// What a round writes, in this order:
//
//  1. identify and group calls, in one transaction: a group call links its
//     user to the group (= account) when it is the user's latest one by
//     timestamp, creates the account if it does not exist (named after
//     traits.name; an existing account's name is only filled in when it is
//     empty), records the group's traits, and attributes the user's stored
//     events that had no account yet (events.account_id NULL) to the user's
//     account, adding them to the daily rollups exactly once (the UPDATE …
//     RETURNING claims each row once);
//  2. track, page and screen events through [usage.Ingest], one transaction
//     for the round: an event's account is its context.groupId, else the
//     account of its user's latest group call, else properties.account_id,
//     else none (stored with account_id NULL and attributed by step 1 of a
//     later round). messageId (with the time) de-duplicates.
//
// The two steps are separate transactions (usage.Ingest owns its own); a
// crash between them leaves the round unacknowledged, and its re-delivery
// is harmless: step 1 is idempotent and step 2 de-duplicates.
//
// The wait for the disk of step 2 runs on a goroutine of its own, which
// answers the round's waiters, while the writer goes on with the next round
// (one such wait at most; a round with identify or group calls waits for it
// before step 1, whose attribution must see the events it commits). On
// PostgreSQL that goroutine commits; SQLite has one writer at a time, so
// there the writer commits without waiting for the disk and the goroutine
// syncs the log (see writePipelined).
//
// The user → account links are cached in memory by the writer (it is the
// only writer of segment_users), so resolving an account usually costs no
// query. One server process per database is assumed; a second process
// writing group calls would make this cache stale until restart.
package ingest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/telemetry"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// Event is a track, page or screen call. Its usage.Event's AccountID is left
// empty: the writer resolves it from the other fields.
type Event struct {
	usage.Event
	ContextGroupID    string // context.groupId: wins
	PropertyAccountID string // properties.account_id: the last resort
}

// Group is a group call: UserID belongs to the account GroupID.
type Group struct {
	UserID  string // "" (an anonymous call): the account is created, nobody is linked
	GroupID string
	Name    string // traits.name
	TS      int64  // unix seconds
	Traits  string // JSON object
}

// Identify is an identify call.
type Identify struct {
	UserID string
	TS     int64
	Traits string // JSON object
}

// Batch is what one request submits.
type Batch struct {
	Events     []Event
	Groups     []Group
	Identifies []Identify
}

// Len is the number of calls in b.
func (b Batch) Len() int { return len(b.Events) + len(b.Groups) + len(b.Identifies) }

// Options tune a [Queue].
type Options struct {
	// MaxQueued bounds the calls accepted and not yet written (default
	// 100,000, some 50 MB); past it Submit fails with ErrFull. A single
	// batch larger than the bound is still accepted when nothing waits.
	MaxQueued int
	// MaxBatch bounds the calls written together (default 20,000).
	MaxBatch int
	// Linger is how long the writer waits for more submissions when fewer
	// than MaxBatch calls wait (default 3 ms on SQLite, 1 ms on PostgreSQL;
	// negative: not at all). Under load the clients a round answered send
	// their next batches a few milliseconds later, once decoded. On SQLite
	// 3 ms against 1 ms took more of them into the next round: 6 to 10%
	// more events a second through /v1/batch, and a lower p99 latency. On
	// PostgreSQL, where the next round is written while the last one
	// commits, the p99 latency was 4 ms higher with 3 ms.
	Linger time.Duration
	// WriteTimeout bounds one write (default 60 s).
	WriteTimeout time.Duration
	// RollupEvery is how often the rollups of the events written are
	// summed and applied to usage_daily and usage_user_days (default 5 s;
	// negative: in each round's transaction). A round journals its rollup
	// delta instead (usage.Session.DeferRollups): the rounds of a few
	// seconds share most of their accounts, days and events. On SQLite,
	// /v1/batch went from 55k to 110k events/s on a machine (server CPU an
	// event 20 against 10.5 µs); 1 s summed too little (70k). On another,
	// from 95k to 150k on SQLite and from 78k to 140k on PostgreSQL. The
	// rollups lag the events by that much and the time to apply the sum
	// (SQLite: a part of it after each round), or by rollupIdle when the
	// writer is idle, and Changed hears of the events' accounts once their
	// rollups are applied.
	RollupEvery time.Duration
	// Metrics receives the queue depth, the calls of each round and how
	// long the writer's steps take.
	Metrics *telemetry.Metrics
	// Log receives write failures; nil discards them.
	Log *slog.Logger
	// OnCommit, a test hook, is called after each successful write with the
	// number of submissions and calls it wrote together.
	OnCommit func(submissions, calls int)
	// Changed is called after each successful write with the accounts whose
	// data it changed (each once: the events' accounts and the group calls'
	// groups), so that their health is recomputed. It runs on the writer's
	// path and must not block: jobs.Changed only buffers the ids.
	Changed func(accountIDs []string)
}

// Errors of Submit.
var (
	ErrFull   = errors.New("ingest queue is full")
	ErrClosed = errors.New("ingest queue is closed")
)

// Queue is the group-commit writer. Its methods are safe for concurrent use.
type Queue struct {
	db   *store.DB
	opts Options

	mu      sync.Mutex
	pending []*submission
	queued  int // calls submitted and not yet answered
	closed  bool
	wake    chan struct{}
	done    chan struct{}

	// Writer goroutine only.
	links     map[string]string // user id → account id ("": none)
	committed chan struct{}     // closed when the commit in flight (PostgreSQL) has answered; nil: none
	// The connections rounds write on, which keep their prepared statements:
	// SQLite writes on the first; a pipelined round (PostgreSQL) takes the
	// one the commit in flight is not on.
	// sessions[2] applies rollups on PostgreSQL: the applier goroutine's.
	sessions [3]*usage.Session
	flying   int // the session of the commit in flight, when committed is not nil
	// Rounds have journaled rollups since the journal was last compacted,
	// at compacted, into the rows ready (see tickRollups).
	unapplied bool
	compacted time.Time
	ready     []int64
	prepared  chan *usage.Compaction // a compaction being prepared sends here; nil: none
	// PostgreSQL: the applier goroutine's wake-up (the writer is idle), its
	// stop and its end; nil on SQLite.
	applyNow, stopApplier, applierDone chan struct{}

	beforeCommit func()       // tests: called by a pipelined commit before it commits (SQLite: syncs)
	syncWAL      func() error // store.DB.SyncWAL; tests replace it
	// SQLite: the checkpointer goroutine's wake-up, and its end.
	ckpt, ckptDone chan struct{}
}

type submission struct {
	b    Batch
	n    int
	done chan error
}

// New starts a queue writing to db.
func New(db *store.DB, opts Options) *Queue {
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = 100_000
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 20_000
	}
	if opts.Linger == 0 {
		opts.Linger = 3 * time.Millisecond
		if db.Dialect == store.Postgres {
			opts.Linger = time.Millisecond
		}
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 60 * time.Second
	}
	if opts.RollupEvery == 0 {
		opts.RollupEvery = 5 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	q := &Queue{db: db, opts: opts, wake: make(chan struct{}, 1), done: make(chan struct{}), links: map[string]string{}, syncWAL: db.SyncWAL}
	if db.Dialect == store.SQLite {
		q.ckpt, q.ckptDone = make(chan struct{}, 1), make(chan struct{})
		go q.checkpointer()
	}
	go q.run()
	return q
}

// checkpointEvery is how often at most the checkpointer runs: a
// checkpoint after every round copied the same pages again and again (the
// day's rollup rows of every account), and took a tenth off the
// throughput.
const checkpointEvery = 200 * time.Millisecond

// checkpointer copies SQLite's log into the database file after rounds,
// off the writer's path (see store.DB.DeferSync).
func (q *Queue) checkpointer() {
	defer close(q.ckptDone)
	var last time.Time
	for range q.ckpt {
		time.Sleep(checkpointEvery - time.Since(last))
		last = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), q.opts.WriteTimeout)
		if err := q.db.Checkpoint(ctx); err != nil {
			q.opts.Log.Warn("ingest: checkpoint failed", "err", err)
		}
		cancel()
	}
}

// checkpoint wakes the checkpointer; wake-ups while it waits or works
// make one more checkpoint.
func (q *Queue) checkpoint() {
	select {
	case q.ckpt <- struct{}{}:
	default:
	}
}

// Submit queues b and waits until it is durably written (nil) or failed.
// It fails at once with ErrFull when the queue is full and with ErrClosed
// after Close. If ctx ends first, Submit returns ctx.Err(); the batch may
// still be written.
func (q *Queue) Submit(ctx context.Context, b Batch) error {
	n := b.Len()
	if n == 0 {
		return nil
	}
	s := &submission{b: b, n: n, done: make(chan error, 1)}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if q.queued > 0 && q.queued+n > q.opts.MaxQueued {
		q.mu.Unlock()
		return ErrFull
	}
	q.pending = append(q.pending, s)
	q.queued += n
	q.opts.Metrics.SetQueueDepth(q.queued)
	q.mu.Unlock()
	q.signal()
	select {
	case err := <-s.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Depth is the number of calls accepted and not yet answered.
func (q *Queue) Depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queued
}

// Close stops accepting submissions and waits until everything accepted is
// written, or ctx ends. Calling it again waits again.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run is the writer goroutine.
func (q *Queue) run() {
	defer close(q.done)
	if q.opts.RollupEvery > 0 {
		// What a process that stopped before applying it left (a crash).
		q.applyRollups()
		if q.db.Dialect == store.Postgres {
			q.applyNow, q.stopApplier, q.applierDone = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
			go q.applier()
		}
	}
	for {
		subs, closed := q.take()
		if len(subs) == 0 {
			if closed {
				q.waitCommit()
				if q.stopApplier != nil {
					close(q.stopApplier)
					<-q.applierDone
					q.unapplied = true // whatever it left
				}
				if q.unapplied || len(q.ready) > 0 {
					q.applyRollups()
				}
				for _, s := range q.sessions {
					if s != nil {
						s.Close()
					}
				}
				if q.ckpt != nil {
					close(q.ckpt)
					<-q.ckptDone
				}
				return
			}
			switch {
			case len(q.ready) > 0: // nothing waits: a row now
				q.tickRollups()
			case q.prepared != nil: // until it is prepared (it signals) or a call comes
				<-q.wake
				q.tickRollups()
			case !q.unapplied:
				<-q.wake
			default: // the compaction when it is due, or once idle for rollupIdle
				wait := rollupIdle
				if q.applyNow == nil {
					// SQLite: the interval is the writer's to keep. On
					// PostgreSQL the applier keeps it: waiting for it here
					// too applied the journal a second time an interval,
					// at the writer's first pause between rounds.
					wait = min(wait, q.opts.RollupEvery-time.Since(q.compacted))
				}
				t := time.NewTimer(wait)
				select {
				case <-q.wake:
					t.Stop()
				case <-t.C:
					q.idleRollups()
				}
			}
			continue
		}
		q.write(subs)
		q.tickRollups()
	}
}

// idleRollups applies the journal without waiting for the interval: on
// PostgreSQL it wakes the applier, on SQLite it makes a compaction due.
func (q *Queue) idleRollups() {
	if q.applyNow == nil {
		q.compacted = time.Time{} // due now
		q.tickRollups()
		return
	}
	q.waitCommit() // its row in what the applier reads
	q.unapplied = false
	select {
	case q.applyNow <- struct{}{}:
	default:
	}
}

// rollupIdle is how long the writer waits with nothing to write before it
// applies the journal without waiting for the interval: an event sent alone
// is in the rollups (and health) within a fraction of a second. Under load
// the writer is never idle so long (between rounds, while their clients wait
// for the answers, it is for a few milliseconds), and the interval holds.
const rollupIdle = 100 * time.Millisecond

// rollupPart bounds the keys of a compacted journal row: about 5 ms of
// SQLite's writer here, applied after each round.
const rollupPart = 2048

// tickRollups (SQLite: on PostgreSQL the applier applies the journal),
// after each round, puts a prepared compaction of the
// journal in place, or applies one compacted row, or, when none is left and
// the interval is over, starts preparing the next compaction (on a
// goroutine: usage.PrepareCompaction). Spread so, the rollups of an
// interval of rounds hold up no round for long. When the rows ready outlast
// the interval (more keys than rounds can take), compacting waits: the
// longer the interval, the more keys the rounds share.
func (q *Queue) tickRollups() {
	if q.opts.RollupEvery <= 0 || q.applyNow != nil {
		return
	}
	if q.prepared != nil {
		select {
		case c := <-q.prepared:
			q.prepared = nil
			if c == nil { // failed (logged): again next interval
				q.unapplied = true
				return
			}
			if !c.Gains() { // one row, say, once idle: as it is
				q.ready = append(q.ready, c.IDs()...)
				return
			}
			q.rollupsOn(func(ctx context.Context, sess *usage.Session) error {
				ids, err := sess.Compact(ctx, c)
				if err != nil || (ids == nil && c.Rows() > 0) {
					q.unapplied = true // the rows stay: sum them again
				}
				q.ready = append(q.ready, ids...)
				return err
			})
			return
		default:
		}
	}
	if len(q.ready) > 0 {
		id := q.ready[0]
		q.ready = q.ready[1:]
		q.rollupsOn(func(ctx context.Context, sess *usage.Session) error {
			accounts, err := sess.ApplyJournalRow(ctx, id)
			if err != nil {
				q.ready = append(q.ready, id) // again later
				return err
			}
			if len(accounts) > 0 && q.opts.Changed != nil {
				q.opts.Changed(accounts)
			}
			return nil
		})
		return
	}
	if q.prepared != nil || !q.unapplied || time.Since(q.compacted) < q.opts.RollupEvery {
		return
	}
	// Once the commit in flight has ended: its round's row is in the sum.
	q.waitCommit()
	q.compacted, q.unapplied = time.Now(), false
	prepared := make(chan *usage.Compaction, 1)
	q.prepared = prepared
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), q.opts.WriteTimeout)
		defer cancel()
		c, err := usage.PrepareCompaction(ctx, q.db, rollupPart, applyPause)
		if err != nil {
			q.opts.Log.Error("ingest: rollups", "err", err)
		}
		prepared <- c
		q.signal() // the writer may be idle
	}()
}

// applier applies the journal on PostgreSQL, every RollupEvery and when the
// writer has been idle for rollupIdle, in one transaction beside the rounds:
// PostgreSQL writes both at once, and the rounds write no rollup rows (a
// group call's attribution journals its rollups too). There,
// applying a journal row of 2,048 keys took 15 to 25 ms and compacting a
// few seconds' rows 120 ms, which the writer goroutine's rounds waited for
// (p99 49 ms, max 166 ms, with the SQLite scheme).
func (q *Queue) applier() {
	defer close(q.applierDone)
	t := time.NewTicker(q.opts.RollupEvery)
	defer t.Stop()
	for {
		select {
		case <-q.stopApplier:
			return
		case <-t.C:
		case <-q.applyNow:
		}
		q.rollupsOn(func(ctx context.Context, sess *usage.Session) error {
			// Paced beside the rounds; the applies at start-up and at the
			// end, which nothing runs beside, are not.
			sess.PaceRollups(applyPause)
			defer sess.PaceRollups(0)
			return q.applyAll(ctx, sess)
		})
	}
}

// applyPause is the pause between the rollup statements of the applier's
// applies (usage.Session.PaceRollups): as long as a statement takes, so
// that the apply takes at most half a core. Through /v1/batch at 100,000
// events/s on PostgreSQL, the requests due during an unpaced apply (every
// RollupEvery) were up to a tenth of a second late. SQLite's compactions
// sum the journal so paced too (usage.PrepareCompaction): there the p99
// latency at that rate was 42-68 ms against 64-74 ms in alternating runs.
const applyPause = 20 * time.Millisecond

// applyAll applies the whole journal on sess and tells Changed.
func (q *Queue) applyAll(ctx context.Context, sess *usage.Session) error {
	accounts, err := sess.ApplyJournal(ctx)
	if err == nil && len(accounts) > 0 && q.opts.Changed != nil {
		q.opts.Changed(accounts)
	}
	return err
}

// rollupsOn runs f on the Session that writes rollups: SQLite's one, whose
// transaction has ended once CommitNoSync returned; on PostgreSQL one of
// its own, the applier's (rounds write no rollup rows).
func (q *Queue) rollupsOn(f func(context.Context, *usage.Session) error) {
	slot := 0
	if q.db.Dialect == store.Postgres {
		slot = 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), q.opts.WriteTimeout)
	defer cancel()
	sess, err := q.session(ctx, slot)
	if err == nil {
		start := time.Now()
		err = f(ctx, sess)
		q.opts.Metrics.ObserveIngest(telemetry.StepRollups, time.Since(start))
	}
	if err != nil {
		q.opts.Log.Error("ingest: rollups", "err", err)
	}
}

// applyRollups applies the whole journal (usage.Session.ApplyJournal) once
// the commit in flight has ended: at start-up (what a crashed process left)
// and at the end. On a failure it stays for the next try.
func (q *Queue) applyRollups() {
	q.waitCommit()
	if q.prepared != nil {
		<-q.prepared // its rows are applied below; not put in place
		q.prepared = nil
	}
	q.compacted = time.Now()
	q.rollupsOn(func(ctx context.Context, sess *usage.Session) error {
		if err := q.applyAll(ctx, sess); err != nil {
			return err
		}
		q.unapplied, q.ready = false, nil
		return nil
	})
}

// session returns the Session of slot, opening it if need be.
func (q *Queue) session(ctx context.Context, slot int) (*usage.Session, error) {
	if q.sessions[slot] == nil {
		sess, err := usage.NewSession(ctx, q.db)
		if err != nil {
			return nil, err
		}
		if q.opts.RollupEvery > 0 {
			sess.DeferRollups()
		}
		q.sessions[slot] = sess
	}
	return q.sessions[slot], nil
}

// take returns the next submissions to write, lingering for more while
// there are few.
func (q *Queue) take() ([]*submission, bool) {
	q.mu.Lock()
	if len(q.pending) > 0 && q.queued < q.opts.MaxBatch && !q.closed && q.opts.Linger > 0 {
		q.mu.Unlock()
		t := time.NewTimer(q.opts.Linger)
	wait:
		for {
			select {
			case <-t.C:
				break wait
			case <-q.wake:
				q.mu.Lock()
				enough := q.queued >= q.opts.MaxBatch || q.closed
				q.mu.Unlock()
				if enough {
					t.Stop()
					break wait
				}
			}
		}
		q.mu.Lock()
	}
	defer q.mu.Unlock()
	n, calls := 0, 0
	for n < len(q.pending) && (n == 0 || calls+q.pending[n].n <= q.opts.MaxBatch) {
		calls += q.pending[n].n
		n++
	}
	subs := make([]*submission, n)
	copy(subs, q.pending[:n])
	rest := copy(q.pending, q.pending[n:])
	clear(q.pending[rest:])
	q.pending = q.pending[:rest]
	return subs, q.closed
}

// write writes subs together, or one by one when that fails, and answers them.
func (q *Queue) write(subs []*submission) {
	var err error
	calls := 0
	for _, s := range subs {
		calls += s.n
	}
	q.opts.Metrics.ObserveRound(calls)
	all := subs[0].b
	if len(subs) > 1 {
		var events, groups, identifies int
		for _, s := range subs {
			events, groups, identifies = events+len(s.b.Events), groups+len(s.b.Groups), identifies+len(s.b.Identifies)
		}
		all = Batch{Events: make([]Event, 0, events), Groups: make([]Group, 0, groups), Identifies: make([]Identify, 0, identifies)}
		for _, s := range subs {
			all.Events = append(all.Events, s.b.Events...)
			all.Groups = append(all.Groups, s.b.Groups...)
			all.Identifies = append(all.Identifies, s.b.Identifies...)
		}
	}
	if len(all.Events) > 0 {
		if err = q.writePipelined(subs, all, calls); err == nil {
			return // answered when the commit returns
		}
	} else {
		err = q.writeBatch(all)
	}
	if err == nil {
		if q.opts.OnCommit != nil {
			q.opts.OnCommit(len(subs), calls)
		}
		q.changed(all)
		q.answer(subs, nil)
		return
	}
	if len(subs) == 1 {
		q.opts.Log.Error("ingest: write failed", "calls", calls, "err", err)
		q.answer(subs, err)
		return
	}
	q.opts.Log.Warn("ingest: combined write failed; writing submissions one by one", "submissions", len(subs), "err", err)
	q.waitCommit()
	for _, s := range subs {
		err := q.writeBatch(s.b)
		if err == nil && q.opts.OnCommit != nil {
			q.opts.OnCommit(1, s.n)
		}
		if err == nil {
			q.changed(s.b)
		}
		if err != nil {
			q.opts.Log.Error("ingest: write failed", "calls", s.n, "err", err)
		}
		q.answer([]*submission{s}, err)
	}
}

// answer releases the submissions' room in the queue, then tells their
// waiters. In that order: a client that sends its next request the moment it
// is answered must not find its own finished calls still counted as queued.
func (q *Queue) answer(subs []*submission, err error) {
	n := 0
	for _, s := range subs {
		n += s.n
	}
	q.mu.Lock()
	q.queued -= n
	q.opts.Metrics.SetQueueDepth(q.queued)
	q.mu.Unlock()
	for _, s := range subs {
		s.done <- err
	}
}

// writePipelined writes the events of subs, then waits for the disk on a
// goroutine of its own, which answers subs, while the writer goes on with
// the next round: a commit waits for the disk (about a fifth of a round),
// and the next round's statements need not. On PostgreSQL that goroutine
// commits; SQLite has one writer at a time, so there the writer commits
// without the wait (usage.Pending.CommitNoSync) and the goroutine syncs the
// log (store.DB.SyncWAL), then has it checkpointed (checkpointer). One
// commit at most is in flight. Group and identify calls wait for it first:
// their attribution must see the events it commits (a user's events stored
// without an account get one when the user's group call is written). On an
// error, nothing of this round is stored and nothing answered.
func (q *Queue) writePipelined(subs []*submission, b Batch, calls int) error {
	ctx, cancel := context.WithTimeout(context.Background(), q.opts.WriteTimeout)
	if len(b.Groups) > 0 || len(b.Identifies) > 0 {
		q.waitCommit()
		if err := q.writeCalls(ctx, b.Groups, b.Identifies); err != nil {
			cancel()
			return err
		}
	}
	slot := 0
	if q.db.Dialect == store.Postgres && q.committed != nil && q.flying == 0 {
		slot = 1
	}
	start := time.Now()
	p, err := q.prepareEvents(ctx, b.Events, slot)
	if err != nil {
		cancel()
		return err
	}
	finish := func() error {
		_, err := p.Commit()
		return err
	}
	if q.db.Dialect == store.SQLite {
		if _, err := p.CommitNoSync(); err != nil {
			cancel()
			return err
		}
		finish = func() error {
			if err := q.syncWAL(); err != nil {
				return err
			}
			q.checkpoint()
			return nil
		}
	}
	q.opts.Metrics.ObserveIngest(telemetry.StepStatements, time.Since(start))
	q.waitCommit()
	done := make(chan struct{})
	q.committed, q.flying = done, slot
	go func() {
		defer close(done)
		defer cancel() // the transaction ends with its context
		if q.beforeCommit != nil {
			q.beforeCommit()
		}
		start := time.Now()
		err := finish()
		q.opts.Metrics.ObserveIngest(telemetry.StepCommit, time.Since(start))
		if err != nil {
			q.opts.Log.Error("ingest: commit failed", "calls", calls, "err", err)
		} else {
			if q.opts.OnCommit != nil {
				q.opts.OnCommit(len(subs), calls)
			}
			q.changed(b)
		}
		q.answer(subs, err)
	}()
	return nil
}

// changed hands the accounts a committed batch touched to Options.Changed.
// The events' AccountID were resolved when they were written; events with
// no account yet change nobody's data until a group call attributes them,
// and that group's account is in the list then.
func (q *Queue) changed(b Batch) {
	if q.opts.Changed == nil {
		return
	}
	seen := make(map[string]bool, min(len(b.Events), 1024)+len(b.Groups))
	var ids []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if q.opts.RollupEvery < 0 { // else applyRollups tells
		for i := range b.Events {
			add(b.Events[i].AccountID)
		}
	}
	for _, g := range b.Groups {
		add(g.GroupID)
	}
	if len(ids) > 0 {
		q.opts.Changed(ids)
	}
}

// waitCommit waits until the commit in flight, if any, has answered.
func (q *Queue) waitCommit() {
	if q.committed != nil {
		<-q.committed
		q.committed = nil
	}
}

// writeBatch writes one batch: calls first, then events.
func (q *Queue) writeBatch(b Batch) error {
	q.waitCommit()
	ctx, cancel := context.WithTimeout(context.Background(), q.opts.WriteTimeout)
	defer cancel()
	if len(b.Groups) > 0 || len(b.Identifies) > 0 {
		if err := q.writeCalls(ctx, b.Groups, b.Identifies); err != nil {
			return err
		}
	}
	if len(b.Events) == 0 {
		return nil
	}
	start := time.Now()
	p, err := q.prepareEvents(ctx, b.Events, 0) // no commit is in flight
	if err != nil {
		return err
	}
	q.opts.Metrics.ObserveIngest(telemetry.StepStatements, time.Since(start))
	start = time.Now()
	_, err = p.Commit()
	q.opts.Metrics.ObserveIngest(telemetry.StepCommit, time.Since(start))
	return err
}

// prepareEvents resolves the events' accounts and writes them, uncommitted,
// on session slot.
func (q *Queue) prepareEvents(ctx context.Context, in []Event, slot int) (*usage.Pending, error) {
	if err := q.resolve(ctx, in); err != nil {
		return nil, err
	}
	events := make([]usage.Event, len(in))
	for i := range in {
		events[i] = in[i].Event
	}
	sess, err := q.session(ctx, slot)
	if err != nil {
		return nil, err
	}
	p, err := sess.IngestUncommitted(ctx, events)
	if err == nil && q.opts.RollupEvery > 0 {
		q.unapplied = true // this round's, once committed (applyRollups waits)
	}
	return p, err
}

package demo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/support"
	"github.com/kizuna-cs/kizuna/internal/survey"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// usageBatchAccounts is how many accounts' usage is written in one pair of
// transactions (rollups, raw events): large enough for few commits, small
// enough that a batch (about 170k rows at full scale) stays near 10 MB.
const usageBatchAccounts = 500

// write stores the simulated world: the customer record in one transaction,
// then the usage in batches generated concurrently with the writing.
func (w *world) write(ctx context.Context, db *store.DB) error {
	// Usage takes the longest to generate and to write: draw it on another
	// goroutine while the records are written, two batches ahead. On any
	// return, stop that goroutine and wait for it, since it writes the
	// accounts' observations.
	ctx, cancel := context.WithCancel(ctx)
	batches := make(chan *usageBatch, 2)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Go(func() {
		defer close(batches)
		for first := 0; first < len(w.accounts); first += usageBatchAccounts {
			b := &usageBatch{}
			for _, a := range w.accounts[first:min(first+usageBatchAccounts, len(w.accounts))] {
				w.makeUsage(a, b)
				b.accounts++
			}
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
		}
	})

	for _, a := range w.accounts {
		w.makeRecords(a)
	}
	if err := w.writeRecords(ctx, db); err != nil {
		return err
	}

	done := 0
	w.cfg.Progress(StageUsage, 0, len(w.accounts))
	for b := range batches {
		if err := writeUsage(ctx, db, b); err != nil {
			return fmt.Errorf("generate demo: %w", err)
		}
		done += b.accounts
		w.cfg.Progress(StageUsage, done, len(w.accounts))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}

// writeUsage writes a batch's rollups and raw events. The two are
// independent, so on PostgreSQL they go in parallel transactions, which keeps
// both the server and the client busy; SQLite has one writer at a time.
// They share rollup rows (event names, the user-day spans of the days where
// history meets the raw events), which each writes under
// [usage.LockRollups]: one waits for the other's commit there instead of
// the two deadlocking.
func writeUsage(ctx context.Context, db *store.DB, b *usageBatch) error {
	load := func() error { return usage.LoadRollups(ctx, db, b.rollups, b.users) }
	ingest := func() error { _, err := usage.Ingest(ctx, db, b.events); return err }
	if db.Dialect != store.Postgres {
		if err := load(); err != nil {
			return err
		}
		return ingest()
	}
	var wg sync.WaitGroup
	var loadErr error
	wg.Go(func() { loadErr = load() })
	ingestErr := ingest()
	wg.Wait()
	return errors.Join(loadErr, ingestErr)
}

// stager fills temporary staging tables in one transaction.
type stager struct {
	db   *store.DB
	conn *sql.Conn
	tx   *sql.Tx
}

// load creates the staging table name and fills it with the rows fill adds.
func (s *stager) load(ctx context.Context, name, ddl string, columns []string, fill func(add func(row ...any) error) error) error {
	if err := s.db.CreateTempTable(ctx, s.tx, name, ddl); err != nil {
		return err
	}
	l := s.db.NewBulkLoader(s.conn, s.tx, name, columns)
	add := func(row ...any) error { return l.Add(ctx, row...) }
	if err := fill(add); err != nil {
		return fmt.Errorf("stage %s: %w", name, err)
	}
	return l.Close(ctx)
}

// merge runs a domain package's merge of a staging table, then drops it.
func (s *stager) merge(ctx context.Context, name string, fn func(ctx context.Context, q store.Querier, stage string, now int64) (int64, error)) error {
	if _, err := fn(ctx, s.tx, name, store.Now()); err != nil {
		return err
	}
	s.db.DropTempTable(ctx, s.tx, name)
	return nil
}

func nullable[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

func unixOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Unix()
}

// writeRecords writes everything but usage in one transaction: the bulk
// through the domain packages' staging tables and merges (as CSV imports
// do), notes and handoffs through their single-row functions, which have no
// staging form.
func (w *world) writeRecords(ctx context.Context, db *store.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("generate demo: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("generate demo: %w", err)
	}
	defer tx.Rollback()
	s := &stager{db: db, conn: conn, tx: tx}

	steps := []struct {
		name string
		run  func() error
	}{
		{"accounts", func() error { return w.writeAccounts(ctx, s) }},
		{"contacts", func() error { return w.writeContacts(ctx, s) }},
		{"subscriptions", func() error { return w.writePeriods(ctx, s) }},
		{"tickets", func() error { return w.writeTickets(ctx, s) }},
		{"responses", func() error { return w.writeResponses(ctx, s) }},
		{"feedback", func() error { return w.writeFeedback(ctx, s) }},
		{"costs", func() error { return w.writeCosts(ctx, s) }},
		{"notes", func() error { return w.writeNotes(ctx, tx) }},
		{"handoffs", func() error { return w.writeHandoffs(ctx, tx) }},
		{"playbooks", func() error { return writePlaybooks(ctx, tx, w.cfg.Now) }},
	}
	for i, st := range steps {
		w.cfg.Progress(StageRecords, i, len(steps))
		if err := st.run(); err != nil {
			return fmt.Errorf("generate demo: %s: %w", st.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("generate demo: commit: %w", err)
	}
	w.cfg.Progress(StageRecords, len(steps), len(steps))
	return nil
}

// signupAt is a's signup instant: its signup day at an hour derived from its
// number, so that signups do not all fall at midnight.
func (a *acct) signupAt() int64 { return a.signup*86400 + 1800 + int64(a.num*7919%36000) }

func (w *world) writeAccounts(ctx context.Context, s *stager) error {
	const stage = "stage_demo_accounts"
	err := s.load(ctx, stage, account.StageAccounts, account.StageAccountsColumns, func(add func(...any) error) error {
		for _, a := range w.accounts {
			parent := ""
			if a.parent != nil {
				parent = a.parent.id
			}
			if err := add(a.id, a.name, a.signupAt(), nullable(a.owner), nullable(parent)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.merge(ctx, stage, account.MergeAccounts); err != nil {
		return err
	}

	const attrs = "stage_demo_attributes"
	err = s.load(ctx, attrs, account.StageAttributes, []string{"id", "name", "value"}, func(add func(...any) error) error {
		for _, a := range w.accounts {
			for _, kv := range a.attributes() {
				if err := add(a.id, kv[0], kv[1]); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := account.MergeAttributes(ctx, s.tx, account.ObjectAccount, attrs); err != nil {
		return err
	}
	s.db.DropTempTable(ctx, s.tx, attrs)
	return account.DefineAttributes(ctx, s.tx, account.ObjectAccount, attributeTypes)
}

// attributeTypes are the types of the custom attributes the demo sets.
var attributeTypes = map[string]account.AttrType{
	"segment": account.TypeText, "industry": account.TypeText, "region": account.TypeText,
	"employees": account.TypeNumber, "seats": account.TypeNumber, "is_partner": account.TypeBoolean,
	"lifecycle": account.TypeText, "trial_intent": account.TypeText, "trial_started_at": account.TypeDate,
	"trial_barrier": account.TypeText, "desired_outcome": account.TypeText,
}

// attributes are a's custom attributes as (name, value) pairs.
func (a *acct) attributes() [][2]string {
	out := [][2]string{
		{"segment", segments[a.seg].name},
		{"industry", a.industry},
		{"region", a.region},
		{"employees", strconv.Itoa(a.employees)},
		{"is_partner", strconv.FormatBool(a.partner)},
	}
	if a.prospect {
		return append(out,
			[2]string{"lifecycle", "trial"},
			[2]string{"trial_intent", a.intent},
			[2]string{"trial_started_at", dayTime(a.signup).Format(time.DateOnly)},
			[2]string{"trial_barrier", a.barrier},
			[2]string{"desired_outcome", a.outcome},
		)
	}
	// Seats as last contracted.
	seats := a.seats0
	for _, p := range a.periods {
		if p.product == CoreProduct {
			seats = p.seats
		}
	}
	return append(out, [2]string{"seats", strconv.Itoa(seats)})
}

func (w *world) writeContacts(ctx context.Context, s *stager) error {
	const stage = "stage_demo_contacts"
	err := s.load(ctx, stage, account.StageContacts, account.StageContactsColumns, func(add func(...any) error) error {
		for _, a := range w.accounts {
			for _, c := range a.recs.contacts {
				if err := add(c.ID, c.AccountID, c.Email, c.Name, c.Role); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.merge(ctx, stage, account.MergeContacts)
}

// termEnd is the day the current term of period p of a subscription of a that
// began on day start ends: growth and enterprise customers sign yearly contracts
// (billed monthly), so an open period of theirs ends on the first
// anniversary of start after today and the account has a renewal date;
// starter plans run month to month, open (noDay). The renewal itself is
// not simulated: the demo is a picture of one day.
func (w *world) termEnd(a *acct, p period, start int64) int64 {
	plan := p.plan
	if p.product == AddonProduct {
		plan = a.plan // the add-on is contracted with the core plan
	}
	if plan == "starter" {
		return noDay
	}
	t0 := dayTime(start)
	for y := 1; ; y++ {
		if d := dayOf(t0.AddDate(y, 0, 0)); d > w.now {
			return d
		}
	}
}

func (w *world) writePeriods(ctx context.Context, s *stager) error {
	const stage = "stage_demo_periods"
	err := s.load(ctx, stage, billing.StagePeriods, billing.StagePeriodsColumns, func(add func(...any) error) error {
		for _, a := range w.accounts {
			first := map[string]int64{} // subscription → its first day
			for _, p := range a.periods {
				if _, ok := first[p.sub]; !ok {
					first[p.sub] = p.start
				}
				var end any
				if p.end != noDay {
					end = p.end * 86400
				} else if d := w.termEnd(a, p, first[p.sub]); d != noDay {
					end = d * 86400
				}
				if err := add(p.sub, p.start*86400, end, a.id, p.mrr, a.currency, p.plan, p.product, float64(p.seats)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.merge(ctx, stage, billing.MergePeriods); err != nil {
		return err
	}
	for _, r := range w.fx {
		if err := billing.SetFXRate(ctx, s.tx, "JPY", dayTime(r.day), r.rate); err != nil {
			return err
		}
	}
	return nil
}

func (w *world) writeTickets(ctx context.Context, s *stager) error {
	const stage = "stage_demo_tickets"
	err := s.load(ctx, stage, support.StageTickets, support.StageTicketsColumns, func(add func(...any) error) error {
		for _, a := range w.accounts {
			for _, t := range a.recs.tickets {
				var csat any
				if t.CSAT != nil {
					csat = int64(*t.CSAT)
				}
				if err := add(t.ID, t.AccountID, t.OpenedAt.Unix(), unixOrNil(t.ClosedAt), t.Status, t.Priority, t.Category, t.Subject, csat); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.merge(ctx, stage, support.MergeTickets)
}

func (w *world) writeResponses(ctx context.Context, s *stager) error {
	const stage = "stage_demo_responses"
	err := s.load(ctx, stage, survey.StageResponses, survey.StageResponsesColumns, func(add func(...any) error) error {
		for _, a := range w.accounts {
			for _, r := range a.recs.responses {
				if err := add(r.ID, r.AccountID, r.ContactID, r.Survey, r.Kind, int64(r.Score), r.Comment, r.AnsweredAt.Unix()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.merge(ctx, stage, survey.MergeResponses)
}

func (w *world) writeFeedback(ctx context.Context, s *stager) error {
	const stage = "stage_demo_feedback"
	err := s.load(ctx, stage, feedback.StageItems, feedback.StageItemsColumns, func(add func(...any) error) error {
		for _, a := range w.accounts {
			for _, f := range a.recs.feedback {
				if err := add(f.ID, nullable(f.AccountID), f.Category, f.Text, f.Source, f.CreatedAt.Unix()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.merge(ctx, stage, feedback.MergeItems)
}

func (w *world) writeCosts(ctx context.Context, s *stager) error {
	const stage = "stage_demo_costs"
	err := s.load(ctx, stage, billing.StageCosts, billing.StageCostsColumns, func(add func(...any) error) error {
		for _, c := range w.costs() {
			if err := add(c.month, c.kind, "USD", c.minor); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.merge(ctx, stage, billing.MergeCosts)
}

func (w *world) writeNotes(ctx context.Context, q store.Querier) error {
	for _, a := range w.accounts {
		for _, n := range a.recs.notes {
			if _, err := account.AddNote(ctx, q, n); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *world) writeHandoffs(ctx context.Context, q store.Querier) error {
	for _, a := range w.accounts {
		if h := a.recs.handoff; h != nil {
			if err := account.SetHandoff(ctx, q, *h); err != nil {
				return err
			}
		}
	}
	return nil
}

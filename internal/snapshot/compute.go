package snapshot

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// Settings that change how snapshots read usage.
const (
	SettingKeyFeatures = "key_features" // comma-separated event names
	SettingLoginEvent  = "login_event"
	SettingSetupEvent  = "setup_event"
	// SettingOnboardingDays is the window of the default onboarding
	// definition (setup_done within this many days of signup; default 30),
	// in force until a definition is saved (internal/onboarding).
	SettingOnboardingDays = "onboarding_days"
)

// ErrNotFound is returned by [Get] for an unknown account.
var ErrNotFound = errors.New("account not found")

// Get computes one account's snapshot at instant at.
func Get(ctx context.Context, q store.Querier, accountID string, at time.Time) (Snapshot, error) {
	r, err := NewReader(ctx, q, at)
	if err != nil {
		return Snapshot{}, err
	}
	s, err := r.IDs(ctx, q, []string{accountID})
	if err != nil {
		return Snapshot{}, err
	}
	if len(s) == 0 {
		return Snapshot{}, fmt.Errorf("snapshot of %s: %w", accountID, ErrNotFound)
	}
	return s[0], nil
}

// All computes every account's snapshot at instant at, in account order.
// When q is the database itself (not a transaction), it reads batches of
// [allBatch] accounts on up to [allReaders] connections at once, as the
// recompute does: a UI page that needs every snapshot (a health model's
// preview, a segment's live members) then waits for the slowest reader,
// not for all of them in turn. In a transaction it is one query per source
// table over every account.
func All(ctx context.Context, q store.Querier, at time.Time) ([]Snapshot, error) {
	r, err := NewReader(ctx, q, at)
	if err != nil {
		return nil, err
	}
	if db, ok := q.(*store.DB); ok {
		return r.all(ctx, db)
	}
	return r.compute(ctx, q, selection{after: "", limit: 0})
}

// allBatch is the accounts a reader of [All] computes at a time, and
// allReaders the most readers at once (no more than the CPUs).
const (
	allBatch   = 1000
	allReaders = 4
)

// all is [All] on the database: the key range of every allBatch accounts,
// then the ranges computed concurrently and joined in order.
func (r *Reader) all(ctx context.Context, db *store.DB) ([]Snapshot, error) {
	var bounds [][2]string
	err := func() error {
		rows, err := db.QueryContext(ctx, `SELECT account_id FROM accounts ORDER BY account_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for k := 0; rows.Next(); k++ {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			if k%allBatch == 0 {
				bounds = append(bounds, [2]string{id, id})
			}
			bounds[len(bounds)-1][1] = id
		}
		return rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("snapshot: list accounts: %w", err)
	}
	if len(bounds) <= 1 {
		return r.compute(ctx, db, selection{})
	}
	parts := make([][]Snapshot, len(bounds))
	errs := make([]error, len(bounds))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(runtime.NumCPU(), 1), allReaders, len(bounds)) {
		wg.Go(func() {
			for i := range next {
				parts[i], errs[i] = r.Between(ctx, db, bounds[i][0], bounds[i][1])
			}
		})
	}
	for i := range bounds {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.Concat(parts...), nil
}

// Range computes the snapshots of at most limit accounts whose ids come
// after afterID (in the database's order of account_id), in that order. An
// empty result means there are no more. It loads the settings on every
// call: a caller computing many batches uses one [Reader] instead.
func Range(ctx context.Context, q store.Querier, at time.Time, afterID string, limit int) ([]Snapshot, error) {
	r, err := NewReader(ctx, q, at)
	if err != nil {
		return nil, err
	}
	return r.Range(ctx, q, afterID, limit)
}

const day = 86400

// Reader computes snapshots at one instant batch by batch. It holds what
// every batch needs (settings, exchange rates, attribute types, the default
// key features), loaded once by [NewReader], so that a batch costs only
// the queries restricted to its accounts. Its methods are safe for
// concurrent use with different queriers (a recompute reads two batches at
// once).
type Reader struct {
	// SkipStored leaves the health and segment fields unread: the
	// recompute sets it, as its stages compute them anew.
	SkipStored bool

	at    time.Time
	cfg   config
	conv  *billing.Converter
	types map[string]account.AttrType
	keys  []string
	// Whether any rollup row may be of the setup event: when none is, no
	// account's history is searched for it (a search that reads the whole
	// history of every account that has none).
	setupSeen bool
	// only, when set, is the fields to compute (see Only).
	only map[string]bool
}

// Only returns a copy of r that computes only what the named fields (as
// rules name them) need: the other fields keep the values of an account
// with no such data. The onboarding backfill reads a snapshot for each
// account at the end of its window, and for some for each day of it, for a
// rule of a field or two (the default reads setup_done alone): every
// query of a full snapshot made it several times slower. No names: every
// field.
func (r *Reader) Only(fields ...string) *Reader {
	c := *r
	c.only = nil
	if len(fields) > 0 {
		c.only = make(map[string]bool, len(fields))
		for _, f := range fields {
			c.only[f] = true
		}
	}
	return &c
}

// queryFields names, for each of compute's queries by its label, the
// fields it fills or that are computed from what it reads. A query not
// named here (the accounts) always runs. TestOnly checks every field.
var queryFields = map[string][]string{
	"subscription periods":  {"mrr", "arr", "customer", "plan", "products", "seats", "seat_utilization", "days_to_renewal"},
	"tenure":                {"tenure_days", "signup_days", "days_to_setup", "login_weeks", "login_week_rate", "onboarding_status"},
	"usage":                 usageFields,
	"last activity":         usageFields,
	"setup":                 {"setup_done", "days_to_setup", "onboarding_status"},
	"active users":          {"active_users_7d", "active_users_30d", "seat_utilization", "logins_per_user_week"},
	"tickets":               {"open_tickets", "open_tickets_by_priority", "tickets_90d"},
	"survey answers":        {"has_nps", "last_nps", "has_csat", "last_csat"},
	"payment failures":      {"payment_failures_90d"},
	"csm sentiment":         {"csm_sentiment", "csm_sentiment_score"},
	"attributes":            {"attr", "seats", "seat_utilization"},
	"stored health":         {"health_score", "health_band", "health_band_previous"},
	"stored segments":       {"segments"},
	"stored churn risk":     {"churn_risk"},
	"stored stage":          {"stage", "days_in_stage"},
	"login weeks":           {"login_weeks", "login_week_rate"},
	"onboarding milestones": {"onboarding_milestones"},
	"onboarding results":    {"onboarding_status"},
}

var usageFields = []string{"usage_30d", "features_used_30d", "events_30d", "usage_trend", "days_since_activity", "adoption_breadth", "logins_per_user_week"}

// wants reports whether the query labelled what is needed (see Only).
func (r *Reader) wants(what string) bool {
	fields, ok := queryFields[what]
	if r.only == nil || !ok {
		return true
	}
	for _, f := range fields {
		if r.only[f] {
			return true
		}
	}
	return false
}

// NewReader loads what computing snapshots at instant at needs.
func NewReader(ctx context.Context, q store.Querier, at time.Time) (*Reader, error) {
	cfg, err := loadConfig(ctx, q)
	if err != nil {
		return nil, err
	}
	conv, err := billing.LoadConverter(ctx, q)
	if err != nil {
		return nil, err
	}
	types, err := account.AttributeTypes(ctx, q, account.ObjectAccount)
	if err != nil {
		return nil, err
	}
	var names []string
	if m, ok := ctx.Value(sharedKey{}).(*sharedDefaults); ok {
		m.once.Do(func() { m.names, m.err = usage.EventNames(ctx, q) })
		names, err = m.names, m.err
	} else {
		names, err = usage.EventNames(ctx, q)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot: event names: %w", err)
	}
	keys := cfg.keyFeatures
	if len(keys) == 0 {
		keys = defaultKeyFeatures(names, cfg)
	}
	return &Reader{at: at, cfg: cfg, conv: conv, types: types, keys: keys, setupSeen: slices.Contains(names, cfg.setup)}, nil
}

// Range computes the snapshots of at most limit (> 0) accounts after
// afterID; see the function [Range].
func (r *Reader) Range(ctx context.Context, q store.Querier, afterID string, limit int) ([]Snapshot, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("snapshot range: limit %d: want at least 1", limit)
	}
	return r.compute(ctx, q, selection{after: afterID, limit: limit})
}

// Between computes the snapshots of the accounts with lo ≤ account_id ≤ hi
// (the database's order), in that order: a batch whose bounds a caller
// listed beforehand, so that several batches can be read at once.
func (r *Reader) Between(ctx context.Context, q store.Querier, lo, hi string) ([]Snapshot, error) {
	return r.compute(ctx, q, selection{lo: lo, hi: hi, between: true})
}

// IDs computes the snapshots of the given accounts (unknown ones are left
// out), in account order. Its queries name the ids, so it suits a few
// scattered accounts; at most [store.MaxInList] a call.
func (r *Reader) IDs(ctx context.Context, q store.Querier, ids []string) ([]Snapshot, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > store.MaxInList {
		return nil, fmt.Errorf("snapshot: %d accounts in one call: at most %d", len(ids), store.MaxInList)
	}
	return r.compute(ctx, q, selection{ids: ids})
}

// selection is the accounts a compute covers: the given ids, or up to
// limit accounts after after (limit 0: all of them).
type selection struct {
	ids     []string
	between bool // lo..hi given
	after   string
	limit   int
	// Set once the accounts are read: the first and last id, so that every
	// other query reads a key range (the source tables' keys or indexes
	// start with account_id) rather than the whole table.
	lo, hi string
}

// where is the account condition on column col of a query whose own
// arguments are $1..$n; it returns the condition and its arguments.
func (s selection) where(col string, n int) (string, []any) {
	if s.ids != nil {
		args := make([]any, len(s.ids))
		for i, id := range s.ids {
			args[i] = id
		}
		return col + " IN (" + store.Placeholders(n+1, len(s.ids)) + ")", args
	}
	return fmt.Sprintf("%s BETWEEN $%d AND $%d", col, n+1, n+2), []any{s.lo, s.hi}
}

// compute builds the snapshots of the selected accounts.
func (r *Reader) compute(ctx context.Context, q store.Querier, sel selection) ([]Snapshot, error) {
	at, cfg, conv := r.at, r.cfg, r.conv
	t := at.Unix()
	today := store.Day(t)
	// Every query has %[1]s where the account condition on its first
	// column goes; the condition's arguments follow the query's own.
	// run runs a query for the accounts of sel (each, below, for the
	// batch's).
	run := func(sel selection, what, query, col string, args []any, scan func(rows *sql.Rows) error) error {
		if !r.wants(what) {
			return nil
		}
		if strings.Contains(query, "%[1]s") {
			cond, cargs := sel.where(col, len(args))
			query, args = fmt.Sprintf(query, cond), append(args, cargs...)
		}
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("snapshot: %s: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("snapshot: %s: %w", what, err)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("snapshot: %s: %w", what, err)
		}
		return nil
	}
	each := func(what, query, col string, args []any, scan func(rows *sql.Rows) error) error {
		return run(sel, what, query, col, args, scan)
	}

	var out []Snapshot
	index := map[string]int{}
	signup := map[string]int64{}
	accounts := `SELECT account_id, name, COALESCE(owner_email, ''), signup_at FROM accounts WHERE account_id > $1 ORDER BY account_id`
	accArgs := []any{sel.after}
	switch {
	case sel.ids != nil:
		accounts = `SELECT account_id, name, COALESCE(owner_email, ''), signup_at FROM accounts WHERE %[1]s ORDER BY account_id`
		accArgs = nil
	case sel.between:
		accounts = `SELECT account_id, name, COALESCE(owner_email, ''), signup_at FROM accounts WHERE %[1]s ORDER BY account_id`
		accArgs = nil
	case sel.limit > 0:
		accounts += ` LIMIT $2`
		accArgs = append(accArgs, sel.limit)
	}
	err := each("accounts", accounts, "account_id", accArgs, func(rows *sql.Rows) error {
		var s Snapshot
		var sign sql.NullInt64
		if err := rows.Scan(&s.AccountID, &s.Name, &s.Owner, &sign); err != nil {
			return err
		}
		if sign.Valid {
			signup[s.AccountID] = sign.Int64
		}
		s.At = at.UTC()
		s.DaysToRenewal, s.DaysSinceActivity, s.DaysToSetup = -1, -1, -1
		s.CSMSentimentScore, s.HealthScore, s.ChurnRisk, s.DaysInStage = -1, -1, -1, -1
		s.Usage30d, s.OpenTicketsBy, s.Attributes = map[string]float64{}, map[string]int{}, map[string]any{}
		s.Products, s.FeaturesUsed30d, s.Segments, s.OnboardingMilestones = []string{}, []string{}, []string{}, []string{}
		index[s.AccountID] = len(out)
		out = append(out, s)
		return nil
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	if sel.ids == nil && !sel.between {
		sel.lo, sel.hi = out[0].AccountID, out[len(out)-1].AccountID
	}
	get := func(id string) *Snapshot {
		if i, ok := index[id]; ok {
			return &out[i]
		}
		return nil
	}

	// Current periods: MRR, plan, products, seats by quantity, renewal.
	largest := map[string]float64{}
	quantity := map[string]float64{}
	err = each("subscription periods", `SELECT p.account_id, p.mrr_minor, p.currency, p.plan, p.product, p.quantity, p.end_at,
			EXISTS (SELECT 1 FROM subscription_periods n WHERE n.subscription_id = p.subscription_id AND n.start_at = p.end_at)
		FROM subscription_periods p
		WHERE %[1]s AND p.start_at <= $1 AND (p.end_at IS NULL OR p.end_at > $1)
		ORDER BY p.account_id, p.subscription_id, p.start_at`, "p.account_id", []any{t}, func(rows *sql.Rows) error {
		var id, cur, plan, product string
		var minor int64
		var qty sql.NullFloat64
		var end sql.NullInt64
		var next bool
		if err := rows.Scan(&id, &minor, &cur, &plan, &product, &qty, &end, &next); err != nil {
			return err
		}
		s := get(id)
		if s == nil {
			return nil
		}
		v, err := conv.Convert(minor, cur, at)
		if err != nil {
			return fmt.Errorf("account %s: %w", id, err)
		}
		s.MRR += v
		if v > largest[id] || s.Plan == "" {
			largest[id], s.Plan = v, plan
		}
		if minor > 0 && product != "" && !slices.Contains(s.Products, product) {
			s.Products = append(s.Products, product)
		}
		if qty.Valid {
			quantity[id] += qty.Float64
		}
		if end.Valid && !next {
			if d := int(math.Ceil(float64(end.Int64-t) / day)); s.DaysToRenewal < 0 || d < s.DaysToRenewal {
				s.DaysToRenewal = d
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each("tenure", `SELECT account_id, MIN(start_at) FROM subscription_periods
		WHERE %[1]s AND start_at <= $1 GROUP BY account_id`, "account_id", []any{t}, func(rows *sql.Rows) error {
		var id string
		var first int64
		if err := rows.Scan(&id, &first); err != nil {
			return err
		}
		if s := get(id); s != nil {
			s.TenureDays = int((t - first) / day)
			if _, ok := signup[id]; !ok {
				signup[id] = first
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Usage of the last 60 days from the daily rollups.
	prior := map[string]float64{}
	logins := map[string]float64{}
	// Every rollup query here goes from accounts to the rollup (CROSS JOIN
	// keeps that order on SQLite; PostgreSQL plans it as an inner join), so
	// that each account is one seek on the rollup's key (account, day) to
	// its last days. Ranging over the rollup's account_id alone reads every
	// day of the history, three years of it on the demo.
	err = each("usage", usageQuery, "a.account_id", []any{today}, func(rows *sql.Rows) error {
		var id string
		var all float64
		var last int64
		var list sql.NullString
		if err := rows.Scan(&id, &all, &last, &list); err != nil {
			return err
		}
		s := get(id)
		if s == nil {
			return nil
		}
		s.DaysSinceActivity = int(today - last)
		recent, last28, err := addUsage(s, list.String, cfg.login)
		if err != nil {
			return fmt.Errorf("account %s: %w", id, err)
		}
		prior[id] = all - recent
		logins[id] = last28
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The last activity of the accounts idle in those 60 days: one index
	// seek each (the rollup's key starts with account and day), by id. The
	// usage read found it for the others; a seek for every account, as
	// this was once, took about 2.5 s of CPU at a million accounts.
	var idle []string
	for i := range out {
		if out[i].DaysSinceActivity < 0 {
			idle = append(idle, out[i].AccountID)
		}
	}
	for c := range slices.Chunk(idle, store.MaxInList) {
		err = run(selection{ids: c}, "last activity", `SELECT a.account_id,
				(SELECT MAX(u.day) FROM usage_daily u WHERE u.account_id = a.account_id AND u.day <= $1)
			FROM accounts a WHERE %[1]s`, "a.account_id", []any{today}, func(rows *sql.Rows) error {
			var id string
			var last sql.NullInt64
			if err := rows.Scan(&id, &last); err != nil {
				return err
			}
			if s := get(id); s != nil && last.Valid {
				s.DaysSinceActivity = int(today - last.Int64)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// The first setup event: one seek per account to the start of its
	// history, and a read of all of it for an account that has none, so
	// only when some rollup row may be of that event.
	if r.setupSeen {
		err = each("setup", `SELECT a.account_id, (SELECT u.day FROM usage_daily u
				WHERE u.account_id = a.account_id AND u.event = $2 AND u.day <= $1 ORDER BY u.day LIMIT 1)
			FROM accounts a WHERE %[1]s`, "a.account_id", []any{today, cfg.setup}, func(rows *sql.Rows) error {
			var id string
			var setup sql.NullInt64
			if err := rows.Scan(&id, &setup); err != nil {
				return err
			}
			if s := get(id); s != nil && setup.Valid {
				s.SetupDone = true
				s.DaysToSetup = max(0, int(setup.Int64-store.Day(signup[id])))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// Grouped by a.account_id, the outer loop's column, which SQLite knows
	// comes in order: grouped by u.account_id, it sorted the batch's rows
	// first (TestActiveUsersPlan). A third less time.
	w30, w7 := usage.DayWindow(today-29, today), usage.DayWindow(today-6, today)
	err = each("active users", activeUsersQuery, "a.account_id",
		[]any{w30[0], w30[1], w30[2], w30[3], w7[0], w7[1], w7[2], w7[3]}, func(rows *sql.Rows) error {
			var id string
			var a7, a30 int
			if err := rows.Scan(&id, &a7, &a30); err != nil {
				return err
			}
			if s := get(id); s != nil {
				s.ActiveUsers7d, s.ActiveUsers30d = a7, a30
			}
			return nil
		})
	if err != nil {
		return nil, err
	}

	// Inquiries, surveys, payments.
	err = each("tickets", `SELECT account_id, priority, opened_at, closed_at FROM tickets
		WHERE %[1]s AND opened_at <= $1 AND (closed_at IS NULL OR closed_at > $1 OR opened_at > $1 - $2)`, "account_id",
		[]any{t, 90 * day}, func(rows *sql.Rows) error {
			var id, priority string
			var opened int64
			var closed sql.NullInt64
			if err := rows.Scan(&id, &priority, &opened, &closed); err != nil {
				return err
			}
			s := get(id)
			if s == nil {
				return nil
			}
			if !closed.Valid || closed.Int64 > t {
				s.OpenTickets++
				s.OpenTicketsBy[priority]++
			}
			if opened > t-90*day {
				s.Tickets90d++
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = each("survey answers", `SELECT account_id, kind, score FROM survey_responses
		WHERE %[1]s AND answered_at <= $1 AND kind IN ('nps', 'csat')
		ORDER BY account_id, answered_at, response_id`, "account_id", []any{t}, func(rows *sql.Rows) error {
		var id, kind string
		var score int
		if err := rows.Scan(&id, &kind, &score); err != nil {
			return err
		}
		if s := get(id); s != nil {
			// Rows come oldest first, so the last one wins.
			if kind == "nps" {
				s.HasNPS, s.LastNPS = true, score
			} else {
				s.HasCSAT, s.LastCSAT = true, score
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each("payment failures", `SELECT account_id, COUNT(*) FROM payment_events
		WHERE %[1]s AND kind = 'failed' AND at <= $1 AND at > $1 - $2 GROUP BY account_id`, "account_id",
		[]any{t, 90 * day}, func(rows *sql.Rows) error {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			if s := get(id); s != nil {
				s.PaymentFailures90d = n
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = each("csm sentiment", `SELECT account_id, sentiment FROM csm_sentiments
		WHERE %[1]s AND set_at <= $1 ORDER BY account_id, set_at`, "account_id", []any{t}, func(rows *sql.Rows) error {
		var id, sentiment string
		if err := rows.Scan(&id, &sentiment); err != nil {
			return err
		}
		if s := get(id); s != nil {
			// Oldest first: the last one wins.
			s.CSMSentiment, s.CSMSentimentScore = sentiment, sentimentScore[sentiment]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	types := r.types
	err = each("attributes", `SELECT account_id, name, value FROM account_attributes WHERE %[1]s`, "account_id", nil,
		func(rows *sql.Rows) error {
			var id, name, value string
			if err := rows.Scan(&id, &name, &value); err != nil {
				return err
			}
			if s := get(id); s != nil {
				s.Attributes[name] = account.Value(types[name], value)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}

	if !r.SkipStored {
		if err := storedResults(each, at, get); err != nil {
			return nil, err
		}
	}
	// Read even when the recompute computes health and segments anew: no
	// stage computes churn risk, and health measures and playbooks use it.
	if err := storedChurnRisk(each, at, get); err != nil {
		return nil, err
	}
	if err := storedStage(each, at, get); err != nil {
		return nil, err
	}
	keys := r.keys
	for i := range out {
		s := &out[i]
		s.ARR = 12 * s.MRR
		s.Customer = s.MRR > 0
		if sign, ok := signup[s.AccountID]; ok && sign <= t {
			s.SignupDays = int((t - sign) / day)
		}
		s.Seats = quantity[s.AccountID]
		if v, ok := s.Attributes["seats"].(float64); ok {
			s.Seats = v
		}
		if s.Seats > 0 {
			s.SeatUtilization = float64(s.ActiveUsers30d) / s.Seats
		}
		if s.ActiveUsers30d > 0 {
			s.LoginsPerUserWeek = logins[s.AccountID] / 4 / float64(s.ActiveUsers30d)
		}
		if len(keys) > 0 {
			used := 0
			for _, k := range keys {
				if s.Usage30d[k] > 0 {
					used++
				}
			}
			s.AdoptionBreadth = float64(used) / float64(len(keys))
		}
		switch before := prior[s.AccountID]; {
		case before > 0:
			s.UsageTrend = s.Events30d/before - 1
		case s.Events30d > 0:
			s.UsageTrend = 1
		}
	}
	if err := onboardingFields(each, cfg, at, signup, out, get); err != nil {
		return nil, err
	}
	return out, nil
}

// usageQuery reads the usage of the accounts %[1]s selects in the 60 days
// to day $1: the total count, the last day with usage, and a list of the
// rows of the last 30 days, which addUsage sums by event. An account with
// no usage in the 60 days has no row.
//
// Summing them by event in SQL (GROUP BY account and event) made SQLite
// sort the rows, for they come in the key's order (account, day, event):
// two thirds of the query's time, which was two fifths of a recompute's CPU
// time. Grouped by account alone, as the accounts come, nothing is sorted;
// string_agg is group_concat on SQLite (3.44 and later) and is the same
// text on PostgreSQL. TestUsagePlan checks the plan.
const usageQuery = `SELECT a.account_id, SUM(u.count), MAX(u.day),
			string_agg(CASE WHEN u.day > $1 - 30 THEN
				octet_length(u.event) || ':' || u.event || (CASE WHEN u.day > $1 - 28 THEN '+' ELSE '-' END) || u.count END, ',')
		FROM accounts a CROSS JOIN usage_daily u
		WHERE %[1]s AND u.account_id = a.account_id AND u.day > $1 - 60 AND u.day <= $1
		GROUP BY a.account_id`

// addUsage adds to s the usage in list, usageQuery's: entries
// "LEN:EVENT+COUNT" separated by commas, LEN the event's length in bytes
// (so that any name reads back whole), + for a day in the last 28 and - for
// the two before: Usage30d, FeaturesUsed30d (sorted) and Events30d, of
// the events whose count is positive. It returns the count of all events in
// the 30 days, and of event login in the last 28.
func addUsage(s *Snapshot, list, login string) (recent, last28 float64, err error) {
	for len(list) > 0 {
		colon := strings.IndexByte(list, ':')
		if colon < 0 {
			return 0, 0, fmt.Errorf("usage list %q: no length", list)
		}
		n, err := strconv.Atoi(list[:colon])
		if err != nil || n < 0 || colon+1+n >= len(list) {
			return 0, 0, fmt.Errorf("usage list %q: bad length", list)
		}
		event, flag := list[colon+1:colon+1+n], list[colon+1+n]
		rest := list[colon+2+n:]
		end := strings.IndexByte(rest, ',')
		if end < 0 {
			end = len(rest)
		}
		count, err := strconv.ParseInt(rest[:end], 10, 64)
		if err != nil || flag != '+' && flag != '-' {
			return 0, 0, fmt.Errorf("usage list %q: bad count", list)
		}
		list = rest[min(end+1, len(rest)):]
		c := float64(count)
		s.Usage30d[event] += c
		recent += c
		if flag == '+' && event == login {
			last28 += c
		}
	}
	s.FeaturesUsed30d, s.Events30d = s.FeaturesUsed30d[:0], 0
	for event, c := range s.Usage30d {
		if c > 0 {
			s.FeaturesUsed30d = append(s.FeaturesUsed30d, event)
			s.Events30d += c
		} else {
			delete(s.Usage30d, event)
		}
	}
	slices.Sort(s.FeaturesUsed30d)
	return recent, last28, nil
}

// activeUsersQuery counts the users active in the 30 days whose
// usage.DayWindow is $1 to $4 and in the 7 days of $5 to $8 (which end
// the same day) of the accounts %[1]s selects.
var activeUsersQuery = `SELECT a.account_id, COUNT(DISTINCT CASE WHEN ` + usage.ActiveIn("u", 5) + ` THEN u.user_id END),
		COUNT(DISTINCT CASE WHEN ` + usage.ActiveIn("u", 1) + ` THEN u.user_id END)
		FROM accounts a CROSS JOIN usage_user_days u
		WHERE %[1]s AND u.account_id = a.account_id AND u.span BETWEEN $1 AND $2 GROUP BY a.account_id`

// storedSegmentsQuery reads the memberships of the accounts %[1]s selects
// as of instant $1, each member's history after it by seeks on the index
// segment_history_account (migration 35; TestStoredSegmentsPlan).
const storedSegmentsQuery = `SELECT m.account_id, m.segment_id FROM segment_members m
		WHERE %[1]s AND NOT EXISTS (SELECT 1 FROM segment_history h
			WHERE h.segment_id = m.segment_id AND h.account_id = m.account_id AND h.at > $1)
		UNION
		SELECT m.account_id, m.segment_id FROM segment_history m
		WHERE %[1]s AND m.at > $1 AND m.event = 'left' AND m.at = (SELECT MIN(f.at) FROM segment_history f
			WHERE f.segment_id = m.segment_id AND f.account_id = m.account_id AND f.at > $1)
		ORDER BY 1, 2`

// eachFunc runs a query of compute's shape (see each there).
type eachFunc func(what, query, col string, args []any, scan func(rows *sql.Rows) error) error

// storedResults fills HealthScore, HealthBand, HealthBandPrevious and
// Segments from what the recompute stored, as of instant at: the latest
// score on or before its day (the history keeps the days a score changed),
// the band in force the day before as the previous one, and the memberships whose latest join
// or leave before at is a join (members now with no change since at, and
// those whose first change after at is a leave). A snapshot of the past never sees a later
// score, so rules and models trained on past snapshots learn nothing from
// the future. One seek per account and table (health_scores is keyed by
// account and day; segment_history by segment and time).
func storedResults(each eachFunc, at time.Time, get func(id string) *Snapshot) error {
	today := store.Day(at.Unix())
	err := each("stored health", `SELECT a.account_id, h.score, h.band,
			COALESCE((SELECT p.band FROM health_scores p WHERE p.account_id = a.account_id AND p.day < $1 ORDER BY p.day DESC LIMIT 1), '')
		FROM accounts a JOIN health_scores h ON h.account_id = a.account_id
			AND h.day = (SELECT MAX(d.day) FROM health_scores d WHERE d.account_id = a.account_id AND d.day <= $1)
		WHERE %[1]s`, "a.account_id", []any{today}, func(rows *sql.Rows) error {
		var id, band, previous string
		var score float64
		if err := rows.Scan(&id, &score, &band, &previous); err != nil {
			return err
		}
		if s := get(id); s != nil {
			s.HealthScore, s.HealthBand, s.HealthBandPrevious = score, band, previous
		}
		return nil
	})
	if err != nil {
		return err
	}
	return each("stored segments", storedSegmentsQuery, "m.account_id", []any{at.Unix()}, func(rows *sql.Rows) error {
		var id, segment string
		if err := rows.Scan(&id, &segment); err != nil {
			return err
		}
		if s := get(id); s != nil {
			s.Segments = append(s.Segments, segment)
		}
		return nil
	})
}

// storedChurnRisk fills ChurnRisk from the churn score history as of
// instant at: the account's probability in the latest scoring run stored at
// or before at (a run leaves out accounts not paying then, which have none).
// A later run is never seen, so a past snapshot, and a model trained on
// past snapshots, learns nothing from the future.
func storedChurnRisk(each eachFunc, at time.Time, get func(id string) *Snapshot) error {
	return each("stored churn risk", `SELECT h.account_id, h.probability FROM churn_score_history h
		WHERE h.scored_at = (SELECT MAX(r.scored_at) FROM churn_score_history r WHERE r.scored_at <= $1) AND %[1]s`,
		"h.account_id", []any{at.Unix()}, func(rows *sql.Rows) error {
			var id string
			var p float64
			if err := rows.Scan(&id, &p); err != nil {
				return err
			}
			if s := get(id); s != nil {
				s.ChurnRisk = p
			}
			return nil
		})
}

// sentimentScore maps a CSM sentiment to a number health measures can use.
var sentimentScore = map[string]float64{"green": 100, "yellow": 50, "red": 0}

// config are the settings snapshots read.
type config struct {
	keyFeatures    []string
	login, setup   string
	onboardingDays int
	// onboardingVersion is the version of the onboarding definition in
	// force (0: none saved, the default one); its window overrides
	// onboardingDays.
	onboardingVersion int64
}

func loadConfig(ctx context.Context, q store.Querier) (config, error) {
	c := config{login: "login", setup: "setup_completed", onboardingDays: 30}
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM settings WHERE key IN ($1, $2, $3, $4)`,
		SettingKeyFeatures, SettingLoginEvent, SettingSetupEvent, SettingOnboardingDays)
	if err != nil {
		return c, fmt.Errorf("snapshot: settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return c, fmt.Errorf("snapshot: settings: %w", err)
		}
		switch k {
		case SettingKeyFeatures:
			c.keyFeatures = splitList(v)
		case SettingLoginEvent:
			c.login = strings.TrimSpace(v)
		case SettingSetupEvent:
			c.setup = strings.TrimSpace(v)
		case SettingOnboardingDays:
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				return c, fmt.Errorf("snapshot: setting %s=%q: want a whole number of days", k, v)
			}
			c.onboardingDays = n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("snapshot: settings: %w", err)
	}
	return c, loadOnboardingDefinition(ctx, q, &c)
}

// splitList splits a comma-separated setting, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// ShareDefaults returns a context in which the Readers NewReader makes share
// the event names the first of them read, and so the default key features
// (see defaultKeyFeatures), so that a recompute's Readers (its own, the
// onboarding stage's) agree on them even when a new event arrives during
// the run. (Before usage_event_names, it also spared a scan of the whole of
// usage_daily a Reader.)
func ShareDefaults(ctx context.Context) context.Context {
	return context.WithValue(ctx, sharedKey{}, &sharedDefaults{})
}

type sharedKey struct{}

type sharedDefaults struct {
	once  sync.Once
	names []string // usage.EventNames
	err   error
}

// defaultKeyFeatures are every event seen in the rollups but the login and
// setup events, when no key_features setting names them.
func defaultKeyFeatures(names []string, cfg config) []string {
	return slices.DeleteFunc(slices.Clone(names), func(e string) bool { return e == cfg.login || e == cfg.setup })
}

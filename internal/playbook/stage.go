package playbook

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/task"
)

// FallbackSetting names the setting holding the assignee of tasks for
// accounts without an owner (when the action names none).
const FallbackSetting = "playbook_fallback_assignee"

// firstLookback is how far back an event trigger looks the first time its
// playbook is evaluated: recent events fire, the whole history does not.
const firstLookback = 7 * 24 * time.Hour

// Options tune the stage.
type Options struct {
	// Enqueue, when set, is called in the batch's transaction with the ids
	// of the deliveries the batch wrote, to hand them to the job queue.
	Enqueue func(ctx context.Context, q store.Querier, deliveryIDs []string) error
	// FallbackAssignee overrides the playbook_fallback_assignee setting.
	FallbackAssignee string
	// Partial is set for a recompute of only some accounts (after their
	// data changed). It then does not advance the playbooks' evaluation
	// time, which a full recompute uses to find the new events of every
	// account; per-account state still keeps an event from firing twice.
	Partial bool
}

// Stats count what the stage did in a run.
type Stats struct {
	Accounts   int `json:"accounts"`
	Fired      int `json:"fired" doc:"Firings acted on."`
	Holdout    int `json:"holdout" doc:"Firings drawn into the holdout group: recorded only."`
	Suppressed int `json:"suppressed" doc:"Triggers not fired: a task of the playbook is open, or within the cooldown."`
	Tasks      int `json:"tasks"`
	Deliveries int `json:"deliveries"`
	RuleErrors int `json:"rule_errors" doc:"Evaluations whose rule failed on an account's data (counted as false)."`
}

// Stage is the playbook stage of the recompute pipeline (after health and
// segment, whose results it reads from the snapshots).
type Stage struct {
	books    []*compiled
	index    map[string]int
	floor    []int64 // per book: events after this unix time are new (event triggers)
	opts     Options
	fallback string
	// Skipped lists the enabled playbooks that no longer compile (a field
	// they use was renamed): they are left out of the run, not fatal.
	Skipped []error

	mu    sync.Mutex
	stats Stats
}

// NewStage loads the enabled playbooks once for a run.
func NewStage(ctx context.Context, q store.Querier, opts Options) (*Stage, error) {
	s := &Stage{index: map[string]int{}, opts: opts, fallback: opts.FallbackAssignee}
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM playbooks WHERE enabled = 1 ORDER BY playbook_id`)
	if err != nil {
		return nil, fmt.Errorf("playbook stage: load playbooks: %w", err)
	}
	type loaded struct {
		p         Playbook
		evaluated int64
	}
	all, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (loaded, error) {
		p, ev, err := scan(r)
		return loaded{p, ev}, err
	})
	if err != nil {
		return nil, fmt.Errorf("playbook stage: load playbooks: %w", err)
	}
	for _, l := range all {
		p := l.p
		c, probs := compile(&p)
		if len(probs) > 0 {
			s.Skipped = append(s.Skipped, fmt.Errorf("playbook %s: %w", p.ID, &ValidationError{probs}))
			continue
		}
		s.index[p.ID] = len(s.books)
		s.books = append(s.books, c)
		s.floor = append(s.floor, l.evaluated)
	}
	if s.fallback == "" {
		err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, FallbackSetting).Scan(&s.fallback)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("playbook stage: setting %s: %w", FallbackSetting, err)
		}
	}
	return s, nil
}

// Name is the stage's name in the pipeline.
func (s *Stage) Name() string { return "playbook" }

// Stats returns the counts so far.
func (s *Stage) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func isEvent(t string) bool { return t == TriggerNPSDetractor || t == TriggerPaymentFailed }

type stateKey struct {
	book    int
	account string
}

// firing is a trigger that fired for an account, before de-duplication.
type firing struct {
	book   int
	snap   *snapshot.Snapshot
	reason string
	event  int64 // event triggers: the event's time
}

// Apply evaluates every playbook on one batch of snapshots (account_id
// order) as of at, and writes with q: a few reads for the batch, then only
// what changed (trigger states, firings and what they create).
func (s *Stage) Apply(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot) error {
	if len(s.books) == 0 || len(snaps) == 0 {
		return nil
	}
	now := at.Unix()
	lo, hi := snaps[0].AccountID, snaps[0].AccountID
	for i := range snaps {
		lo, hi = min(lo, snaps[i].AccountID), max(hi, snaps[i].AccountID)
	}
	// One read of the batch's trigger states (the rows exist only where a
	// condition held or an event was acted on).
	states := map[stateKey]int64{}
	rows, err := q.QueryContext(ctx, `SELECT playbook_id, account_id, since FROM playbook_states
		WHERE account_id >= $1 AND account_id <= $2`, lo, hi)
	if err != nil {
		return fmt.Errorf("playbook stage: read states: %w", err)
	}
	for rows.Next() {
		var id, acct string
		var since int64
		if err := rows.Scan(&id, &acct, &since); err != nil {
			rows.Close()
			return fmt.Errorf("playbook stage: read states: %w", err)
		}
		if b, ok := s.index[id]; ok {
			states[stateKey{b, acct}] = since
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("playbook stage: read states: %w", err)
	}
	floors := make([]int64, len(s.books))
	for i := range s.books {
		floors[i] = s.floor[i]
		if floors[i] == 0 {
			floors[i] = at.Add(-firstLookback).Unix()
		}
	}
	// One read per event kind: the latest event of each account after the
	// earliest floor of the playbooks waiting for it.
	events := map[string]map[string]int64{}
	for i, b := range s.books {
		kind := b.Trigger.Type
		if !isEvent(kind) || events[kind] != nil {
			continue
		}
		lowest := floors[i]
		for j, o := range s.books {
			if o.Trigger.Type == kind {
				lowest = min(lowest, floors[j])
			}
		}
		ev, err := latestEvents(ctx, q, kind, lowest, now, lo, hi)
		if err != nil {
			return err
		}
		events[kind] = ev
	}

	var (
		cands   []firing
		add     []stateKey
		addAt   []int64
		del     = map[int][]string{}
		ruleErr int
	)
	for i := range snaps {
		sn := &snaps[i]
		for bi, b := range s.books {
			key := stateKey{bi, sn.AccountID}
			since, was := states[key]
			var f *firing
			if isEvent(b.Trigger.Type) {
				t, ok := events[b.Trigger.Type][sn.AccountID]
				if ok && t > floors[bi] && (!was || t > since) {
					f = &firing{book: bi, snap: sn, event: t, reason: eventReason(b.Trigger.Type, t)}
					add, addAt = append(add, key), append(addAt, t)
				}
			} else {
				cond, reason, err := condition(b, sn)
				if err != nil {
					ruleErr++
				}
				switch {
				case cond && !was:
					f = &firing{book: bi, snap: sn, reason: reason}
					add, addAt = append(add, key), append(addAt, now)
				case !cond && was:
					del[bi] = append(del[bi], sn.AccountID)
				}
			}
			if f == nil {
				continue
			}
			if b.filter != nil {
				ok, err := b.filter.Match(sn)
				if err != nil {
					ruleErr++
				}
				if !ok {
					continue
				}
			}
			cands = append(cands, *f)
		}
	}
	if err := s.writeStates(ctx, q, add, addAt, del); err != nil {
		return err
	}
	st := Stats{Accounts: len(snaps), RuleErrors: ruleErr}
	if len(cands) > 0 {
		if err := s.fire(ctx, q, at, cands, &st); err != nil {
			return err
		}
	}
	if !s.opts.Partial {
		var ids []any
		for _, b := range s.books {
			if isEvent(b.Trigger.Type) {
				ids = append(ids, b.ID)
			}
		}
		if len(ids) > 0 {
			_, err := q.ExecContext(ctx, `UPDATE playbooks SET evaluated_at = $1 WHERE evaluated_at < $1 AND playbook_id IN (`+
				store.Placeholders(2, len(ids))+`)`, append([]any{now}, ids...)...)
			if err != nil {
				return fmt.Errorf("playbook stage: record the evaluation time: %w", err)
			}
		}
	}
	s.mu.Lock()
	s.stats.Accounts += st.Accounts
	s.stats.Fired += st.Fired
	s.stats.Holdout += st.Holdout
	s.stats.Suppressed += st.Suppressed
	s.stats.Tasks += st.Tasks
	s.stats.Deliveries += st.Deliveries
	s.stats.RuleErrors += st.RuleErrors
	s.mu.Unlock()
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// condition is whether an edge trigger's condition holds for sn. A rule
// that fails on the account's data counts as false (and is counted).
func condition(b *compiled, sn *snapshot.Snapshot) (bool, string, error) {
	t := b.Trigger
	switch t.Type {
	case TriggerRule:
		ok, err := b.condition.Match(sn)
		return ok && err == nil, "rule: " + t.Condition, err
	case TriggerHealthBand:
		prev := sn.HealthBandPrevious
		if prev == "" {
			prev = "none"
		}
		return sn.HealthBand == t.Band && sn.HealthBandPrevious != t.Band, "health band " + prev + " → " + sn.HealthBand, nil
	case TriggerRenewalInDays:
		return sn.DaysToRenewal >= 0 && sn.DaysToRenewal <= t.Days, fmt.Sprintf("renewal in %d days", sn.DaysToRenewal), nil
	case TriggerUsageDrop:
		return sn.UsageTrend <= -t.Percent/100, fmt.Sprintf("usage trend %+.0f%%", sn.UsageTrend*100), nil
	case TriggerOnboardingOverdue:
		return sn.OnboardingStatus == "overdue", "onboarding overdue", nil
	}
	return false, "", nil
}

func eventReason(kind string, t int64) string {
	day := time.Unix(t, 0).UTC().Format(time.DateOnly)
	if kind == TriggerNPSDetractor {
		return "NPS detractor answer on " + day
	}
	return "payment failed on " + day
}

// latestEvents returns, per account of the batch's id range, the time of
// its latest event of kind in (after, until].
func latestEvents(ctx context.Context, q store.Querier, kind string, after, until int64, lo, hi string) (map[string]int64, error) {
	query := `SELECT account_id, MAX(answered_at) FROM survey_responses
		WHERE kind = 'nps' AND score <= 6 AND answered_at > $1 AND answered_at <= $2 AND account_id >= $3 AND account_id <= $4
		GROUP BY account_id`
	if kind == TriggerPaymentFailed {
		query = `SELECT account_id, MAX(at) FROM payment_events
			WHERE kind = 'failed' AND at > $1 AND at <= $2 AND account_id >= $3 AND account_id <= $4
			GROUP BY account_id`
	}
	rows, err := q.QueryContext(ctx, query, after, until, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("playbook stage: read %s events: %w", kind, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var t int64
		if err := rows.Scan(&id, &t); err != nil {
			return nil, fmt.Errorf("playbook stage: read %s events: %w", kind, err)
		}
		out[id] = t
	}
	return out, rows.Err()
}

// writeStates records the conditions that turned true (and events acted
// on) and forgets those that turned false.
func (s *Stage) writeStates(ctx context.Context, q store.Querier, add []stateKey, at []int64, del map[int][]string) error {
	rows := make([][]any, len(add))
	for i, k := range add {
		rows[i] = []any{s.books[k.book].ID, k.account, at[i]}
	}
	if err := insertRows(ctx, q, `INSERT INTO playbook_states (playbook_id, account_id, since) VALUES `,
		` ON CONFLICT (playbook_id, account_id) DO UPDATE SET since = excluded.since`, 3, rows); err != nil {
		return fmt.Errorf("playbook stage: write states: %w", err)
	}
	for b, ids := range del {
		err := inChunks(ids, func(part []string) error {
			args := []any{s.books[b].ID}
			for _, id := range part {
				args = append(args, id)
			}
			_, err := q.ExecContext(ctx, `DELETE FROM playbook_states WHERE playbook_id = $1 AND account_id IN (`+
				store.Placeholders(2, len(part))+`)`, args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("playbook stage: clear states: %w", err)
		}
	}
	return nil
}

// fire de-duplicates the candidates (an open task of the playbook, the
// cooldown), draws the holdout, and writes enrollments, tasks and deliveries.
func (s *Stage) fire(ctx context.Context, q store.Querier, at time.Time, cands []firing, st *Stats) error {
	now := at.Unix()
	seen := map[string]bool{}
	var ids []string
	cooldowns, contacts := false, false
	for _, c := range cands {
		if !seen[c.snap.AccountID] {
			seen[c.snap.AccountID] = true
			ids = append(ids, c.snap.AccountID)
		}
		b := s.books[c.book]
		cooldowns = cooldowns || b.CooldownDays > 0
		for _, a := range b.Actions {
			contacts = contacts || (a.Type == ActionEmail && a.To == "contacts")
		}
	}
	open := map[stateKey]bool{}
	last := map[stateKey]int64{}
	recipients := map[string][]contact{}
	err := inChunks(ids, func(part []string) error {
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		in := store.Placeholders(1, len(part))
		if err := s.pairs(ctx, q, `SELECT playbook_id, account_id, 0 FROM tasks WHERE status IN ('open', 'in_progress')
			AND playbook_id IS NOT NULL AND account_id IN (`+in+`)`, args, func(k stateKey, _ int64) { open[k] = true }); err != nil {
			return fmt.Errorf("open tasks: %w", err)
		}
		if cooldowns {
			if err := s.pairs(ctx, q, `SELECT playbook_id, account_id, MAX(fired_at) FROM enrollments WHERE account_id IN (`+in+`)
				GROUP BY playbook_id, account_id`, args, func(k stateKey, t int64) { last[k] = t }); err != nil {
				return fmt.Errorf("last firings: %w", err)
			}
		}
		if contacts {
			rows, err := q.QueryContext(ctx, `SELECT account_id, email, role FROM contacts WHERE email <> '' AND account_id IN (`+in+`)
				ORDER BY account_id, contact_id`, args...)
			if err != nil {
				return fmt.Errorf("contacts: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				var acct string
				var c contact
				if err := rows.Scan(&acct, &c.email, &c.role); err != nil {
					return fmt.Errorf("contacts: %w", err)
				}
				recipients[acct] = append(recipients[acct], c)
			}
			return rows.Err()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("playbook stage: %w", err)
	}

	var (
		enrollRows [][]any
		tasks      []task.Task
		deliveries []notify.Delivery
	)
	for _, c := range cands {
		b := s.books[c.book]
		key := stateKey{c.book, c.snap.AccountID}
		if open[key] || (b.CooldownDays > 0 && last[key] > 0 && last[key] > now-int64(b.CooldownDays)*86400) {
			st.Suppressed++
			continue
		}
		holdout := b.HoldoutShare > 0 && Draw(b.ID, c.snap.AccountID, at) < b.HoldoutShare
		data := TemplateData{Account: *c.snap, Playbook: PlaybookRef{ID: b.ID, Name: b.Name}, Reason: c.reason}
		var taskID string
		if !holdout {
			st.Fired++
			ts, ds, err := s.act(b, &data, recipients[c.snap.AccountID], at)
			if err != nil {
				return fmt.Errorf("playbook stage: playbook %s on account %s: %w", b.ID, c.snap.AccountID, err)
			}
			if len(ts) > 0 {
				taskID = ts[0].ID
			}
			tasks, deliveries = append(tasks, ts...), append(deliveries, ds...)
		} else {
			st.Holdout++
		}
		enrollRows = append(enrollRows, []any{store.NewID("e_"), b.ID, c.snap.AccountID, now, boolInt(holdout), nullText(taskID), c.reason})
	}
	if err := task.Insert(ctx, q, tasks); err != nil {
		return fmt.Errorf("playbook stage: %w", err)
	}
	if err := insertRows(ctx, q, `INSERT INTO enrollments (enrollment_id, playbook_id, account_id, fired_at, holdout, task_id, reason) VALUES `,
		"", 7, enrollRows); err != nil {
		return fmt.Errorf("playbook stage: write enrollments: %w", err)
	}
	dids, err := notify.Enqueue(ctx, q, deliveries, at)
	if err != nil {
		return fmt.Errorf("playbook stage: %w", err)
	}
	st.Tasks, st.Deliveries = len(tasks), len(dids)
	if s.opts.Enqueue != nil && len(dids) > 0 {
		if err := s.opts.Enqueue(ctx, q, dids); err != nil {
			return fmt.Errorf("playbook stage: enqueue %d deliveries: %w", len(dids), err)
		}
	}
	return nil
}

type contact struct{ email, role string }

// pairs runs a query returning (playbook_id, account_id, n) rows and calls
// fn for those of the stage's playbooks.
func (s *Stage) pairs(ctx context.Context, q store.Querier, query string, args []any, fn func(stateKey, int64)) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, acct string
		var n int64
		if err := rows.Scan(&id, &acct, &n); err != nil {
			return err
		}
		if b, ok := s.index[id]; ok {
			fn(stateKey{b, acct}, n)
		}
	}
	return rows.Err()
}

// act renders a firing's actions: the task first, so that the email,
// webhook and Slack templates can name it.
func (s *Stage) act(b *compiled, data *TemplateData, contacts []contact, at time.Time) ([]task.Task, []notify.Delivery, error) {
	var (
		tasks []task.Task
		ds    []notify.Delivery
	)
	for i, a := range b.Actions {
		if a.Type != ActionTask {
			continue
		}
		tpl := b.templates[i]
		title, err := render(tpl.title, data)
		if err != nil {
			return nil, nil, fmt.Errorf("actions[%d].title: %w", i, err)
		}
		desc, err := render(tpl.description, data)
		if err != nil {
			return nil, nil, fmt.Errorf("actions[%d].description: %w", i, err)
		}
		t := task.Task{ID: store.NewID("t_"), AccountID: data.Account.AccountID, Title: truncate(title, 500), Description: desc,
			Assignee: firstOf(a.Assignee, data.Account.Owner, a.FallbackAssignee, s.fallback), Status: task.Open,
			Priority: a.Priority, PlaybookID: b.ID, CreatedBy: "playbook:" + b.ID, CreatedAt: at.UTC(), UpdatedAt: at.UTC()}
		if a.DueInDays > 0 {
			due := at.UTC().AddDate(0, 0, a.DueInDays)
			t.DueAt = &due
		}
		tasks = append(tasks, t)
	}
	if len(tasks) > 0 {
		data.Task = tasks[0]
	}
	for i, a := range b.Actions {
		tpl := b.templates[i]
		d := notify.Delivery{PlaybookID: b.ID, AccountID: data.Account.AccountID}
		var err error
		switch a.Type {
		case ActionEmail:
			d.Kind, d.Target = notify.KindEmail, recipientsOf(a, data.Account.Owner, firstOf(a.FallbackAssignee, s.fallback), contacts)
			if d.Target == "" {
				continue // no one to write to: an owner-less account, or no contacts with the role
			}
			if d.Subject, err = render(tpl.subject, data); err == nil {
				d.Body, err = render(tpl.body, data)
			}
		case ActionWebhook:
			d.Kind, d.Target, d.Secret = notify.KindWebhook, a.URL, a.Secret
			d.Body, err = webhookBody(b, data, at)
		case ActionSlack:
			var text string
			if text, err = render(tpl.text, data); err == nil {
				var j []byte
				j, err = json.Marshal(map[string]string{"text": text})
				d.Kind, d.Target, d.Body = notify.KindSlack, a.URL, string(j)
			}
		default:
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("actions[%d]: %w", i, err)
		}
		ds = append(ds, d)
	}
	return tasks, ds, nil
}

func recipientsOf(a Action, owner, fallback string, contacts []contact) string {
	switch a.To {
	case "owner":
		return firstOf(owner, fallback)
	case "contacts":
		var to []string
		for _, c := range contacts {
			if a.ContactRole == "" || strings.EqualFold(c.role, a.ContactRole) {
				to = append(to, c.email)
			}
		}
		return strings.Join(to, ", ")
	}
	return a.To
}

// WebhookPayload is the JSON a webhook action posts.
type WebhookPayload struct {
	Event    string            `json:"event"` // always "playbook.fired"
	FiredAt  time.Time         `json:"fired_at"`
	Reason   string            `json:"reason"`
	Playbook PlaybookRef       `json:"playbook"`
	Account  snapshot.Snapshot `json:"account"`
	Task     *task.Task        `json:"task"`
}

func webhookBody(b *compiled, data *TemplateData, at time.Time) (string, error) {
	p := WebhookPayload{Event: "playbook.fired", FiredAt: at.UTC(), Reason: data.Reason, Playbook: data.Playbook, Account: data.Account}
	if data.Task.ID != "" {
		t := data.Task
		p.Task = &t
	}
	j, err := json.Marshal(p)
	return string(j), err
}

// Draw is the deterministic pseudo-random number in [0, 1) of a firing:
// the same playbook, account and time always draw the same, so a re-run
// puts the account in the same group, and the draws of different accounts
// are independent.
func Draw(playbookID, accountID string, at time.Time) float64 {
	h := sha256.Sum256([]byte(playbookID + "\x00" + accountID + "\x00" + strconv.FormatInt(at.Unix(), 10)))
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// maxVars bounds the variables of one statement. It was sized when SQLite
// looked each $N up by name, quadratic in a statement's variables; store
// now numbers them positionally.
const maxVars = 600

// insertRows writes rows (per values each) with multi-row INSERTs of at
// most maxVars variables.
func insertRows(ctx context.Context, q store.Querier, prefix, suffix string, per int, rows [][]any) error {
	chunk := maxVars / per
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		var b strings.Builder
		b.WriteString(prefix)
		args := make([]any, 0, len(part)*per)
		for i, r := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + store.Placeholders(len(args)+1, per) + ")")
			args = append(args, r...)
		}
		b.WriteString(suffix)
		if _, err := q.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

func inChunks(ids []string, fn func([]string) error) error {
	for start := 0; start < len(ids); start += store.MaxInList {
		if err := fn(ids[start:min(start+store.MaxInList, len(ids))]); err != nil {
			return err
		}
	}
	return nil
}

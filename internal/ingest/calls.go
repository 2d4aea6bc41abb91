package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// maxLinks bounds the link cache; past it the cache is emptied (and refilled
// from the database as users come back).
const maxLinks = 1 << 20

// writeCalls applies identify and group calls in one transaction, then
// updates the link cache.
func (q *Queue) writeCalls(ctx context.Context, groups []Group, identifies []Identify) error {
	now := store.Now()
	linked := map[string]bool{}
	journaled := false
	err := q.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, c := range identifies {
			if _, err := tx.ExecContext(ctx, `INSERT INTO segment_users (user_id, traits, identified_at, updated_at)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (user_id) DO UPDATE SET traits = excluded.traits, identified_at = excluded.identified_at,
					updated_at = excluded.updated_at
				WHERE segment_users.identified_at IS NULL OR segment_users.identified_at <= excluded.identified_at`,
				c.UserID, orEmptyObject(c.Traits), c.TS, now); err != nil {
				return fmt.Errorf("identify %s: %w", c.UserID, err)
			}
		}
		// Oldest first, so that the latest call of a user wins also within the batch.
		groups = slices.Clone(groups)
		slices.SortStableFunc(groups, func(a, b Group) int { return cmpInt(a.TS, b.TS) })
		for _, g := range groups {
			if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (account_id, name, recorded_at, updated_at)
				VALUES ($1, $2, $3, $3)
				ON CONFLICT (account_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at
				WHERE accounts.name = '' AND excluded.name <> ''`, g.GroupID, g.Name, now); err != nil {
				return fmt.Errorf("group %s: account: %w", g.GroupID, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO segment_groups (group_id, traits, traits_at, updated_at)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (group_id) DO UPDATE SET traits = excluded.traits, traits_at = excluded.traits_at,
					updated_at = excluded.updated_at
				WHERE segment_groups.traits_at <= excluded.traits_at`, g.GroupID, orEmptyObject(g.Traits), g.TS, now); err != nil {
				return fmt.Errorf("group %s: traits: %w", g.GroupID, err)
			}
			if g.UserID == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO segment_users (user_id, account_id, linked_at, updated_at)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (user_id) DO UPDATE SET account_id = excluded.account_id, linked_at = excluded.linked_at,
					updated_at = excluded.updated_at
				WHERE segment_users.linked_at IS NULL OR segment_users.linked_at <= excluded.linked_at`,
				g.UserID, g.GroupID, g.TS, now); err != nil {
				return fmt.Errorf("group %s: link user %s: %w", g.GroupID, g.UserID, err)
			}
			linked[g.UserID] = true
		}
		for u := range linked {
			var acct string
			if err := tx.QueryRowContext(ctx, `SELECT account_id FROM segment_users WHERE user_id = $1`, u).Scan(&acct); err != nil {
				return fmt.Errorf("link user %s: %w", u, err)
			}
			j, err := q.attribute(ctx, tx, u, acct)
			if err != nil {
				return err
			}
			journaled = journaled || j
		}
		return nil
	})
	if err != nil {
		// The transaction rolled back: forget what may have been cached of these users.
		for u := range linked {
			delete(q.links, u)
		}
		return err
	}
	if len(q.links)+len(linked) > maxLinks {
		clear(q.links)
	}
	for u := range linked {
		delete(q.links, u) // read back from the database when next needed
	}
	if journaled {
		q.unapplied = true // the attributed events' rollups, in the journal
	}
	return nil
}

// attribute files the user's events that have no account yet under acct and
// adds them to the rollups, and reports whether it journaled them. The UPDATE
// claims each event once, so an event is rolled up exactly once however
// often this runs. When the rounds journal their rollups, so does this
// (usage.JournalRollups): a round then never waits for another writer of
// the rollups, such as a CSV import under usage.LockRollups.
func (q *Queue) attribute(ctx context.Context, tx *sql.Tx, user, acct string) (bool, error) {
	rows, err := tx.QueryContext(ctx, `UPDATE events SET account_id = $1
		WHERE account_id IS NULL AND user_id = $2 RETURNING ts, event`, acct, user)
	if err != nil {
		return false, fmt.Errorf("attribute events of %s to %s: %w", user, acct, err)
	}
	type key struct {
		day   int64
		event string
	}
	counts := map[key]int64{}
	users := map[int64][]string{}
	for rows.Next() {
		var ts int64
		var event string
		if err := rows.Scan(&ts, &event); err != nil {
			rows.Close()
			return false, fmt.Errorf("attribute events of %s: %w", user, err)
		}
		d := store.Day(ts)
		counts[key{d, event}]++
		if _, ok := users[d]; !ok {
			users[d] = []string{user}
		}
	}
	if err := rows.Close(); err != nil {
		return false, fmt.Errorf("attribute events of %s: %w", user, err)
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("attribute events of %s: %w", user, err)
	}
	if len(counts) == 0 {
		return false, nil
	}
	dc := make([]usage.DailyCount, 0, len(counts))
	for k, n := range counts {
		dc = append(dc, usage.DailyCount{Day: k.day, Event: k.event, Count: n})
	}
	slices.SortFunc(dc, func(a, b usage.DailyCount) int {
		if c := cmpInt(a.Day, b.Day); c != 0 {
			return c
		}
		return strings.Compare(a.Event, b.Event)
	})
	if q.opts.RollupEvery > 0 {
		return true, usage.JournalRollups(ctx, tx, acct, dc, users)
	}
	if err := usage.LockRollups(ctx, q.db, tx); err != nil {
		return false, fmt.Errorf("attribute events of %s: %w", user, err)
	}
	return false, usage.AddRollups(ctx, tx, acct, dc, users)
}

// resolve sets each event's account: context.groupId, else the user's
// latest group call, else properties.account_id, else none.
func (q *Queue) resolve(ctx context.Context, events []Event) error {
	var missing []string
	seen := map[string]bool{}
	for i := range events {
		e := &events[i]
		if e.ContextGroupID != "" || e.UserID == "" {
			continue
		}
		if _, ok := q.links[e.UserID]; !ok && !seen[e.UserID] {
			seen[e.UserID] = true
			missing = append(missing, e.UserID)
		}
	}
	if len(missing) > 0 {
		if len(q.links)+len(missing) > maxLinks {
			clear(q.links)
		}
		found := map[string]string{}
		for start := 0; start < len(missing); start += store.MaxInList {
			part := missing[start:min(start+store.MaxInList, len(missing))]
			var b strings.Builder
			b.WriteString(`SELECT user_id, account_id FROM segment_users WHERE account_id IS NOT NULL AND user_id IN (`)
			args := make([]any, len(part))
			for i, u := range part {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "$%d", i+1)
				args[i] = u
			}
			b.WriteByte(')')
			rows, err := q.db.QueryContext(ctx, b.String(), args...)
			if err != nil {
				return fmt.Errorf("resolve accounts: %w", err)
			}
			for rows.Next() {
				var u, a string
				if err := rows.Scan(&u, &a); err != nil {
					rows.Close()
					return fmt.Errorf("resolve accounts: %w", err)
				}
				found[u] = a
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("resolve accounts: %w", err)
			}
		}
		for _, u := range missing {
			q.links[u] = found[u]
		}
	}
	for i := range events {
		e := &events[i]
		switch {
		case e.ContextGroupID != "":
			e.AccountID = e.ContextGroupID
		case e.UserID != "" && q.links[e.UserID] != "":
			e.AccountID = q.links[e.UserID]
		default:
			e.AccountID = e.PropertyAccountID
		}
	}
	return nil
}

func orEmptyObject(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

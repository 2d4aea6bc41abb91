package usage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// flat is a folded rollup as "account event day" → count and "account
// user day" → 1, independent of the interners' ids.
func flat(r *rollup) map[string]int64 {
	r.fold()
	m := map[string]int64{}
	for i, k := range r.daily {
		m[fmt.Sprintf("d %s %s %d", r.accounts.names[k[0]], r.events.names[k[1]], k[2])] += r.counts[i]
	}
	for _, k := range r.active {
		m[fmt.Sprintf("u %s %s %d", r.accounts.names[k[0]], r.users.names[k[1]], k[2])]++
	}
	return m
}

func randomRollup(seed uint64, n int) *rollup {
	r := &rollup{}
	r.init()
	for _, e := range randomEvents(rand.New(rand.NewPCG(seed, 1)), n, n) {
		r.add(&Raw{AccountID: e.AccountID, UserID: e.UserID, Event: e.Event, TS: e.Timestamp.Unix()})
	}
	return r
}

// A delta decodes to the rollup it encodes, summed into what is there, and
// its parts of a few keys to the same.
func TestDeltaRoundTrip(t *testing.T) {
	r := randomRollup(1, 500)
	want := flat(r)
	if len(want) < 50 {
		t.Fatalf("only %d keys: the test needs more", len(want))
	}
	enc := r.encodeDelta(nil)

	got := &rollup{}
	got.init()
	for range 2 {
		if err := got.mergeDelta(enc); err != nil {
			t.Fatal(err)
		}
	}
	twice := maps.Clone(want)
	for k, v := range twice {
		if k[0] == 'd' {
			twice[k] = 2 * v // counts add up; a user-day is one
		}
	}
	if g := flat(got); !maps.Equal(g, twice) {
		t.Fatalf("decoded twice: %d keys, want %d", len(g), len(twice))
	}

	parts := r.parts(7)
	sum := &rollup{}
	sum.init()
	for i, p := range parts {
		if n := len(p.daily) + len(p.active); n == 0 || n > 7 {
			t.Fatalf("part %d has %d keys, want 1 to 7", i, n)
		}
		if err := sum.mergeDelta(p.appendTo(nil)); err != nil {
			t.Fatal(err)
		}
	}
	if want := (len(want) + 6) / 7; len(parts) != want {
		t.Errorf("%d parts, want %d", len(parts), want)
	}
	if g := flat(sum); !maps.Equal(g, want) {
		t.Fatalf("parts summed: %d keys, want %d", len(g), len(want))
	}
}

// A damaged delta is an error, never a panic or a partial sum counted as
// whole: every cut of a valid one, a byte more, another version.
func TestDeltaMalformed(t *testing.T) {
	enc := randomRollup(2, 50).encodeDelta(nil)
	for i := range len(enc) {
		r := &rollup{}
		r.init()
		if err := r.mergeDelta(enc[:i]); !errors.Is(err, errDelta) {
			t.Fatalf("cut at %d of %d bytes: %v, want errDelta", i, len(enc), err)
		}
	}
	r := &rollup{}
	r.init()
	if err := r.mergeDelta(append(slices.Clone(enc), 0)); !errors.Is(err, errDelta) {
		t.Errorf("a byte more: %v", err)
	}
	if err := r.mergeDelta(append([]byte{2}, enc[1:]...)); err == nil {
		t.Error("version 2 accepted")
	}
	// A count beyond the bytes left does not allocate it.
	if err := r.mergeDelta([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}); !errors.Is(err, errDelta) {
		t.Errorf("a huge name count: %v", err)
	}
}

func FuzzMergeDelta(f *testing.F) {
	f.Add(randomRollup(3, 20).encodeDelta(nil))
	f.Add([]byte{1, 1, 1, 'a', 1, 1, 'e', 0, 1, 0, 0, 2, 3, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &rollup{}
		r.init()
		if err := r.mergeDelta(b); err != nil {
			return
		}
		// What decodes encodes to a delta that decodes to the same.
		want := flat(r)
		again := &rollup{}
		again.init()
		if err := again.mergeDelta(r.encodeDelta(nil)); err != nil {
			t.Fatalf("re-encoded: %v", err)
		}
		if got := flat(again); !maps.Equal(got, want) {
			t.Fatalf("re-encoded: %v, want %v", got, want)
		}
	})
}

func journalRows(t *testing.T, db *store.DB) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM usage_rollup_journal`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// journaling is a Session that journals its rollups, closed at the end.
func journaling(t *testing.T, db *store.DB) *Session {
	t.Helper()
	sess, err := NewSession(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	sess.DeferRollups()
	return sess
}

// commitRounds commits rounds transactions of n random events each on sess.
func commitRounds(t *testing.T, sess *Session, r *rand.Rand, rounds, n int) {
	t.Helper()
	for range rounds {
		p, err := sess.IngestUncommitted(context.Background(), randomEvents(r, n, 2000))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// unapplied checks that a failed apply changed nothing: the journal has its
// rows rows and usage_daily none.
func unapplied(t *testing.T, db *store.DB, rows int64, what string) {
	t.Helper()
	if n := journalRows(t, db); n != rows {
		t.Fatalf("%d journal rows after %s, want %d", n, what, rows)
	}
	var n int64
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM usage_daily`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("usage_daily has %d rows after %s (%v), want 0", n, what, err)
	}
}

// With DeferRollups the events' rollups wait in the journal, one row a
// transaction, until applied: whole, a row at a time after a compaction,
// or by whoever comes first, and each row exactly once.
func TestJournal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sess := journaling(t, db)
		r := rand.New(rand.NewPCG(5, 6))
		write := func(rounds int) {
			t.Helper()
			commitRounds(t, sess, r, rounds, 300)
		}
		rolled := func() int64 {
			t.Helper()
			var n int64
			if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(count), 0) FROM usage_daily`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		// Written, journaled, not rolled up; applied whole.
		write(3)
		if n := journalRows(t, db); n != 3 {
			t.Fatalf("%d journal rows after 3 rounds, want 3", n)
		}
		if n := rolled(); n != 0 {
			t.Fatalf("rollups count %d events before the journal is applied", n)
		}
		accounts, err := sess.ApplyJournal(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"a0", "a1", "a2", "a3", "a4", "a5", "a6"}; !slices.Equal(accounts, want) {
			t.Errorf("accounts changed: %v, want %v", accounts, want)
		}
		truth(t, db)
		if n := journalRows(t, db); n != 0 {
			t.Fatalf("%d journal rows after the apply", n)
		}
		if accounts, err := sess.ApplyJournal(ctx); err != nil || accounts != nil {
			t.Fatalf("an empty journal applied: %v, %v", accounts, err)
		}

		// Compacted into rows of at most 25 keys, then applied a row at a
		// time, one of them twice.
		write(4)
		c, err := PrepareCompaction(ctx, db, 25, 0)
		if err != nil {
			t.Fatal(err)
		}
		if c.Rows() != 4 {
			t.Fatalf("compaction of %d rows into %d", c.Rows(), len(c.parts))
		}
		write(1) // after the compaction was prepared: not in it
		ids, err := sess.Compact(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != len(c.parts) {
			t.Fatalf("compacted into %d rows, want %d", len(ids), len(c.parts))
		}
		if n := journalRows(t, db); n != int64(len(ids))+1 {
			t.Fatalf("%d journal rows, want %d compacted and the newer one", n, len(ids)+1)
		}
		for _, id := range ids {
			if _, err := sess.ApplyJournalRow(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if accounts, err := sess.ApplyJournalRow(ctx, ids[0]); err != nil || accounts != nil {
			t.Fatalf("a row applied again: %v, %v", accounts, err)
		}
		if n := journalRows(t, db); n != 1 {
			t.Fatalf("%d journal rows, want the newer one", n)
		}
		if _, err := sess.ApplyJournal(ctx); err != nil {
			t.Fatal(err)
		}
		truth(t, db)

		// A compaction whose rows another apply took first changes nothing.
		write(2)
		c, err = PrepareCompaction(ctx, db, 25, 0)
		if err != nil {
			t.Fatal(err)
		}
		other, err := NewSession(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := other.ApplyJournal(ctx); err != nil {
			t.Fatal(err)
		}
		before := rolled()
		if ids, err := sess.Compact(ctx, c); err != nil || ids != nil {
			t.Fatalf("a compaction of applied rows: %v, %v", ids, err)
		}
		if n := journalRows(t, db); n != 0 || rolled() != before {
			t.Fatalf("after a stale compaction: %d journal rows, rollups %d (was %d)", n, rolled(), before)
		}
		truth(t, db)
	})
}

// A damaged journal row fails the apply, which changes nothing: the row
// stays for an operator to see, and the rollups are as they were.
func TestJournalDamagedRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sess := journaling(t, db)
		p, err := sess.IngestUncommitted(ctx, randomEvents(rand.New(rand.NewPCG(9, 9)), 50, 50))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO usage_rollup_journal (delta) VALUES ($1)`, []byte{1, 9}); err != nil {
			t.Fatal(err)
		}
		if _, err := sess.ApplyJournal(ctx); !errors.Is(err, errDelta) {
			t.Fatalf("apply with a damaged row: %v, want errDelta", err)
		}
		unapplied(t, db, 2, "the failed apply")
	})
}

// A paced apply (PaceRollups) writes what an unpaced one does: on
// PostgreSQL its rows go in statements of paceRows with pauses between,
// here of 7 rows, with rollup batches larger than pgArrayRows, which
// unpaced take the COPY path; and on either database summing the deltas
// pauses, as it does in a paced PrepareCompaction.
// A cancelled apply writes nothing and leaves the journal as it was.
func TestJournalPaced(t *testing.T) {
	oldRows, oldArray := paceRows, pgArrayRows
	paceRows, pgArrayRows = 7, 20
	t.Cleanup(func() { paceRows, pgArrayRows = oldRows, oldArray })
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sess := journaling(t, db)
		commitRounds(t, sess, rand.New(rand.NewPCG(7, 8)), 3, 200)

		sess.PaceRollups(time.Nanosecond)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := sess.ApplyJournal(cancelled); !errors.Is(err, context.Canceled) {
			t.Fatalf("a cancelled apply: %v, want context.Canceled", err)
		}
		unapplied(t, db, 3, "a cancelled apply")

		// Summing pauses after each pace of it: of a nanosecond, after
		// each row.
		var pauses int
		pause = func(d time.Duration) { pauses++ }
		t.Cleanup(func() { pause = time.Sleep })
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := &rollup{}
		sum.init()
		n, err := readJournal(ctx, tx, sum, time.Nanosecond, `DELETE FROM usage_rollup_journal RETURNING id, delta`)
		tx.Rollback()
		if err != nil || n != 3 || pauses != 3 {
			t.Fatalf("summing 3 journal rows paced: %d rows, %d pauses, %v; want 3 and 3", n, pauses, err)
		}
		pauses = 0
		c, err := PrepareCompaction(ctx, db, 25, time.Nanosecond)
		if err != nil || c.Rows() != 3 || pauses != 3 {
			t.Fatalf("a compaction of 3 journal rows prepared paced: %v, %d pauses, %v; want 3 and 3", c, pauses, err)
		}
		pause = time.Sleep

		start := time.Now()
		sess.PaceRollups(time.Millisecond)
		accounts, err := sess.ApplyJournal(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(accounts) == 0 {
			t.Error("a paced apply changed no account")
		}
		truth(t, db)
		if n := journalRows(t, db); n != 0 {
			t.Fatalf("%d journal rows after the apply", n)
		}
		if db.Dialect == store.Postgres {
			// Each statement after the first of each table waited 1 ms.
			var days, users int64
			if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM usage_daily), (SELECT COUNT(*) FROM usage_user_days)`).Scan(&days, &users); err != nil {
				t.Fatal(err)
			}
			pauses := (days+int64(paceRows)-1)/int64(paceRows) - 1 + (users+int64(paceRows)-1)/int64(paceRows) - 1
			if pauses < 10 {
				t.Fatalf("%d rollup rows and %d user-day rows make %d pauses: too few for the test", days, users, pauses)
			}
			if took := time.Since(start); took < time.Duration(pauses)*time.Millisecond {
				t.Errorf("the paced apply took %v, less than its %d pauses of 1 ms", took, pauses)
			}
		}
	})
}

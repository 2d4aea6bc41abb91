package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// Two transactions that lock two rows in opposite orders deadlock on
// PostgreSQL; IsDeadlock tells the one the server rolled back (wrapped or
// not), and no other error.
func TestIsDeadlock(t *testing.T) {
	if store.IsDeadlock(errors.New("deadlock detected")) || store.IsDeadlock(nil) {
		t.Error("a plain error or nil taken for a deadlock")
	}
	if !storetest.PostgresAvailable() {
		t.Skip("a deadlock needs PostgreSQL (KIZUNA_TEST_POSTGRES)")
	}
	db := storetest.Postgres(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `INSERT INTO usage_event_names (event) VALUES ('a'), ('b')`); err != nil {
		t.Fatal(err)
	}
	var wg, held sync.WaitGroup
	held.Add(2)
	results := make([]error, 2)
	for i, order := range [][2]string{{"a", "b"}, {"b", "a"}} {
		wg.Go(func() {
			results[i] = func() error {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					held.Done()
					return err
				}
				defer tx.Rollback()
				const update = `UPDATE usage_event_names SET event = event WHERE event = $1`
				_, err = tx.ExecContext(ctx, update, order[0])
				held.Done()
				if err != nil {
					return err
				}
				held.Wait() // both hold their first row before either asks for its second
				if _, err := tx.ExecContext(ctx, update, order[1]); err != nil {
					return err
				}
				return tx.Commit()
			}()
		})
	}
	wg.Wait()
	var deadlocks, ok int
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case store.IsDeadlock(err) && store.IsDeadlock(fmt.Errorf("wrapped: %w", err)):
			deadlocks++
		default:
			t.Errorf("not a deadlock: %v", err)
		}
	}
	if deadlocks != 1 || ok != 1 {
		t.Errorf("%d deadlocked and %d committed, want 1 and 1", deadlocks, ok)
	}
}

package ui

import (
	"context"
	"sync"
	"time"
)

// swrCache keeps what the slowest pages compute from a full read of the
// data — the dashboard's figures (periods, scores and accounts of every
// account: about a second at 100,000 accounts, against a budget of 100 ms
// for the page) and the accounts list's index — in memory, stale while
// revalidate: each key's value is computed once; once it is older than
// ttl, or ten times as long as it took to compute (so that a large book
// is not recomputed back to back), the next request still gets it at once
// while one background computation replaces it. Pages say when their
// figures were computed. The UI's own changes to what a page shows
// invalidate its key, so the next request waits for a fresh value.
type swrCache[K comparable, V any] struct {
	ttl     time.Duration
	entries sync.Map // K → *swrEntry[V]
}

type swrEntry[V any] struct {
	mu         sync.Mutex // held while a value is computed in the foreground
	val        V
	at         time.Time     // when val was computed
	took       time.Duration // how long it took
	ok         bool          // val holds a value that is still valid
	refreshing bool
	// gen counts invalidations: a background refresh started before one
	// must not put back the value it computed from older data.
	gen int
}

// get returns the cached value of key and when it was computed, computing
// it when there is none or it was invalidated (the callers wait for it),
// and refreshing it in the background once stale. onErr receives the
// error of a background refresh, which keeps the old value.
func (c *swrCache[K, V]) get(ctx context.Context, key K, compute func(context.Context) (V, error), onErr func(error)) (V, time.Time, error) {
	ent := c.entry(key)
	ent.mu.Lock()
	defer ent.mu.Unlock()
	if !ent.ok {
		start := time.Now()
		v, err := compute(ctx)
		if err != nil {
			return v, time.Time{}, err
		}
		ent.val, ent.at, ent.took, ent.ok = v, start, time.Since(start), true
		return v, ent.at, nil
	}
	if time.Since(ent.at) > max(c.ttl, 10*ent.took) && !ent.refreshing {
		ent.refreshing = true
		gen := ent.gen
		go func() {
			start := time.Now()
			// Not the request's context: the refresh outlives the request.
			v, err := compute(context.Background())
			ent.mu.Lock()
			defer ent.mu.Unlock()
			ent.refreshing = false
			switch {
			case err != nil:
				onErr(err)
			case gen == ent.gen:
				ent.val, ent.at, ent.took = v, start, time.Since(start)
			}
		}()
	}
	return ent.val, ent.at, nil
}

// invalidate makes the next get of key compute a fresh value and wait for
// it; a background refresh under way is dropped.
func (c *swrCache[K, V]) invalidate(key K) {
	ent := c.entry(key)
	ent.mu.Lock()
	defer ent.mu.Unlock()
	ent.ok = false
	ent.gen++
}

func (c *swrCache[K, V]) entry(key K) *swrEntry[V] {
	e, _ := c.entries.LoadOrStore(key, &swrEntry[V]{})
	return e.(*swrEntry[V])
}

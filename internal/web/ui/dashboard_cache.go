package ui

import (
	"context"
	"sync"
	"time"
)

// The dashboard's figures cost a full read of the periods, scores and
// accounts: at 100,000 accounts that is about a second, against a budget
// of 100 ms for the page. So each scope's figures are computed once and
// served from memory; after ttl the next request still gets them at once
// while one background computation replaces them (stale while
// revalidate). The page says when its figures were computed.
type swrCache[K comparable, V any] struct {
	ttl     time.Duration
	entries sync.Map // K → *swrEntry[V]
}

type swrEntry[V any] struct {
	mu         sync.Mutex // held while the first value is computed
	val        V
	at         time.Time
	ok         bool
	refreshing bool
}

// get returns the cached value of key, computing it on the first call (the
// callers of that first call wait for it), and refreshing it in the
// background once older than the cache's ttl. onErr receives the error of
// a background refresh, which keeps the old value.
func (c *swrCache[K, V]) get(ctx context.Context, key K, compute func(context.Context) (V, error), onErr func(error)) (V, time.Time, error) {
	e, _ := c.entries.LoadOrStore(key, &swrEntry[V]{})
	ent := e.(*swrEntry[V])
	ent.mu.Lock()
	defer ent.mu.Unlock()
	if !ent.ok {
		v, err := compute(ctx)
		if err != nil {
			return v, time.Time{}, err
		}
		ent.val, ent.at, ent.ok = v, time.Now(), true
		return v, ent.at, nil
	}
	if time.Since(ent.at) > c.ttl && !ent.refreshing {
		ent.refreshing = true
		go func() {
			// Not the request's context: the refresh outlives the request.
			v, err := compute(context.Background())
			ent.mu.Lock()
			defer ent.mu.Unlock()
			ent.refreshing = false
			if err != nil {
				onErr(err)
				return
			}
			ent.val, ent.at = v, time.Now()
		}()
	}
	return ent.val, ent.at, nil
}

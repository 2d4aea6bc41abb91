package ui

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestSWRCache(t *testing.T) {
	c := &swrCache[string, int]{ttl: 50 * time.Millisecond}
	var calls atomic.Int32
	refreshed := make(chan struct{}, 1)
	compute := func(context.Context) (int, error) {
		n := int(calls.Add(1))
		if n > 1 {
			defer func() { refreshed <- struct{}{} }()
		}
		return n, nil
	}
	onErr := func(err error) { t.Errorf("refresh: %v", err) }
	ctx := context.Background()

	// A failed first computation is returned, and not kept.
	if _, _, err := c.get(ctx, "k", func(context.Context) (int, error) { return 0, errors.New("down") }, onErr); err == nil {
		t.Fatal("the error was lost")
	}
	if v, _, err := c.get(ctx, "k", compute, onErr); v != 1 || err != nil {
		t.Fatalf("first = %d, %v", v, err)
	}
	if v, _, _ := c.get(ctx, "k", compute, onErr); v != 1 || calls.Load() != 1 {
		t.Fatalf("within the ttl = %d after %d computations", v, calls.Load())
	}
	// Another key is another value.
	if v, _, _ := c.get(ctx, "other", compute, onErr); v != 2 {
		t.Fatalf("other key = %d", v)
	}
	<-refreshed // "other" counted as a refresh in compute; drain it
	// Past the ttl the old value comes at once and one refresh replaces it.
	time.Sleep(60 * time.Millisecond)
	if v, _, _ := c.get(ctx, "k", compute, onErr); v != 1 {
		t.Fatalf("stale = %d, want the old value", v)
	}
	<-refreshed
	if v, at, _ := c.get(ctx, "k", compute, onErr); v != 3 || time.Since(at) > time.Second || calls.Load() != 3 {
		t.Fatalf("after the refresh = %d (%d computations)", v, calls.Load())
	}
}

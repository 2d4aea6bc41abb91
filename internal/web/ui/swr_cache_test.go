package ui

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestSWRCache(t *testing.T) {
	// A ttl well above the time between the test's calls, so that a slow
	// machine does not start refreshes the test does not expect.
	c := &swrCache[string, int]{ttl: 200 * time.Millisecond}
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
	time.Sleep(250 * time.Millisecond)
	if v, _, _ := c.get(ctx, "k", compute, onErr); v != 1 {
		t.Fatalf("stale = %d, want the old value", v)
	}
	<-refreshed
	// compute has returned; the refresh stores its value just after, so
	// the new value shows up within a moment, not necessarily at once.
	var v int
	var at time.Time
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if v, at, _ = c.get(ctx, "k", compute, onErr); v == 3 {
			break
		}
	}
	if v != 3 || time.Since(at) > time.Second || calls.Load() != 3 {
		t.Fatalf("after the refresh = %d (%d computations)", v, calls.Load())
	}
}

// TestSWRCacheInvalidate: an invalidated key is computed again at once,
// and a background refresh that started before the invalidation does not
// put its older value back.
func TestSWRCacheInvalidate(t *testing.T) {
	c := &swrCache[string, string]{ttl: 20 * time.Millisecond}
	ctx := context.Background()
	onErr := func(err error) { t.Errorf("refresh: %v", err) }
	if v, _, _ := c.get(ctx, "k", func(context.Context) (string, error) { return "first", nil }, onErr); v != "first" {
		t.Fatalf("first = %q", v)
	}
	time.Sleep(30 * time.Millisecond)
	started, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	slow := func(context.Context) (string, error) {
		close(started)
		<-release
		defer close(done)
		return "from before the change", nil
	}
	if v, _, _ := c.get(ctx, "k", slow, onErr); v != "first" {
		t.Fatalf("stale = %q", v)
	}
	<-started
	c.invalidate("k")
	if v, _, _ := c.get(ctx, "k", func(context.Context) (string, error) { return "after the change", nil }, onErr); v != "after the change" {
		t.Fatalf("after invalidate = %q", v)
	}
	close(release)
	<-done
	if v, _, _ := c.get(ctx, "k", slow, onErr); v != "after the change" {
		t.Errorf("the dropped refresh put back %q", v)
	}
}

// TestSWRCacheSlowCompute: a value that took d to compute stays fresh for
// 10 × d when that is longer than the ttl.
func TestSWRCacheSlowCompute(t *testing.T) {
	c := &swrCache[string, int]{ttl: 10 * time.Millisecond}
	ctx := context.Background()
	var calls atomic.Int32
	compute := func(context.Context) (int, error) {
		time.Sleep(100 * time.Millisecond) // fresh for at least a second
		return int(calls.Add(1)), nil
	}
	onErr := func(err error) { t.Errorf("refresh: %v", err) }
	c.get(ctx, "k", compute, onErr)
	time.Sleep(150 * time.Millisecond) // past the ttl, well within 10 × the compute time
	if v, _, _ := c.get(ctx, "k", compute, onErr); v != 1 {
		t.Fatalf("value %d", v)
	}
	time.Sleep(50 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Errorf("%d computations: a refresh started within 10 × the compute time", n)
	}
}

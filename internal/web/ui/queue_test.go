package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// An import from the import page and a new onboarding definition from the
// onboarding page each queue a recompute of every account at once; a check
// of a file queues nothing.
func TestPagesQueueRecomputeAll(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	ctx := context.Background()
	if err := jobs.Migrate(ctx, s.db); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(s.db, jobs.Config{RecomputeEvery: -1, ChurnCheckEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	// recomputes counts the recompute_all jobs once none is waiting or
	// running (an empty database recomputes in no time).
	recomputes := func() int {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; {
			l, err := jobs.List(ctx, s.db, jobs.ListOptions{Kinds: []string{jobs.KindRecomputeAll}})
			if err != nil {
				t.Fatal(err)
			}
			done := 0
			for _, j := range l {
				if j.State == "completed" {
					done++
				}
			}
			if done == len(l) {
				return done
			}
			if time.Now().After(deadline) {
				t.Fatalf("recompute_all jobs not done within 15 s: %+v", l)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	manager := s.as(t, user.RoleManager)
	importResult(t, manager, upload(t, manager, "", map[string]string{"kind": "accounts", "mode": "check"}, "a.csv", "account_id,name\nQ1,Queued\n"))
	if n := recomputes(); n != 0 {
		t.Errorf("%d recompute_all jobs after a check, want 0", n)
	}
	importResult(t, manager, upload(t, manager, "", map[string]string{"kind": "accounts", "mode": "import"}, "a.csv", "account_id,name\nQ1,Queued\n"))
	if n := recomputes(); n != 1 {
		t.Errorf("%d recompute_all jobs after an import, want 1", n)
	}
	res := manager.submit("/onboarding", "/onboarding/definition", url.Values{"rule": {"setup_done"}, "applies": {""}, "window_days": {"21"}})
	want(t, "save the onboarding definition", res, http.StatusSeeOther)
	if n := recomputes(); n != 2 {
		t.Errorf("%d recompute_all jobs after a new onboarding definition, want 2", n)
	}
}

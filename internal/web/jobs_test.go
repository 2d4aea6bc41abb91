package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// A delivery that keeps failing is listed as discarded with its errors; the
// filters and the role check apply.
func TestJobsList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		q, err := jobs.New(db, jobs.Config{RecomputeEvery: -1, DeliverMaxAttempts: 2, RetryBase: 50 * time.Millisecond,
			Deliver: func(context.Context, string, int, int) error { return errors.New("smtp: 451 try later") }})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return q.Deliver(ctx, tx, "dl-1") }); err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		var got []jobs.Job
		for deadline := time.Now().Add(20 * time.Second); ; {
			w := s.do(t, request{target: "/api/v1/jobs?state=retryable,discarded&kind=deliver", bearer: keys.manager})
			if w.Code != http.StatusOK {
				t.Fatalf("list: %d %s", w.Code, w.Body)
			}
			if got = decode[[]jobs.Job](t, w); len(got) == 1 && got[0].State == "discarded" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no discarded delivery within 20 s: %+v", got)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if j := got[0]; j.Kind != "deliver" || j.Attempt != 2 || j.MaxAttempts != 2 || len(j.Errors) != 2 || j.Errors[1].Error != "smtp: 451 try later" || j.ScheduledAt.IsZero() {
			t.Errorf("job %+v", j)
		}
		if w := s.do(t, request{target: "/api/v1/jobs?kind=recompute_all", bearer: keys.manager}); len(decode[[]jobs.Job](t, w)) != 0 {
			t.Errorf("recompute_all jobs: %s", w.Body)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/jobs?state=failed", bearer: keys.manager}), http.StatusUnprocessableEntity)
		checkProblem(t, s.do(t, request{target: "/api/v1/jobs?kind=email", bearer: keys.manager}), http.StatusUnprocessableEntity)
		checkProblem(t, s.do(t, request{target: "/api/v1/jobs", bearer: keys.csm}), http.StatusForbidden)
	})
}

package web

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// Changes that the snapshot reads queue their recompute at once: an API
// delete of a record the accounts of the record (a ticket's account), a
// new onboarding definition and a committed CSV import every account. A
// refused import queues nothing.
func TestChangesQueueRecompute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		q, err := jobs.New(db, jobs.Config{RecomputeEvery: -1, ChurnCheckEvery: -1, Debounce: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		list := func(kind string) []jobs.Job {
			t.Helper()
			l, err := jobs.List(ctx, db, jobs.ListOptions{Kinds: []string{kind}})
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		// waitJobs waits for n jobs of kind, all completed (a recompute_all
		// waiting would take the next one's place).
		waitJobs := func(kind string, n int) []jobs.Job {
			t.Helper()
			for deadline := time.Now().Add(15 * time.Second); ; {
				l := list(kind)
				done := len(l) == n && !slices.ContainsFunc(l, func(j jobs.Job) bool { return j.State != "completed" })
				if done {
					return l
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s jobs: %+v; want %d completed", kind, l, n)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		put := func(target, body string) {
			t.Helper()
			if w := s.do(t, request{method: http.MethodPut, target: target, body: body, bearer: keys.manager}); w.Code >= 300 {
				t.Fatalf("PUT %s: %d %s", target, w.Code, w.Body)
			}
		}
		put("/api/v1/accounts/acc-1", `{"name":"One"}`)
		put("/api/v1/tickets/t-1", `{"account_id":"acc-1","opened_at":"2024-05-01T00:30:00Z","subject":"Invoice"}`)
		waitJobs(jobs.KindRecomputeAccounts, 1) // the writes' own

		if w := s.do(t, request{method: http.MethodDelete, target: "/api/v1/tickets/t-1", bearer: keys.manager}); w.Code != http.StatusNoContent {
			t.Fatalf("DELETE ticket: %d %s", w.Code, w.Body)
		}
		l := waitJobs(jobs.KindRecomputeAccounts, 2)
		var args struct {
			AccountIDs []string `json:"account_ids"`
		}
		if err := json.Unmarshal(l[0].Args, &args); err != nil { // newest first
			t.Fatal(err)
		}
		if !reflect.DeepEqual(args.AccountIDs, []string{"acc-1"}) {
			t.Errorf("the delete queued the recompute of %v, want [acc-1]", args.AccountIDs)
		}
		if n := len(list(jobs.KindRecomputeAll)); n != 0 {
			t.Fatalf("%d recompute_all jobs before any change of every account", n)
		}

		put("/api/v1/onboarding/definition", `{"rule":"setup_done","window_days":30}`)
		waitJobs(jobs.KindRecomputeAll, 1)

		csv := func(body string) int {
			return s.do(t, request{method: http.MethodPost, target: "/api/v1/imports/accounts", bearer: keys.manager, body: body, ctype: "text/csv"}).Code
		}
		if code := csv("account_id,signup_at\nacc-2,not a date\n"); code != http.StatusUnprocessableEntity {
			t.Fatalf("a bad import: %d", code)
		}
		time.Sleep(300 * time.Millisecond)
		if n := len(list(jobs.KindRecomputeAll)); n != 1 {
			t.Errorf("%d recompute_all jobs after a refused import, want still 1", n)
		}
		if code := csv("account_id,name\nacc-2,Two\n"); code != http.StatusOK {
			t.Fatalf("import: %d", code)
		}
		waitJobs(jobs.KindRecomputeAll, 2)
	})
}

// The jobs endpoint documents every job kind.
func TestJobsDocumentEveryKind(t *testing.T) {
	f, _ := reflect.TypeFor[JobsInput]().FieldByName("Kind")
	for _, k := range jobs.Kinds {
		if !strings.Contains(f.Tag.Get("doc"), k) {
			t.Errorf("the kind parameter's doc %q does not name %s", f.Tag.Get("doc"), k)
		}
	}
}

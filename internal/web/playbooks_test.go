package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestTasksAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "Acme"}); err != nil {
			t.Fatal(err)
		}
		// A CSM creates a task: assigned to the CSM by default.
		w := s.do(t, request{method: http.MethodPost, target: "/api/v1/tasks", bearer: keys.csm,
			body: `{"account_id": "a", "title": "Kick-off call", "due_at": "2020-01-01", "priority": "high"}`})
		if w.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		created := decode[TaskOut](t, w)
		if created.Assignee != "csm-key@example.com" || created.Status != "open" || !created.Overdue || w.Header().Get("Location") != "/api/v1/tasks/"+created.ID {
			t.Errorf("created %+v", created)
		}
		p := checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/tasks", bearer: keys.csm,
			body: `{"account_id": "nope", "title": "x", "due_at": "soon"}`}), http.StatusUnprocessableEntity)
		if len(p.Errors) != 2 {
			t.Errorf("bad task: %+v", p.Errors)
		}
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/tasks", bearer: keys.viewer,
			body: `{"account_id": "a", "title": "x"}`}), http.StatusForbidden)

		// Queue: the CSM's own; another's only for managers.
		q := decode[struct {
			Assignee string    `json:"assignee"`
			Tasks    []TaskOut `json:"tasks"`
		}](t, s.do(t, request{target: "/api/v1/queue", bearer: keys.csm}))
		if q.Assignee != "csm-key@example.com" || len(q.Tasks) != 1 || q.Tasks[0].ID != created.ID {
			t.Errorf("queue %+v", q)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/queue?assignee=manager-key@example.com", bearer: keys.csm}), http.StatusForbidden)
		if w := s.do(t, request{target: "/api/v1/queue?assignee=csm-key@example.com", bearer: keys.manager}); w.Code != http.StatusOK {
			t.Errorf("manager reading a queue: %d", w.Code)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/queue", bearer: keys.write}), http.StatusBadRequest)

		// Transitions: done needs an outcome.
		path := "/api/v1/tasks/" + created.ID
		p = checkProblem(t, s.do(t, request{method: http.MethodPatch, target: path, bearer: keys.csm, body: `{"status": "done"}`}), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.outcome" {
			t.Errorf("done without outcome: %+v", p)
		}
		w = s.do(t, request{method: http.MethodPatch, target: path, bearer: keys.csm, body: `{"status": "done", "outcome": "success"}`})
		if done := decode[TaskOut](t, w); w.Code != http.StatusOK || done.Status != "done" || done.CompletedAt == nil || done.Overdue {
			t.Errorf("done: %d %s", w.Code, w.Body)
		}
		p = checkProblem(t, s.do(t, request{method: http.MethodPatch, target: path, bearer: keys.csm, body: `{"status": "open"}`}), http.StatusUnprocessableEntity)
		if !strings.Contains(p.Errors[0].Message, "final") {
			t.Errorf("reopen: %+v", p)
		}
		list := decode[taskPage](t, s.do(t, request{target: "/api/v1/tasks?status=done&account_id=a", bearer: keys.read}))
		if len(list.Tasks) != 1 {
			t.Errorf("list %+v", list)
		}
		if list := decode[taskPage](t, s.do(t, request{target: "/api/v1/tasks?overdue=true", bearer: keys.read})); len(list.Tasks) != 0 {
			t.Errorf("overdue after done: %+v", list)
		}
		entries, err := audit.List(ctx, db, audit.Filter{ObjectType: "task"})
		if err != nil || len(entries) != 2 {
			t.Errorf("audit: %d entries (%v), want create and update", len(entries), err)
		}
		checkProblem(t, s.do(t, request{method: http.MethodDelete, target: path, bearer: keys.csm}), http.StatusForbidden)
		if w := s.do(t, request{method: http.MethodDelete, target: path, bearer: keys.manager}); w.Code != http.StatusNoContent {
			t.Errorf("delete: %d", w.Code)
		}
		checkProblem(t, s.do(t, request{target: path, bearer: keys.read}), http.StatusNotFound)
	})
}

func TestPlaybooksAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "Acme", OwnerEmail: "kei@example.com"}); err != nil {
			t.Fatal(err)
		}
		typo := `{"playbook_id": "red", "name": "Red", "trigger": {"type": "rule", "condition": "health_scor < 40"},
			"actions": [{"type": "task", "title": "Call {{.Account.Name}"}]}`
		v := decode[struct {
			Valid    bool               `json:"valid"`
			Problems []playbook.Problem `json:"problems"`
		}](t, s.do(t, request{method: http.MethodPost, target: "/api/v1/playbooks/validate", bearer: keys.read, body: typo}))
		if v.Valid || len(v.Problems) != 2 || v.Problems[0].Field != "trigger.condition" || v.Problems[0].Column != 1 ||
			v.Problems[0].Message != "unknown name health_scor (did you mean health_score?)" || v.Problems[1].Field != "actions[0].title" {
			t.Errorf("validate: %+v", v)
		}
		p := checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/playbooks", bearer: keys.manager, body: typo}), http.StatusUnprocessableEntity)
		if len(p.Errors) != 2 || p.Errors[0].Location != "body.trigger.condition" || !strings.HasPrefix(p.Errors[0].Message, "line 1, column 1: unknown name") {
			t.Errorf("create with a typo: %+v", p)
		}
		good := `{"playbook_id": "red", "name": "Red", "trigger": {"type": "rule", "condition": "health_score < 40"},
			"actions": [{"type": "task", "title": "Call {{.Account.Name}}"}, {"type": "webhook", "url": "https://x.example/h", "secret": "s3cret"}]}`
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/playbooks", bearer: keys.csm, body: good}), http.StatusForbidden)
		w := s.do(t, request{method: http.MethodPost, target: "/api/v1/playbooks", bearer: keys.manager, body: good})
		pb := decode[playbook.Playbook](t, w)
		if w.Code != http.StatusCreated || !pb.Enabled || pb.Actions[1].Secret != playbook.Mask || strings.Contains(w.Body.String(), "s3cret") {
			t.Errorf("create: %d %s", w.Code, w.Body)
		}
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/playbooks", bearer: keys.manager, body: good}), http.StatusConflict)
		if w := s.do(t, request{target: "/api/v1/playbooks", bearer: keys.read}); strings.Contains(w.Body.String(), "s3cret") || !strings.Contains(w.Body.String(), `"red"`) {
			t.Errorf("list: %s", w.Body)
		}
		if entries, _ := audit.List(ctx, db, audit.Filter{ObjectType: "playbook"}); len(entries) != 1 || strings.Contains(string(entries[0].After), "s3cret") {
			t.Errorf("audit: %+v", entries)
		}

		// Fire it once and read the enrollments and deliveries.
		st, err := playbook.NewStage(ctx, db, playbook.Options{})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now().UTC().Truncate(time.Second)
		if err := st.Apply(ctx, db, at, []snapshot.Snapshot{{AccountID: "a", Name: "Acme", Owner: "kei@example.com", HealthScore: 10}}); err != nil {
			t.Fatal(err)
		}
		es := decode[enrollmentPage](t, s.do(t, request{target: "/api/v1/playbooks/red/enrollments?holdout=false", bearer: keys.read}))
		if len(es.Enrollments) != 1 || es.Enrollments[0].AccountID != "a" || es.Enrollments[0].Holdout || es.Enrollments[0].TaskID == "" {
			t.Errorf("enrollments %+v", es)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/playbooks/nope/enrollments", bearer: keys.read}), http.StatusNotFound)
		ds := decode[deliveryPage](t, s.do(t, request{target: "/api/v1/deliveries?status=pending", bearer: keys.read}))
		if len(ds.Deliveries) != 1 || ds.Deliveries[0].Kind != "webhook" {
			t.Fatalf("deliveries %+v", ds)
		}
		id := ds.Deliveries[0].ID
		if err := notify.MarkDead(ctx, db, id, "gave up"); err != nil {
			t.Fatal(err)
		}
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/deliveries/" + id + "/retry", bearer: keys.csm}), http.StatusForbidden)
		w = s.do(t, request{method: http.MethodPost, target: "/api/v1/deliveries/" + id + "/retry", bearer: keys.manager})
		if d := decode[notify.Delivery](t, w); w.Code != http.StatusOK || d.Status != "pending" || d.LastError != "gave up" {
			t.Errorf("retry: %d %s", w.Code, w.Body)
		}
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/deliveries/nope/retry", bearer: keys.manager}), http.StatusNotFound)

		// PUT with the mask keeps the secret.
		put := `{"name": "Red!", "trigger": {"type": "rule", "condition": "health_score < 40"},
			"actions": [{"type": "webhook", "url": "https://x.example/h", "secret": "********"}]}`
		if w := s.do(t, request{method: http.MethodPut, target: "/api/v1/playbooks/red", bearer: keys.manager, body: put}); w.Code != http.StatusOK {
			t.Errorf("put: %d %s", w.Code, w.Body)
		}
		if stored, _ := playbook.Get(ctx, db, "red"); stored.Actions[0].Secret != "s3cret" || stored.Name != "Red!" {
			t.Errorf("stored after put %+v", stored)
		}
		if w := s.do(t, request{method: http.MethodDelete, target: "/api/v1/playbooks/red", bearer: keys.manager}); w.Code != http.StatusNoContent {
			t.Errorf("delete: %d", w.Code)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/playbooks/red", bearer: keys.read}), http.StatusNotFound)
	})
}

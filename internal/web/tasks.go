package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/task"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// TaskOut is a task as the API shows it.
type TaskOut struct {
	task.Task
	Overdue bool `json:"overdue" doc:"Open or in progress and past its due date."`
}

func taskOut(t task.Task, now time.Time) TaskOut { return TaskOut{Task: t, Overdue: t.Overdue(now)} }

// TaskFields are the body of POST /tasks.
type TaskFields struct {
	AccountID   string `json:"account_id" minLength:"1" doc:"The account, which must exist."`
	Title       string `json:"title" minLength:"1" maxLength:"500"`
	Description string `json:"description,omitempty" maxLength:"100000"`
	Assignee    string `json:"assignee,omitempty" maxLength:"320" doc:"The assignee's email; default the user making the request; \"-\" leaves it unassigned."`
	Priority    string `json:"priority,omitempty" enum:"low,normal,high,urgent" doc:"Default normal."`
	DueAt       string `json:"due_at,omitempty" doc:"YYYY-MM-DD (00:00 UTC) or an RFC 3339 date-time."`
}

// TaskChange is the body of PATCH /tasks/{task_id}: fields sent change, fields left out stay.
type TaskChange struct {
	Title       *string `json:"title,omitempty" minLength:"1" maxLength:"500"`
	Description *string `json:"description,omitempty" maxLength:"100000"`
	Assignee    *string `json:"assignee,omitempty" maxLength:"320" doc:"An email; empty unassigns."`
	Status      *string `json:"status,omitempty" enum:"open,in_progress,done,cancelled" doc:"open → in_progress → done or cancelled; done and cancelled are final."`
	Priority    *string `json:"priority,omitempty" enum:"low,normal,high,urgent"`
	DueAt       *string `json:"due_at,omitempty" doc:"A date or date-time; empty clears it."`
	Outcome     *string `json:"outcome,omitempty" enum:"success,no_response,not_needed,failed" doc:"Required with status done."`
}

type listTasksInput struct {
	PageParams
	Assignee   string `query:"assignee" doc:"Only this assignee's tasks (an email)."`
	AccountID  string `query:"account_id" doc:"Only this account's tasks."`
	Status     string `query:"status" enum:"open,in_progress,done,cancelled" doc:"Only tasks in this state."`
	PlaybookID string `query:"playbook_id" doc:"Only tasks created by this playbook."`
	Overdue    bool   `query:"overdue" doc:"Only open and in-progress tasks past their due date."`
	Sort       string `query:"sort" enum:"created_at,-created_at" default:"-created_at" doc:"Newest first by default."`
}

type taskPage struct {
	Tasks      []TaskOut `json:"tasks"`
	NextCursor string    `json:"next_cursor,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
}

type taskPageOutput struct{ Body taskPage }

type taskOutput struct{ Body TaskOut }

type createTaskInput struct{ Body TaskFields }

type createTaskOutput struct {
	Location string `header:"Location" doc:"The new task's URL."`
	Body     TaskOut
}

type taskIDInput struct {
	TaskID string `path:"task_id" doc:"The task's id."`
}

type patchTaskInput struct {
	TaskID string `path:"task_id" doc:"The task's id."`
	Body   TaskChange
}

type queueInput struct {
	Assignee string `query:"assignee" doc:"Whose queue: managers and admins may name anyone; default the caller."`
	Limit    int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

type queueOutput struct {
	Body struct {
		Assignee string    `json:"assignee"`
		Tasks    []TaskOut `json:"tasks"`
	}
}

func registerTasks(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "list-tasks", Method: http.MethodGet, Path: "/tasks", Tags: []string{"Tasks"},
		Summary: "List tasks", Description: "A page of tasks, newest first, with filters.",
	}, func(ctx context.Context, in *listTasksInput) (*taskPageOutput, error) {
		l, err := newListing(in.PageParams, in.Sort, "task_id", "created_at")
		if err != nil {
			return nil, err
		}
		now := time.Now()
		f := task.Filter{Assignee: strings.ToLower(in.Assignee), AccountID: in.AccountID, Status: in.Status, PlaybookID: in.PlaybookID,
			Desc: l.desc, AfterKey: l.afterKey, AfterID: l.afterID, Limit: l.fetch()}
		if in.Overdue {
			f.OverdueAt = now
		}
		list, err := task.List(ctx, s.db, f)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		list, next := page(l, list, "task_id", func(t task.Task) (any, string) { return t.CreatedAt.Unix(), t.ID })
		out := make([]TaskOut, len(list))
		for i, t := range list {
			out[i] = taskOut(t, now)
		}
		return &taskPageOutput{Body: taskPage{Tasks: out, NextCursor: next}}, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "create-task", Method: http.MethodPost, Path: "/tasks", Tags: []string{"Tasks"},
		Summary: "Create a task", Description: "A new open task (201 with its Location).", DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *createTaskInput) (*createTaskOutput, error) {
		p := principalFrom(ctx)
		f := in.Body
		var created task.Task
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			c := newChecker(tx, p, nil)
			c.required("title", f.Title)
			c.requireAccount(ctx, "account_id", f.AccountID)
			switch f.Assignee {
			case "":
				f.Assignee = p.email()
			case "-":
				f.Assignee = ""
			}
			c.email("assignee", &f.Assignee)
			t := task.Task{AccountID: f.AccountID, Title: strings.TrimSpace(f.Title), Description: f.Description, Assignee: f.Assignee,
				Priority: f.Priority, CreatedBy: p.actor}
			if due, ok := c.time("due_at", &f.DueAt, false); ok {
				t.DueAt = &due
			}
			if c.err != nil {
				return c.err
			}
			if len(c.problems) > 0 {
				return problems(c.problems)
			}
			var err error
			if created, err = task.Create(ctx, tx, t); err != nil {
				return err
			}
			return audit.Record(ctx, tx, p.actor, audit.ActionCreate, "task", created.ID, nil, created)
		})
		if err != nil {
			return nil, s.taskError(ctx, err)
		}
		return &createTaskOutput{Location: apiPrefix + "/tasks/" + created.ID, Body: taskOut(created, time.Now())}, nil
	})

	register(api, needRead, huma.Operation{
		OperationID: "get-task", Method: http.MethodGet, Path: "/tasks/{task_id}", Tags: []string{"Tasks"},
		Summary: "Get one task", Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *taskIDInput) (*taskOutput, error) {
		t, err := task.Get(ctx, s.db, in.TaskID)
		if err != nil {
			return nil, s.taskError(ctx, err)
		}
		return &taskOutput{Body: taskOut(t, time.Now())}, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "update-task", Method: http.MethodPatch, Path: "/tasks/{task_id}", Tags: []string{"Tasks"},
		Summary: "Change a task",
		Description: "Fields sent change, fields left out stay. States: open → in_progress → done or cancelled " +
			"(in_progress may go back to open); done needs an outcome; done and cancelled are final.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *patchTaskInput) (*taskOutput, error) {
		p := principalFrom(ctx)
		b := in.Body
		var after task.Task
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			c := newChecker(tx, p, nil)
			ch := task.Change{Title: b.Title, Description: b.Description, Status: b.Status, Priority: b.Priority, Outcome: b.Outcome}
			if b.Assignee != nil {
				v := *b.Assignee
				c.email("assignee", &v)
				ch.Assignee = &v
			}
			if b.DueAt != nil {
				var due *time.Time
				if t, ok := c.time("due_at", b.DueAt, false); ok {
					due = &t
				}
				ch.DueAt = &due
			}
			if len(c.problems) > 0 {
				return problems(c.problems)
			}
			before, a, err := task.Update(ctx, tx, in.TaskID, ch, time.Now())
			if err != nil {
				return err
			}
			after = a
			return audit.Record(ctx, tx, p.actor, audit.ActionUpdate, "task", a.ID, before, a)
		})
		if err != nil {
			return nil, s.taskError(ctx, err)
		}
		return &taskOutput{Body: taskOut(after, time.Now())}, nil
	})

	register(api, needWrite, huma.Operation{
		OperationID: "delete-task", Method: http.MethodDelete, Path: "/tasks/{task_id}", Tags: []string{"Tasks"},
		Summary: "Delete a task", Description: "Prefer cancelling: a deleted task no longer counts in a playbook's results.",
		DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *taskIDInput) (*struct{}, error) {
		err := s.deleteRecorded(ctx, "task", in.TaskID,
			func(tx *sql.Tx) (any, error) { return task.Get(ctx, tx, in.TaskID) },
			func(tx *sql.Tx) error { return task.Delete(ctx, tx, in.TaskID) })
		if err != nil {
			return nil, s.taskError(ctx, err)
		}
		return nil, nil
	})

	register(api, needRead, huma.Operation{
		OperationID: "get-queue", Method: http.MethodGet, Path: "/queue", Tags: []string{"Tasks"},
		Summary: "A CSM's work queue",
		Description: "The open and in-progress tasks of the caller (or, for managers and admins, of ?assignee=): " +
			"earliest due first, so overdue tasks lead; then tasks without a due date; ties by priority.",
		Errors: []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *queueInput) (*queueOutput, error) {
		p := principalFrom(ctx)
		who := strings.ToLower(strings.TrimSpace(in.Assignee))
		switch {
		case who == "" && p.email() == "":
			return nil, huma.Error400BadRequest("query parameter assignee: required for an API key that acts for no user")
		case who == "":
			who = p.email()
		case who != p.email() && !user.AtLeast(p.role, user.RoleManager):
			return nil, huma.Error403Forbidden("only managers and admins may read another user's queue")
		}
		list, err := task.Queue(ctx, s.db, who, in.Limit)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &queueOutput{}
		out.Body.Assignee = who
		now := time.Now()
		out.Body.Tasks = make([]TaskOut, len(list))
		for i, t := range list {
			out.Body.Tasks[i] = taskOut(t, now)
		}
		return out, nil
	})
}

// taskError answers a task operation's error: 404, 422 for a refused
// change, the problems found, or 500.
func (s *Server) taskError(ctx context.Context, err error) error {
	var se huma.StatusError
	var ve *task.ValidationError
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, task.ErrNotFound):
		return huma.Error404NotFound("no such task")
	case errors.As(err, &ve):
		field, msg, _ := strings.Cut(ve.Error(), ": ")
		if !slices.Contains([]string{"title", "status", "priority", "outcome", "account_id"}, field) {
			field, msg = "", ve.Error()
		}
		return problems([]*huma.ErrorDetail{{Message: msg, Location: "body." + field}})
	}
	return s.internal(ctx, err)
}

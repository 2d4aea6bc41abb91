package ui

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/task"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// queueLimit bounds the queue page; a CSM with more open tasks than this
// narrows it with the filters.
const queueLimit = 500

// everyone is the assignee choice of a manager who wants every open task.
const everyone = "*"

// queueRow is one task of the queue with what the CSM needs to pick it.
type queueRow struct {
	Task        task.Task
	AccountName string
	ARR         float64
	Band        string
	Playbook    string // the name of the playbook that created it
	Overdue     bool
	Due         time.Time // zero without a due date
	Completed   time.Time // zero while not finished
	Error       string    // why the last change of this task was refused
}

// queueData is the queue page.
type queueData struct {
	Rows      []queueRow
	Currency  string
	Assignee  string // the email shown, or everyone
	Users     []user.User
	Playbooks []playbook.Playbook
	Manager   bool // may choose whose queue
	Full      bool // the limit was reached
	Limit     int
	Accounts  bool // account pages exist, so account names link
	Next      string
	Statuses  []string
	Outcomes  []string
}

func (u *UI) queuePage(w http.ResponseWriter, rq *Request) error {
	d, err := u.queue(rq)
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "queue", rq.Loc.T("My work"), d)
}

// queue reads the queue the request's filters select.
func (u *UI) queue(rq *Request) (*queueData, error) {
	ctx := rq.Context()
	q := rq.URL.Query()
	d := &queueData{Manager: user.AtLeast(rq.User.Role, user.RoleManager), Limit: queueLimit,
		Accounts: u.routed("/accounts/x"), Next: queueURL(rq.URL.Query()),
		Statuses: task.Statuses, Outcomes: task.Outcomes}
	f := task.QueueFilter{Limit: queueLimit + 1, PlaybookID: q.Get("playbook")}
	switch who := strings.ToLower(strings.TrimSpace(q.Get("assignee"))); {
	case who == "" || who == rq.User.Email:
		f.Assignee, d.Assignee = rq.User.Email, rq.User.Email
	case !d.Manager:
		return nil, Errorf(http.StatusForbidden, rq.Loc.T("Only managers and admins may see another user's queue."))
	case who == everyone:
		d.Assignee = everyone
	default:
		f.Assignee, d.Assignee = who, who
	}
	switch s := q.Get("state"); s {
	case "", task.Open, task.InProgress:
		f.Status = s
	default:
		return nil, Errorf(http.StatusBadRequest, rq.Loc.T("state: %q is not open or in_progress.", s))
	}
	now := time.Now()
	switch due := q.Get("due"); due {
	case "":
	case "overdue":
		f.DueBefore = now
	case "week":
		f.DueBefore = now.AddDate(0, 0, 7)
	default:
		return nil, Errorf(http.StatusBadRequest, rq.Loc.T("due: %q is not overdue or week.", due))
	}
	tasks, err := task.QueueOf(ctx, u.db, f)
	if err != nil {
		return nil, err
	}
	if len(tasks) > queueLimit {
		tasks, d.Full = tasks[:queueLimit], true
	}
	if d.Playbooks, err = playbook.List(ctx, u.db); err != nil {
		return nil, err
	}
	if d.Manager {
		if d.Users, err = user.List(ctx, u.db); err != nil {
			return nil, err
		}
	}
	if d.Rows, d.Currency, err = u.queueRows(ctx, tasks, d.Playbooks, now); err != nil {
		return nil, err
	}
	return d, nil
}

// queueURL is the queue with the same filters, for a form to come back
// to; the notice of the last change is left out.
func queueURL(q url.Values) string {
	q.Del("notice")
	if len(q) == 0 {
		return "/queue"
	}
	return "/queue?" + q.Encode()
}

// queueRows adds each task's account, ARR, band and playbook, and sorts
// them by due day, then ARR (the larger customer first), keeping the
// domain's order (priority, age) within a tie.
func (u *UI) queueRows(ctx context.Context, tasks []task.Task, pbs []playbook.Playbook, now time.Time) ([]queueRow, string, error) {
	names := map[string]string{}
	for _, p := range pbs {
		names[p.ID] = p.Name
	}
	var ids []string
	for _, t := range tasks {
		if !slices.Contains(ids, t.AccountID) {
			ids = append(ids, t.AccountID)
		}
	}
	accounts, err := account.Names(ctx, u.db, ids)
	if err != nil {
		return nil, "", err
	}
	mrr, err := billing.CurrentMRR(ctx, u.db, ids, now)
	if err != nil {
		return nil, "", err
	}
	conv, err := billing.LoadConverter(ctx, u.db)
	if err != nil {
		return nil, "", err
	}
	bands, err := health.Current(ctx, u.db, ids)
	if err != nil {
		return nil, "", err
	}
	rows := make([]queueRow, len(tasks))
	for i, t := range tasks {
		m, err := conv.Total(mrr[t.AccountID], now)
		if err != nil {
			return nil, "", err
		}
		rows[i] = queueRow{Task: t, AccountName: accounts[t.AccountID], ARR: 12 * m, Band: bands[t.AccountID].Band,
			Playbook: names[t.PlaybookID], Overdue: t.Overdue(now)}
		if t.DueAt != nil {
			rows[i].Due = *t.DueAt
		}
		if t.CompletedAt != nil {
			rows[i].Completed = *t.CompletedAt
		}
	}
	slices.SortStableFunc(rows, func(a, b queueRow) int {
		if c := cmp.Compare(dueDay(a.Task), dueDay(b.Task)); c != 0 {
			return c
		}
		return cmp.Compare(b.ARR, a.ARR)
	})
	return rows, conv.Reporting, nil
}

// dueDay is the UTC day a task is due, tasks without a date last.
func dueDay(t task.Task) int64 {
	if t.DueAt == nil {
		return 1 << 62
	}
	return t.DueAt.Unix() / 86400
}

// taskData is the page of one task.
type taskData struct {
	Row      queueRow
	MayEdit  bool
	Accounts bool
	Next     string
	Statuses []string
	Outcomes []string
}

func (u *UI) taskPage(w http.ResponseWriter, rq *Request) error {
	return u.renderTask(w, rq, http.StatusOK, "")
}

func (u *UI) renderTask(w http.ResponseWriter, rq *Request, status int, problem string) error {
	t, err := task.Get(rq.Context(), u.db, rq.PathValue("id"))
	if errors.Is(err, task.ErrNotFound) {
		return Errorf(http.StatusNotFound, rq.Loc.T("There is no such task."))
	}
	if err != nil {
		return err
	}
	pbs, err := playbook.List(rq.Context(), u.db)
	if err != nil {
		return err
	}
	rows, _, err := u.queueRows(rq.Context(), []task.Task{t}, pbs, time.Now())
	if err != nil {
		return err
	}
	rows[0].Error = problem
	d := taskData{Row: rows[0], MayEdit: mayChange(rq.User, t), Accounts: u.routed("/accounts/x"),
		Next: "/tasks/" + t.ID, Statuses: task.Statuses, Outcomes: task.Outcomes}
	return u.render(w, rq, status, "task", t.Title, d)
}

// mayChange: the assignee, or a manager or admin.
func mayChange(us user.User, t task.Task) bool {
	return user.AtLeast(us.Role, user.RoleManager) || (user.AtLeast(us.Role, user.RoleCSM) && t.Assignee == us.Email)
}

// changeTask moves a task to another state and records its outcome. A
// refused change re-renders the page it came from (the queue or the
// task's page) with the reason beside the task.
func (u *UI) changeTask(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	id := rq.PathValue("id")
	status, outcome := rq.PostFormValue("status"), rq.PostFormValue("outcome")
	next := "/tasks/" + id
	if n := rq.PostFormValue("next"); n != "" {
		next = localPath(n)
	}
	var problem string
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		t, err := task.Get(ctx, tx, id)
		if err != nil {
			return err
		}
		if !mayChange(rq.User, t) {
			return Errorf(http.StatusForbidden, rq.Loc.T("Only the task's assignee, a manager or an admin may change it."))
		}
		if problem = taskProblem(rq.Loc, t, status, outcome); problem != "" {
			return nil
		}
		before, after, err := task.Update(ctx, tx, id, task.Change{Status: &status, Outcome: &outcome}, time.Now())
		var ve *task.ValidationError
		if errors.As(err, &ve) {
			problem = rq.Loc.T("The change was refused: %s", ve.Error())
			return nil
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.UserActor(rq.User.Email), audit.ActionUpdate, "task", id, before, after)
	})
	switch {
	case errors.Is(err, task.ErrNotFound):
		return Errorf(http.StatusNotFound, rq.Loc.T("There is no such task."))
	case err != nil:
		return err
	case problem == "":
		redirect(w, rq.Request, next, rq.Loc.T("Task updated."))
		return nil
	}
	if !strings.HasPrefix(next, "/queue") {
		return u.renderTask(w, rq, http.StatusUnprocessableEntity, problem)
	}
	// Re-render the queue the form came from, with the reason on its row.
	back := *rq
	r2 := rq.Request.Clone(ctx)
	r2.URL.Path, r2.URL.RawQuery, _ = strings.Cut(next, "?")
	back.Request = r2
	d, err := u.queue(&back)
	if err != nil {
		return err
	}
	for i := range d.Rows {
		if d.Rows[i].Task.ID == id {
			d.Rows[i].Error = problem
		}
	}
	return u.render(w, &back, http.StatusUnprocessableEntity, "queue", rq.Loc.T("My work"), d)
}

// taskProblem is what is wrong with moving t to status with outcome, in
// the user's language; the domain checks again.
func taskProblem(l *Locale, t task.Task, status, outcome string) string {
	switch {
	case !slices.Contains(task.Statuses, status):
		return l.T("Choose a state.")
	case t.Status == task.Done || t.Status == task.Cancelled:
		return l.T("This task is already finished; a done or dismissed task cannot change.")
	case outcome != "" && !slices.Contains(task.Outcomes, outcome):
		return l.T("outcome: %q is not one of the outcomes.", outcome)
	case status == task.Done && outcome == "":
		return l.T("Choose an outcome to mark the task done.")
	case outcome != "" && status != task.Done && status != task.Cancelled:
		return l.T("Only a done or dismissed task has an outcome; leave the outcome empty or choose done.")
	}
	return ""
}

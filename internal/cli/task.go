package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/task"
)

// TaskCmd groups the task commands.
type TaskCmd struct {
	List TaskListCmd `cmd:"" help:"List tasks: a CSM's queue with --assignee, overdue first."`
	Done TaskDoneCmd `cmd:"" help:"Mark a task done with its outcome."`
}

// TaskListCmd lists tasks.
type TaskListCmd struct {
	Assignee string `help:"Only this assignee's tasks (an email); with no --status, their queue (open and in progress, by due date)."`
	Status   string `enum:",open,in_progress,done,cancelled" default:"" help:"Only tasks in this state."`
	Account  string `help:"Only this account's tasks."`
	Limit    int    `default:"100" help:"At most this many."`
	Format   string `enum:"table,json" default:"table" help:"table or json."`
}

// Run prints the tasks.
func (c TaskListCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var list []task.Task
	if c.Assignee != "" && c.Status == "" && c.Account == "" {
		list, err = task.Queue(ctx, db, strings.ToLower(c.Assignee), c.Limit)
	} else {
		list, err = task.List(ctx, db, task.Filter{Assignee: strings.ToLower(c.Assignee), Status: c.Status, AccountID: c.Account, Desc: true, Limit: c.Limit})
	}
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, orEmptyList(list))
	}
	now := time.Now()
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tACCOUNT\tSTATUS\tDUE\tPRIORITY\tASSIGNEE\tTITLE")
	for _, t := range list {
		due := ""
		if t.DueAt != nil {
			due = t.DueAt.Format(time.DateOnly)
			if t.Overdue(now) {
				due += " (overdue)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.AccountID, t.Status, due, t.Priority, t.Assignee, t.Title)
	}
	return tw.Flush()
}

// TaskDoneCmd finishes a task.
type TaskDoneCmd struct {
	ID      string `arg:"" help:"The task's id."`
	Outcome string `required:"" enum:"success,no_response,not_needed,failed" help:"success, no_response, not_needed or failed."`
}

// Run marks the task done, with an audit entry.
func (c TaskDoneCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.InTx(ctx, func(tx *sql.Tx) error {
		done := task.Done
		before, after, err := task.Update(ctx, tx, c.ID, task.Change{Status: &done, Outcome: &c.Outcome}, time.Now())
		var ve *task.ValidationError
		switch {
		case errors.Is(err, task.ErrNotFound):
			return UserError{fmt.Errorf("no task %q", c.ID)}
		case errors.As(err, &ve):
			return UserError{fmt.Errorf("task %s: %w", c.ID, err)}
		case err != nil:
			return err
		}
		if err := audit.Record(ctx, tx, audit.CLIActor(), audit.ActionUpdate, "task", c.ID, before, after); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "task %s done (%s)\n", c.ID, c.Outcome)
		return nil
	})
}

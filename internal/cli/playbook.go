package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/playbook"
)

// PlaybookCmd groups the playbook commands.
type PlaybookCmd struct {
	List     PlaybookListCmd     `cmd:"" help:"List the playbooks."`
	Show     PlaybookShowCmd     `cmd:"" help:"Print one playbook as JSON (secrets masked)."`
	Create   PlaybookCreateCmd   `cmd:"" help:"Create or replace a playbook from a JSON file."`
	Validate PlaybookValidateCmd `cmd:"" help:"Check a playbook file: rules and templates, with positions."`
}

// PlaybookListCmd lists the playbooks.
type PlaybookListCmd struct {
	Format string `enum:"table,json" default:"table" help:"table or json."`
}

// Run prints the playbooks.
func (c PlaybookListCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := playbook.List(ctx, db)
	if err != nil {
		return err
	}
	if c.Format == "json" {
		for i := range list {
			list[i] = list[i].Masked()
		}
		return writeJSON(g.stdout, orEmptyList(list))
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tENABLED\tTRIGGER\tACTIONS\tCOOLDOWN\tHOLDOUT")
	for _, p := range list {
		kinds := make([]string, len(p.Actions))
		for i, a := range p.Actions {
			kinds[i] = a.Type
		}
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\t%dd\t%.0f%%\n", p.ID, p.Name, p.Enabled, p.Trigger.Type, strings.Join(kinds, ","),
			p.CooldownDays, p.HoldoutShare*100)
	}
	return tw.Flush()
}

func orEmptyList[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// PlaybookShowCmd prints one playbook.
type PlaybookShowCmd struct {
	ID string `arg:"" help:"The playbook's id."`
}

// Run prints the playbook as JSON.
func (c PlaybookShowCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := playbook.Get(ctx, db, c.ID)
	if errors.Is(err, playbook.ErrNotFound) {
		return UserError{fmt.Errorf("no playbook %q (kizuna playbook list shows them)", c.ID)}
	}
	if err != nil {
		return err
	}
	return writeJSON(g.stdout, p.Masked())
}

// PlaybookCreateCmd saves a playbook file.
type PlaybookCreateCmd struct {
	File string `arg:"" type:"existingfile" help:"The playbook, as JSON (the API's format, with playbook_id)."`
}

// Run validates and stores the playbook, with an audit entry.
func (c PlaybookCreateCmd) Run(ctx context.Context, g *Globals) error {
	p, err := readPlaybook(c.File)
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.InTx(ctx, func(tx *sql.Tx) error {
		before, after, err := playbook.Save(ctx, tx, p, time.Now())
		var ve *playbook.ValidationError
		if errors.As(err, &ve) {
			return UserError{problemsError(c.File, ve.Problems)}
		}
		if err != nil {
			return err
		}
		action, verb := audit.ActionCreate, "created"
		var old any
		if before != nil {
			action, verb, old = audit.ActionUpdate, "updated", before.Masked()
		}
		if err := audit.Record(ctx, tx, audit.CLIActor(), action, "playbook", after.ID, old, after.Masked()); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "playbook %s %s\n", after.ID, verb)
		return nil
	})
}

// PlaybookValidateCmd checks a playbook file.
type PlaybookValidateCmd struct {
	File   string `arg:"" type:"existingfile" help:"The playbook, as JSON."`
	Format string `enum:"text,json" default:"text" help:"text or json (valid and problems, as POST /api/v1/playbooks/validate)."`
}

// Run prints the problems; it fails (exit status 1) when there are any.
func (c PlaybookValidateCmd) Run(ctx context.Context, g *Globals) error {
	p, err := readPlaybook(c.File)
	if err != nil {
		return err
	}
	probs := playbook.Validate(&p)
	if c.Format == "json" {
		if err := writeJSON(g.stdout, map[string]any{"valid": len(probs) == 0, "problems": orEmptyList(probs)}); err != nil {
			return err
		}
	} else if len(probs) == 0 {
		fmt.Fprintf(g.stdout, "%s: valid\n", c.File)
	}
	if len(probs) > 0 {
		return UserError{problemsError(c.File, probs)}
	}
	return nil
}

func readPlaybook(path string) (playbook.Playbook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return playbook.Playbook{}, UserError{fmt.Errorf("read playbook: %w", err)}
	}
	p, err := playbook.ParseJSON(path, data)
	if err != nil {
		return p, UserError{err}
	}
	return p, nil
}

// problemsError is one line: FILE: field: line L, column C: reason; …
func problemsError(file string, probs []playbook.Problem) error {
	msgs := make([]string, len(probs))
	for i, p := range probs {
		msgs[i] = p.Error()
	}
	return fmt.Errorf("%s: %s", file, strings.Join(msgs, "; "))
}

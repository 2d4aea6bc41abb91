package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/program"
)

// ProgramCmd groups the program commands.
type ProgramCmd struct {
	List            ProgramListCmd    `cmd:"" default:"withargs" help:"Every program with its action, start date and participants."`
	Show            ProgramShowCmd    `cmd:"" help:"A program: goal, hypothesis, windows, measures and participants."`
	Results         ProgramResultsCmd `cmd:"" help:"A program's results: participants against the control group, each measure with its interval and verdict."`
	AddParticipants ProgramAddCmd     `cmd:"" name:"add-participants" help:"Add participants: account ids, a CSV file (account_id[,joined_date][,source]) or the accounts the program's playbook acted on."`
}

// ProgramListCmd lists the programs.
type ProgramListCmd struct{ formatFlag }

// Run prints the programs.
func (c ProgramListCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := program.List(ctx, db)
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, list)
	}
	for _, p := range list {
		fmt.Fprintf(g.stdout, "%-24s %-9s %s  %5d participants  %s\n", p.ID, p.Action, p.Start.Format(time.DateOnly), p.Participants, p.Name)
	}
	fmt.Fprintf(g.stdout, "%d programs\n", len(list))
	return nil
}

// ProgramShowCmd prints one program.
type ProgramShowCmd struct {
	ID string `arg:"" help:"The program's id."`
	formatFlag
}

// Run prints the program.
func (c ProgramShowCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := program.Get(ctx, db, c.ID)
	if err != nil {
		return programUserError(err)
	}
	parts, err := program.Participants(ctx, db, c.ID)
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, struct {
			program.Program
			List []program.Participant `json:"participant_list"`
		}{p, parts})
	}
	w := g.stdout
	fmt.Fprintf(w, "%s: %s (%s)\n", p.ID, p.Name, p.Action)
	fmt.Fprintf(w, "goal:        %s\nhypothesis:  %s\n", p.Goal, p.Hypothesis)
	fmt.Fprintf(w, "start:       %s (pre-period %d days, post-period %d days)\n", p.Start.Format(time.DateOnly), p.PreDays, p.PostDays)
	if p.SegmentID != "" {
		fmt.Fprintf(w, "segment:     %s\n", p.SegmentID)
	}
	if p.PlaybookID != "" {
		fmt.Fprintf(w, "playbook:    %s (its holdout is the control group)\n", p.PlaybookID)
	}
	labels := make([]string, len(p.Measures))
	for i, m := range p.Measures {
		labels[i] = m.Label()
	}
	fmt.Fprintf(w, "measures:    %s\n", strings.Join(labels, "; "))
	bySource := map[string]int{}
	for _, pt := range parts {
		bySource[pt.Source]++
	}
	fmt.Fprintf(w, "participants: %d (import %d, hand %d, playbook %d)\n", len(parts), bySource[program.SourceImport],
		bySource[program.SourceHand], bySource[program.SourcePlaybook])
	return nil
}

// ProgramResultsCmd prints a program's results.
type ProgramResultsCmd struct {
	ID string `arg:"" help:"The program's id."`
	At string `help:"Compute as of this date (YYYY-MM-DD; default now)."`
	formatFlag
}

// Run prints the results.
func (c ProgramResultsCmd) Run(ctx context.Context, g *Globals) error {
	at := time.Now()
	if c.At != "" {
		t, err := time.Parse(time.DateOnly, c.At)
		if err != nil {
			return UserError{fmt.Errorf("--at %q: want YYYY-MM-DD", c.At)}
		}
		at = t
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := program.Compute(ctx, db, c.ID, at)
	if err != nil {
		return programUserError(err)
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, r)
	}
	w := g.stdout
	fmt.Fprintf(w, "%s: pre-period %s to %s, post-period to %s\n", r.Program.Name, r.PreFrom.Format(time.DateOnly),
		r.Program.Start.Format(time.DateOnly), r.PostTo.Format(time.DateOnly))
	fmt.Fprintf(w, "participants: %d customers at the start", r.Participants)
	if r.NotCustomers > 0 {
		fmt.Fprintf(w, " (%d others left out: not paying at the start)", r.NotCustomers)
	}
	fmt.Fprintf(w, "\ncontrol: %d accounts, %s\n", r.Control.Accounts, r.Control.Method)
	for _, m := range r.Measures {
		fmt.Fprintf(w, "- %s\n", m.Verdict.Text)
		switch {
		case m.DiD != nil:
			fmt.Fprintf(w, "    participants %.3f → %.3f, control %.3f → %.3f (n = %d, %d)\n", m.DiD.TreatedPre, m.DiD.TreatedPost,
				m.DiD.ControlPre, m.DiD.ControlPost, m.DiD.NTreated, m.DiD.NControl)
		case m.Risk != nil:
			fmt.Fprintf(w, "    participants %d/%d, control %d/%d\n", m.Risk.TreatedEvents, m.Risk.NTreated, m.Risk.ControlEvents, m.Risk.NControl)
		}
		if m.Partial {
			fmt.Fprintf(w, "    (post-period so far: it ends on %s)\n", m.WindowEnd.Format(time.DateOnly))
		}
	}
	return nil
}

// ProgramAddCmd adds participants.
type ProgramAddCmd struct {
	ID           string   `arg:"" help:"The program's id."`
	Accounts     []string `arg:"" optional:"" help:"Account ids to add (source hand)."`
	CSV          string   `name:"csv" type:"existingfile" help:"A CSV file with a header row: account_id, optionally joined_date (YYYY-MM-DD) and source."`
	FromPlaybook bool     `help:"Add the accounts the program's playbook acted on (outside its holdout) in the post-period."`
}

// Run adds the participants, all or nothing, with one audit entry.
func (c ProgramAddCmd) Run(ctx context.Context, g *Globals) error {
	var list []program.Participant
	for _, id := range c.Accounts {
		list = append(list, program.Participant{AccountID: id, Source: program.SourceHand})
	}
	if c.CSV != "" {
		f, err := os.Open(c.CSV)
		if err != nil {
			return UserError{err}
		}
		defer f.Close()
		fromFile, err := program.ParseCSV(f)
		if err != nil {
			return UserError{fmt.Errorf("%s: %w", c.CSV, err)}
		}
		list = append(list, fromFile...)
	}
	if len(list) == 0 && !c.FromPlaybook {
		return UserError{errors.New("nothing to add: give account ids, --csv FILE or --from-playbook")}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var added, total int
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		prog, err := program.Get(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if c.FromPlaybook {
			fromPB, err := program.FromPlaybook(ctx, tx, prog)
			if err != nil {
				return err
			}
			list = append(list, fromPB...)
		}
		if added, err = program.AddParticipants(ctx, tx, c.ID, list, audit.CLIActor(), time.Now()); err != nil {
			return err
		}
		total = prog.Participants + added
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionUpdate, "program", c.ID,
			map[string]int{"participants": prog.Participants}, map[string]int{"participants": total, "added": added})
	})
	if err != nil {
		return programUserError(err)
	}
	fmt.Fprintf(g.stdout, "%d added (%d already taking part); %d participants\n", added, len(list)-added, total)
	return nil
}

// programUserError marks the errors a user's request caused.
func programUserError(err error) error {
	var ve *program.ValidationError
	if errors.Is(err, program.ErrNotFound) || errors.As(err, &ve) {
		return UserError{err}
	}
	return err
}

package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

// SegmentCmd groups the segment commands.
type SegmentCmd struct {
	List    SegmentListCmd    `cmd:"" help:"List the segments with their member counts."`
	Create  SegmentCreateCmd  `cmd:"" help:"Create (or with --replace, update) a segment and compute its membership now."`
	Show    SegmentShowCmd    `cmd:"" help:"Show one segment."`
	Members SegmentMembersCmd `cmd:"" help:"List a segment's members (stored, or --live)."`
	Delete  SegmentDeleteCmd  `cmd:"" help:"Delete a segment with its membership and history."`
}

type formatFlag struct {
	Format string `enum:"json,text" default:"text" help:"Output: json or text."`
}

// SegmentListCmd lists the segments.
type SegmentListCmd struct{ formatFlag }

// Run prints every segment.
func (c SegmentListCmd) Run(ctx context.Context, g *Globals) error {
	return runList(ctx, g, c.Format, []string{"segment_id", "name", "members", "rule"}, segment.List,
		func(s segment.Segment) []any { return []any{s.ID, s.Name, s.Members, s.Rule} })
}

// tableOr maps the text format onto writeRecords' table.
func tableOr(format string) string {
	if format == "json" {
		return "json"
	}
	return "table"
}

// SegmentCreateCmd creates a segment.
type SegmentCreateCmd struct {
	ID          string `arg:"" name:"id" help:"The segment's id: a slug such as at_risk."`
	Name        string `help:"Its name (default the id)."`
	Description string `help:"What it is for."`
	Rule        string `required:"" help:"The condition, e.g. 'health_band == \"red\" && arr >= 10000'. It may not use segments."`
	Replace     bool   `help:"Update the segment if it exists."`
	formatFlag
}

// Run validates the segment, stores it with an audit entry and computes its
// membership on every account's snapshot now.
func (c SegmentCreateCmd) Run(ctx context.Context, g *Globals) error {
	seg := segment.Segment{ID: c.ID, Name: c.Name, Description: c.Description, Rule: c.Rule}
	if seg.Name == "" {
		seg.Name = seg.ID
	}
	if err := segment.Validate(seg); err != nil {
		var re *rule.Error
		if errors.As(err, &re) {
			if re.Snippet != "" {
				fmt.Fprintln(g.stderr, re.Snippet)
			}
			return UserError{fmt.Errorf("--rule: %w", re)}
		}
		return UserError{err}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Second)
	snaps, err := snapshot.All(ctx, db, now)
	if err != nil {
		return err
	}
	var out struct {
		segment.Segment
		Joined int `json:"joined"`
		Left   int `json:"left"`
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		old, err := segment.Get(ctx, tx, seg.ID)
		exists := err == nil
		if err != nil && !errors.Is(err, segment.ErrNotFound) {
			return err
		}
		if exists && !c.Replace {
			return UserError{fmt.Errorf("segment %s exists; pass --replace to update it", seg.ID)}
		}
		var saved segment.Segment
		action, before := audit.ActionCreate, any(nil)
		if exists {
			old.Members = 0
			action, before = audit.ActionUpdate, old
			saved, err = segment.Update(ctx, tx, seg, now)
		} else {
			saved, err = segment.Create(ctx, tx, seg, now)
		}
		if err != nil {
			return err
		}
		if out.Joined, out.Left, err = segment.Refresh(ctx, tx, seg.ID, now, snaps); err != nil {
			return err
		}
		if out.Segment, err = segment.Get(ctx, tx, seg.ID); err != nil {
			return err
		}
		saved.Members = 0
		return audit.Record(ctx, tx, audit.CLIActor(), action, "segment", seg.ID, before, saved)
	})
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, out)
	}
	fmt.Fprintf(g.stdout, "segment %s: %d members (%d joined, %d left)\n", out.ID, out.Members, out.Joined, out.Left)
	return nil
}

// SegmentShowCmd shows one segment.
type SegmentShowCmd struct {
	ID string `arg:"" name:"id" help:"The segment's id."`
	formatFlag
}

// Run prints the segment.
func (c SegmentShowCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := segment.Get(ctx, db, c.ID)
	if errors.Is(err, segment.ErrNotFound) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, s)
	}
	fmt.Fprintf(g.stdout, "segment_id   %s\nname         %s\ndescription  %s\nrule         %s\nmembers      %d\nupdated_at   %s\n",
		s.ID, s.Name, s.Description, s.Rule, s.Members, s.UpdatedAt.Format(time.RFC3339))
	return nil
}

// SegmentMembersCmd lists a segment's members.
type SegmentMembersCmd struct {
	ID   string `arg:"" name:"id" help:"The segment's id."`
	Live bool   `help:"Evaluate the rule now on every account instead of reading the stored membership."`
	formatFlag
}

// Run prints the members in account id order.
func (c SegmentMembersCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := segment.Get(ctx, db, c.ID)
	if errors.Is(err, segment.ErrNotFound) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	var members []segment.Member
	if c.Live {
		snaps, err := snapshot.All(ctx, db, time.Now())
		if err != nil {
			return err
		}
		ids, err := segment.Evaluate(s, snaps)
		if err != nil {
			return err
		}
		names := map[string]string{}
		for _, sn := range snaps {
			names[sn.AccountID] = sn.Name
		}
		for _, id := range ids {
			members = append(members, segment.Member{AccountID: id, Name: names[id]})
		}
	} else {
		for after := ""; ; {
			page, err := segment.Members(ctx, db, c.ID, after, 10000)
			if err != nil {
				return err
			}
			members = append(members, page...)
			if len(page) < 10000 {
				break
			}
			after = page[len(page)-1].AccountID
		}
	}
	if members == nil {
		members = []segment.Member{}
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, members)
	}
	for _, m := range members {
		if c.Live {
			fmt.Fprintf(g.stdout, "%s\t%s\n", m.AccountID, m.Name)
		} else {
			fmt.Fprintf(g.stdout, "%s\t%s\tsince %s\n", m.AccountID, m.Name, m.Since.Format(time.RFC3339))
		}
	}
	return nil
}

// SegmentDeleteCmd deletes a segment.
type SegmentDeleteCmd struct {
	ID string `arg:"" name:"id" help:"The segment's id."`
}

// Run deletes the segment with an audit entry.
func (c SegmentDeleteCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := segment.Get(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if err := segment.Delete(ctx, tx, c.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionDelete, "segment", c.ID, before, nil)
	})
	if errors.Is(err, segment.ErrNotFound) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "deleted segment %s\n", c.ID)
	return nil
}

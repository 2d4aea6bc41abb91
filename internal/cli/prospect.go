package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/prospect"
)

// ProspectCmd groups the prospect commands.
type ProspectCmd struct {
	Queue ProspectQueueCmd `cmd:"" default:"withargs" help:"The triage queue: open trials, undecided first, then decided, then browsing; soonest trial end first."`
	Rates ProspectRatesCmd `cmd:"" help:"Conversion rate by class (decided, undecided, browsing)."`
}

// ProspectQueueCmd prints the triage queue.
type ProspectQueueCmd struct {
	Class string `enum:",decided,undecided,browsing" default:"" help:"Only this class."`
	formatFlag
}

// Run prints the queue.
func (c ProspectQueueCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := prospect.Queue(ctx, db, time.Now(), c.Class)
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, list)
	}
	for _, p := range list {
		left := "?"
		if p.TrialDaysLeft != nil {
			left = fmt.Sprint(*p.TrialDaysLeft)
		}
		fmt.Fprintf(g.stdout, "%-10s %-24s %4sd left  %-8s %d users/7d  %s\n", p.Class, p.AccountID, left, p.ClassFrom,
			p.Usage.ActiveUsers7d, p.Seed.Reason)
	}
	fmt.Fprintf(g.stdout, "%d open trials\n", len(list))
	return nil
}

// ProspectRatesCmd prints the conversion rates.
type ProspectRatesCmd struct{ formatFlag }

// Run prints the rates.
func (c ProspectRatesCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	rates, err := prospect.Rates(ctx, db, time.Now())
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, rates)
	}
	pct := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100**v)
	}
	fmt.Fprintf(g.stdout, "%-10s %9s %6s %9s %6s %10s %10s\n", "class", "prospects", "open", "converted", "lost", "conversion", "close")
	for _, r := range rates {
		fmt.Fprintf(g.stdout, "%-10s %9d %6d %9d %6d %10s %10s\n", r.Class, r.Prospects, r.Open, r.Converted, r.Lost, pct(r.ConversionRate), pct(r.CloseRate))
	}
	return nil
}

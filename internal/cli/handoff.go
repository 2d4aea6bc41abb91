package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/successplan"
)

// HandoffCmd groups the handoff commands.
type HandoffCmd struct {
	Missing HandoffMissingCmd `cmd:"" help:"Paying accounts with no sales→CS handoff record (or an incomplete one), largest MRR first."`
}

// HandoffMissingCmd lists the accounts missing a handoff.
type HandoffMissingCmd struct {
	Incomplete bool `help:"Also list accounts whose handoff record is incomplete."`
	formatFlag
}

// Run prints the list.
func (c HandoffMissingCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := successplan.MissingHandoffs(ctx, db, time.Now(), c.Incomplete)
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, list)
	}
	for _, m := range list {
		state := "none"
		if m.HasHandoff {
			state = fmt.Sprintf("%d%% (missing %s)", m.Completeness.Percent, strings.Join(m.Completeness.Missing, ", "))
		}
		fmt.Fprintf(g.stdout, "%-24s %12.2f  %-28s %s\n", m.AccountID, m.MRR, m.OwnerEmail, state)
	}
	fmt.Fprintf(g.stdout, "%d accounts\n", len(list))
	return nil
}

package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/coverage"
	"github.com/kizuna-cs/kizuna/internal/segment"
)

// CoverageCmd groups the coverage commands.
type CoverageCmd struct {
	Tiers    CoverageTiersCmd    `cmd:"" help:"Customers and ARR per touch tier (high, low, tech), with the thresholds."`
	Ranking  CoverageRankingCmd  `cmd:"" help:"Customers ranked by ARR with share and cumulative share (Pareto)."`
	Workload CoverageWorkloadCmd `cmd:"" help:"Accounts, ARR, open tasks and red accounts per CSM."`
	Set      CoverageSetCmd      `cmd:"" help:"Set a touch-tier setting: touch_tier.basis (arr|ltv), touch_tier.high, touch_tier.low."`
	Owner    CoverageOwnerCmd    `cmd:"" help:"Assign one account to a CSM (a user with role csm or manager)."`
}

// CoverageTiersCmd prints the tiers.
type CoverageTiersCmd struct {
	At string `help:"The moment (default now)." placeholder:"DATE"`
	formatFlag
}

func userCoverageError(err error) error {
	switch {
	case errors.Is(err, coverage.ErrBadSetting), errors.Is(err, coverage.ErrBadAssign), errors.Is(err, coverage.ErrNotAssignable),
		errors.Is(err, segment.ErrNotFound), errors.Is(err, account.ErrNotFound):
		return UserError{err}
	}
	return err
}

// Run prints the tier counts.
func (c CoverageTiersCmd) Run(ctx context.Context, g *Globals) error {
	at, err := instantOrNow(c.At, "--at")
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	b, err := coverage.LoadBook(ctx, db, at)
	if err != nil {
		return userCoverageError(err)
	}
	r := coverage.TierCounts(b)
	if c.Format == "json" {
		return writeJSON(g.stdout, r)
	}
	fmt.Fprintf(g.stdout, "basis %s: high ≥ %s, low ≥ %s (%s)\n", r.EffectiveBasis, amount(r.High, r.Currency), amount(r.Low, r.Currency), r.Currency)
	if r.Note != "" {
		fmt.Fprintln(g.stdout, r.Note)
	}
	var records [][]any
	for _, t := range r.Tiers {
		records = append(records, []any{t.Tier, t.Accounts, t.ARR, 100 * t.ShareOfARR})
	}
	return writeRecords(g.stdout, "table", []string{"tier", "accounts", "arr", "share_%"}, records, nil, r.Currency)
}

// CoverageRankingCmd prints the ranking.
type CoverageRankingCmd struct {
	At    string `help:"The moment (default now)." placeholder:"DATE"`
	Owner string `help:"Only this owner's accounts; none for the unassigned."`
	Tier  string `enum:",high,low,tech" default:"" help:"Only this tier."`
	Limit int    `default:"100" help:"Rows to print."`
	formatFlag
}

// Run prints the ranking.
func (c CoverageRankingCmd) Run(ctx context.Context, g *Globals) error {
	at, err := instantOrNow(c.At, "--at")
	if err != nil {
		return err
	}
	if c.Limit < 1 {
		return UsageError{fmt.Errorf("--limit %d: want at least 1", c.Limit)}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	b, err := coverage.LoadBook(ctx, db, at)
	if err != nil {
		return userCoverageError(err)
	}
	r := coverage.Rank(b, coverage.RankFilter{Owner: c.Owner, Tier: c.Tier, Limit: c.Limit})
	var records [][]any
	for _, a := range r.Accounts {
		records = append(records, []any{a.Rank, a.AccountID, a.Owner, a.Tier, a.ARR, 100 * a.Share, 100 * a.CumulativeShare})
	}
	return writeRecords(g.stdout, tableOr(c.Format), []string{"rank", "account_id", "owner", "tier", "arr", "share_%", "cumulative_%"},
		records, r, r.Currency)
}

// CoverageWorkloadCmd prints the workload per CSM.
type CoverageWorkloadCmd struct {
	At string `help:"The moment (default now)." placeholder:"DATE"`
	formatFlag
}

// Run prints one row per CSM.
func (c CoverageWorkloadCmd) Run(ctx context.Context, g *Globals) error {
	at, err := instantOrNow(c.At, "--at")
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	ws, err := coverage.Workloads(ctx, db, at)
	if err != nil {
		return err
	}
	return writeList(g.stdout, c.Format, []string{"email", "role", "accounts", "arr", "open_tasks", "red_accounts"}, ws,
		func(w coverage.Workload) []any {
			return []any{w.Email, w.Role, w.Accounts, w.ARR, w.OpenTasks, w.RedAccounts}
		})
}

// CoverageSetCmd sets a touch-tier setting.
type CoverageSetCmd struct {
	Key   string `arg:"" help:"touch_tier.basis, touch_tier.high or touch_tier.low."`
	Value string `arg:"" help:"arr or ltv; or a threshold in the reporting currency."`
}

// Run validates and stores the setting with an audit entry.
func (c CoverageSetCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := coverage.SetSetting(ctx, tx, c.Key, c.Value)
		if err != nil {
			return err
		}
		if _, err := coverage.LoadSettings(ctx, tx); err != nil {
			return err // low above high, say: refuse rather than store a broken pair
		}
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionUpdate, "setting", c.Key, settingValue(before), settingValue(c.Value))
	})
	if err != nil {
		return userCoverageError(err)
	}
	fmt.Fprintf(g.stdout, "%s = %s\n", c.Key, c.Value)
	return nil
}

// CoverageOwnerCmd assigns one account by hand.
type CoverageOwnerCmd struct {
	Account string `arg:"" help:"The account's id."`
	Email   string `arg:"" help:"The new owner: a user with role csm or manager."`
}

// Run sets the owner with an audit entry.
func (c CoverageOwnerCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var ch coverage.OwnerChange
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		ch, err = coverage.SetOwner(ctx, tx, c.Account, c.Email, audit.CLIActor())
		return err
	})
	if err != nil {
		return userCoverageError(err)
	}
	fmt.Fprintf(g.stdout, "%s: %s → %s\n", ch.AccountID, orDash(ch.From), ch.To)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// AssignCmd shares accounts out among CSMs.
type AssignCmd struct {
	Strategy string   `required:"" enum:"fewest_accounts,least_arr,round_robin" help:"fewest_accounts, least_arr or round_robin."`
	Segment  string   `help:"Only this segment's members (default: the unassigned customers)." placeholder:"ID"`
	Reassign bool     `help:"With --segment: share out all its members again, not only the unassigned ones."`
	CSM      []string `name:"csm" sep:"," help:"The candidate owners, comma-separated (default: every user with role csm)." placeholder:"EMAIL,..."`
	DryRun   bool     `help:"Print the plan without writing it."`
	formatFlag
}

// Run computes the plan and, unless --dry-run, writes it with audit entries.
func (c AssignCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	o := coverage.AssignOptions{Strategy: c.Strategy, SegmentID: c.Segment, Reassign: c.Reassign, CSMs: c.CSM,
		DryRun: c.DryRun, At: time.Now(), Actor: audit.CLIActor()}
	var p coverage.Plan
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = coverage.Assign(ctx, tx, o)
		return err
	})
	if err != nil {
		return userCoverageError(err)
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, p)
	}
	verb := "assigned"
	if p.DryRun {
		verb = "would assign"
	}
	fmt.Fprintf(g.stdout, "%s %d accounts by %s\n", verb, len(p.Assignments), p.Strategy)
	for _, a := range p.Assignments {
		fmt.Fprintf(g.stdout, "  %s: %s → %s\n", a.AccountID, orDash(a.From), a.To)
	}
	var lines []string
	for _, l := range p.Loads {
		lines = append(lines, fmt.Sprintf("  %s: %d accounts (+%d), ARR %.2f", l.Email, l.Accounts, l.Assigned, l.ARR))
	}
	fmt.Fprintln(g.stdout, "loads after:\n"+strings.Join(lines, "\n"))
	return nil
}

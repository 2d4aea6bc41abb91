package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

// SnapshotCmd prints an account's snapshot.
type SnapshotCmd struct {
	Account string `arg:"" help:"The account's id."`
	At      string `help:"The moment: a date or an RFC 3339 time (default now)." placeholder:"DATE"`
}

// Run prints the snapshot as JSON.
func (c SnapshotCmd) Run(ctx context.Context, g *Globals) error {
	at, err := instantOrNow(c.At, "--at")
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := snapshot.Get(ctx, db, c.Account, at)
	if err != nil {
		return err
	}
	return writeJSON(g.stdout, s)
}

func instantOrNow(s, flag string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC().Truncate(time.Second), nil
	}
	t, err := metrics.ParseInstant(s)
	if err != nil {
		return t, UsageError{fmt.Errorf("%s: %w", flag, err)}
	}
	return t, nil
}

// RuleCmd groups the rule commands.
type RuleCmd struct {
	Check RuleCheckCmd `cmd:"" help:"Check a rule against the account snapshot and count the accounts it matches."`
}

// RuleCheckCmd checks one rule.
type RuleCheckCmd struct {
	Rule   string `arg:"" help:"The rule, e.g. 'active_users_30d < 3 && days_to_renewal <= 90'."`
	Number bool   `help:"The rule is a number (a health measure), not a condition."`
	At     string `help:"Evaluate at this moment instead of now." placeholder:"DATE"`
}

// Run compiles the rule; a condition is also evaluated on every account.
func (c RuleCheckCmd) Run(ctx context.Context, g *Globals) error {
	kind := rule.Bool
	if c.Number {
		kind = rule.Number
	}
	r, err := rule.Compile(c.Rule, kind)
	var re *rule.Error
	if errors.As(err, &re) {
		if re.Snippet != "" {
			fmt.Fprintln(g.stderr, re.Snippet)
		}
		return UserError{fmt.Errorf("rule: %w", re)}
	}
	if err != nil {
		return err
	}
	at, err := instantOrNow(c.At, "--at")
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	all, err := snapshot.All(ctx, db, at)
	if err != nil {
		return err
	}
	if kind == rule.Number {
		var sum float64
		for i := range all {
			v, err := r.Value(&all[i])
			if err != nil {
				return err
			}
			sum += v
		}
		mean := 0.0
		if len(all) > 0 {
			mean = sum / float64(len(all))
		}
		fmt.Fprintf(g.stdout, "valid; mean over %d accounts: %g\n", len(all), mean)
		return nil
	}
	var matches []string
	for i := range all {
		ok, err := r.Match(&all[i])
		if err != nil {
			return err
		}
		if ok {
			matches = append(matches, all[i].AccountID)
		}
	}
	fmt.Fprintf(g.stdout, "valid; %d of %d accounts match\n", len(matches), len(all))
	for i, id := range matches {
		if i == 10 {
			fmt.Fprintf(g.stdout, "  … and %d more\n", len(matches)-10)
			break
		}
		fmt.Fprintln(g.stdout, " ", id)
	}
	return nil
}

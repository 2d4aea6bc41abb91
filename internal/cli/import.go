package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/csvimport"
)

// ImportCmd imports a CSV file.
type ImportCmd struct {
	Kind           string   `arg:"" enum:"accounts,contacts,subscriptions,events,tickets,responses,orders,costs,feedback" help:"What the file holds: accounts, contacts, subscriptions, events, tickets, responses, orders, costs or feedback."`
	File           string   `arg:"" help:"CSV file (UTF-8, header row), or - for standard input."`
	Map            []string `help:"Rename source columns: src=dst,... (an empty dst drops the column)." placeholder:"SRC=DST"`
	SkipInvalid    bool     `help:"Write the good rows and report the bad ones (default: all or nothing)."`
	CreateAccounts bool     `help:"Create accounts that rows refer to but that do not exist yet."`
	Format         string   `default:"text" enum:"text,json" help:"Output: text or json."`
}

// Run imports the file.
func (c ImportCmd) Run(ctx context.Context, g *Globals) error {
	mapping := map[string]string{}
	for _, m := range c.Map {
		for _, pair := range strings.Split(m, ",") {
			src, dst, ok := strings.Cut(pair, "=")
			if !ok || strings.TrimSpace(src) == "" {
				return UsageError{fmt.Errorf("--map %q: want SRC=DST", pair)}
			}
			mapping[strings.TrimSpace(src)] = strings.TrimSpace(dst)
		}
	}
	var in io.Reader = os.Stdin
	var size int64 = -1
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		in = f
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()

	opts := csvimport.Options{SkipInvalid: c.SkipInvalid, CreateAccounts: c.CreateAccounts, Map: mapping, MaxErrors: 100000}
	var bar *progressbar.ProgressBar
	if f, ok := g.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && c.Format == "text" {
		bar = progressbar.DefaultBytes(size, "importing "+c.Kind)
		var last int64
		opts.Progress = func(n int64) { bar.Add64(n - last); last = n }
	}
	res, err := csvimport.Import(ctx, db, c.Kind, c.File, in, opts)
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(g.stderr)
	}
	if res == nil {
		return err
	}
	if e := audit.RecordImport(ctx, db, audit.CLIActor(), res); e != nil {
		return e
	}
	if res.Changed() {
		if e := queueRecomputeAll(ctx, db); e != nil {
			return e
		}
	}
	if c.Format == "json" {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if e := enc.Encode(res); e != nil {
			return e
		}
	} else {
		for _, e := range res.Errors {
			fmt.Fprintln(g.stderr, e.String())
		}
		if n := res.ErrorCount - int64(len(res.Errors)); n > 0 {
			fmt.Fprintf(g.stderr, "… and %d more errors\n", n)
		}
		if res.Committed {
			fmt.Fprintln(g.stdout, res.Summary())
		}
	}
	if errors.Is(err, csvimport.ErrInvalid) {
		if res.Committed {
			return fmt.Errorf("%s: %d invalid rows skipped, the other %d written", c.File, res.Invalid, res.Rows-res.Invalid)
		}
		return fmt.Errorf("%s: %d of %d rows invalid; nothing was written", c.File, res.Invalid, res.Rows)
	}
	return err
}

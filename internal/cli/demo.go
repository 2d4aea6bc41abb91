package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/web"
)

// defaultDemoDB is the database `kizuna demo` uses when neither --db nor
// KIZUNA_DB names one, so that trying the demo never fills kizuna.db.
const defaultDemoDB = "kizuna-demo.db"

// DemoCmd creates (or reopens) a demo database and serves it.
type DemoCmd struct {
	Addr    string  `default:":8080" env:"KIZUNA_ADDR" help:"Address to serve on."`
	Scale   float64 `default:"1" env:"KIZUNA_DEMO_SCALE" help:"Size of the demo business: 1 is about 5,000 customers; 0.1 a tenth of that."`
	Seed    uint64  `default:"1" env:"KIZUNA_DEMO_SEED" help:"Random seed: the same seed, scale and day give the same data."`
	NoServe bool    `name:"no-serve" env:"KIZUNA_DEMO_NO_SERVE" help:"Create (or check) the demo database, then exit instead of serving it."`
}

// Run creates the demo database unless it exists, then serves it.
func (c DemoCmd) Run(ctx context.Context, kctx *kong.Context, g *Globals) error {
	if !(c.Scale > 0) || math.IsInf(c.Scale, 0) {
		return UsageError{fmt.Errorf("--scale must be a number greater than 0, not %v", c.Scale)}
	}
	dsn := g.DB
	if !flagGiven(kctx, "db") {
		if _, ok := os.LookupEnv("KIZUNA_DB"); !ok {
			dsn = defaultDemoDB
		}
	}
	db, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()

	m, ok, err := demo.ReadMarker(ctx, db)
	switch {
	case err != nil:
		return err
	case ok && !m.Complete:
		return UserError{fmt.Errorf("%s holds an unfinished demo generation; delete it (or use another --db) and run kizuna demo again", db.Location)}
	case ok:
		fmt.Fprintf(g.stdout, "Reopened demo database %s (seed %d, scale %g, data as of %s).\n", db.Location, m.Seed, m.Scale, m.Now)
		if m.Seed != c.Seed || m.Scale != c.Scale {
			fmt.Fprintf(g.stdout, "--seed and --scale only apply to a new demo database; delete %s to generate another.\n", db.Location)
		}
	default:
		if err := c.generate(ctx, db, g); err != nil {
			return err
		}
	}

	url := displayURL(c.Addr)
	if c.NoServe {
		serve := "kizuna demo"
		if dsn != defaultDemoDB {
			serve += " --db " + shellQuote(db.Location)
		}
		fmt.Fprintf(g.stdout, "Serve it with `%s`; the API will answer at %s/api/v1 (sign in as %s, password %s).\n",
			serve, url, demo.LoginEmail, demo.LoginPassword)
		return nil
	}
	fmt.Fprintf(g.stdout, "Open %s/ in a browser and sign in as %s, password %s.\n", url, demo.LoginEmail, demo.LoginPassword)
	fmt.Fprintf(g.stdout, "The same login works for the API:\n")
	fmt.Fprintf(g.stdout, "  curl -u %s:%s '%s/api/v1/accounts?limit=5'\n", demo.LoginEmail, demo.LoginPassword, url)
	// The demo's data ends on the day it was generated for: show the year
	// to the last month that has ended by then.
	end := time.Now().UTC()
	if m, ok, _ := demo.ReadMarker(ctx, db); ok {
		if t, err := time.Parse(time.DateOnly, m.Now); err == nil {
			end = t
		}
	}
	fmt.Fprintf(g.stdout, "  curl -u %s:%s '%s/api/v1/metrics/monthly?from=%s&to=%s'\n", demo.LoginEmail, demo.LoginPassword, url,
		end.AddDate(0, -12, 0).Format("2006-01"), end.AddDate(0, -1, 0).Format("2006-01"))
	fmt.Fprintf(g.stdout, "  OpenAPI document: %s/api/v1/openapi.json\n", url)
	return serveWithJobs(ctx, db, g.stderr, JobOptions{RecomputeEvery: time.Hour, DeliverAttempts: 8}, func(ctx context.Context) error { return web.Run(ctx, db, c.Addr, g.stdout) })
}

// generate fills db with demo data and writes the truth file beside it.
func (c DemoCmd) generate(ctx context.Context, db *store.DB, g *Globals) error {
	if n, err := accountCount(ctx, db); err != nil {
		return err
	} else if n > 0 {
		return UserError{fmt.Errorf("%s already holds %d accounts that are not demo data; kizuna demo only fills a new database: give another --db", db.Location, n)}
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	fmt.Fprintf(g.stdout, "Generating a demo business into %s (seed %d, scale %g, data as of %s)…\n",
		db.Location, c.Seed, c.Scale, today.Format(time.DateOnly))
	p := newProgress(g.stderr)
	start := time.Now()
	truth, err := demo.Generate(ctx, db, demo.Config{Seed: c.Seed, Scale: c.Scale, Now: today, Progress: p.update})
	p.finish()
	if err != nil {
		return err
	}
	elapsed := time.Since(start)

	path := "kizuna-demo.truth.json"
	if db.Dialect == store.SQLite {
		path = db.Location + ".truth.json"
	}
	b, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the demo truth file: %w", err)
	}
	n := truth.Counts
	fmt.Fprintf(g.stdout, "Generated in %.1fs: %d accounts (%d customers, %d trial prospects), %d subscription periods, "+
		"%d raw events, %d rollup rows, %d tickets, %d survey responses.\n",
		elapsed.Seconds(), n.Accounts, n.Customers, n.Prospects, n.Periods, n.Events, n.RollupRows, n.Tickets, n.Responses)
	fmt.Fprintf(g.stdout, "Planted effects and their measured sizes: %s\n", path)
	return nil
}

func accountCount(ctx context.Context, db *store.DB) (int64, error) {
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count accounts in %s: %w", db.Location, err)
	}
	return n, nil
}

// flagGiven reports whether the command line named the flag (a default or
// environment value does not count).
func flagGiven(kctx *kong.Context, name string) bool {
	if kctx == nil {
		return false
	}
	for _, p := range kctx.Path {
		if p.Flag != nil && p.Flag.Name == name {
			return true
		}
	}
	return false
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain characters.
func shellQuote(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./:@%+=,-", r)) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}

// displayURL is the URL to open for a listen address such as ":8080".
func displayURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// progress shows the generator's stages: a bar on a terminal, one line a
// stage otherwise (logs, CI).
type progress struct {
	w       io.Writer
	tty     bool
	stage   string
	started time.Time
	bar     *progressbar.ProgressBar
}

var stageLabels = map[string]string{
	demo.StageAccounts: "simulating accounts",
	demo.StageRecords:  "writing records",
	demo.StageUsage:    "writing usage",
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, tty: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) update(stage string, done, total int) {
	if stage != p.stage {
		p.finish()
		p.stage, p.started = stage, time.Now()
		if p.tty {
			p.bar = progressbar.NewOptions(total,
				progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription(fmt.Sprintf("%-20s", stageLabels[stage])),
				progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
			)
		}
	}
	if p.bar != nil {
		p.bar.Set(done)
	}
}

// finish closes the current stage's bar or prints its line.
func (p *progress) finish() {
	if p.stage == "" {
		return
	}
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
		p.bar = nil
	} else {
		fmt.Fprintf(p.w, "  %s: %.1fs\n", stageLabels[p.stage], time.Since(p.started).Seconds())
	}
	p.stage = ""
}

package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// run calls Main as the kizuna binary would be called.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// importCSV imports each file (its kind and content, as kizuna import KIND
// FILE would) into a fresh SQLite database in a temporary directory, and
// returns the directory and the database's path.
func importCSV(t *testing.T, files ...[2]string) (dir, db string) {
	t.Helper()
	dir = t.TempDir()
	db = filepath.Join(dir, "k.db")
	for _, f := range files {
		path := writeFile(t, dir, f[0]+".csv", f[1])
		if code, _, stderr := run(t, "import", f[0], path, "--db", db); code != 0 {
			t.Fatalf("import %s: %s", f[0], stderr)
		}
	}
	return dir, db
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportExitCodesAndMessages(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	accounts := writeFile(t, dir, "accounts.csv", "account_id,name\nA1,Acme\nA2,Beta\n")
	subs := writeFile(t, dir, "subs.csv", "subscription_id,account_id,start_date,mrr,currency\nS1,A1,2024-01-01,10,USD\nS2,NOPE,2024-01-01,10,USD\nS3,A2,2024-01-01,5.5,JPY\n")
	renamed := writeFile(t, dir, "renamed.csv", "Customer,Company,Secret\nA3,Gamma,x\n")

	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string // substrings
		stderr     []string
		notStderrs []string
	}{
		{"good file", []string{"import", "accounts", accounts, "--db", db}, 0,
			[]string{accounts + ": imported 2 rows (2 new, 0 updated, 0 unchanged, 0 invalid)"}, nil, nil},
		{"same file again", []string{"import", "accounts", accounts, "--db", db}, 0,
			[]string{"(0 new, 0 updated, 2 unchanged, 0 invalid)"}, nil, nil},
		{"bad rows: all reported, nothing written", []string{"import", "subscriptions", subs, "--db", db}, 1, nil,
			[]string{subs + `:3: account_id: unknown account "NOPE"`, subs + `:4: mrr: "5.5" has more than 0 decimals for JPY`,
				"kizuna: " + subs + ": 2 of 3 rows invalid; nothing was written"}, nil},
		{"skip invalid", []string{"import", "subscriptions", subs, "--db", db, "--skip-invalid"}, 1,
			[]string{"(1 new, 0 updated, 0 unchanged, 2 invalid)"},
			[]string{"kizuna: " + subs + ": 2 invalid rows skipped, the other 1 written"}, nil},
		{"map renames and drops columns", []string{"import", "accounts", renamed, "--db", db, "--map", "Customer=account_id,Company=name,Secret="}, 0,
			[]string{"(1 new,"}, nil, nil},
		{"unknown kind is a usage error", []string{"import", "widgets", accounts, "--db", db}, 2, nil,
			[]string{`must be one of`}, nil},
		{"bad --map is a usage error", []string{"import", "accounts", accounts, "--db", db, "--map", "nonsense"}, 2, nil,
			[]string{`--map "nonsense": want SRC=DST`}, nil},
		{"missing file is a user error", []string{"import", "accounts", filepath.Join(dir, "nope.csv"), "--db", db}, 1, nil,
			[]string{"no such file"}, nil},
		{"missing argument is a usage error", []string{"import", "accounts", "--db", db}, 2, nil, []string{"expected"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errs, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errs)
				}
			}
		})
	}
	// The last line of a failing command is one line naming what was wrong.
	_, _, errs := run(t, "import", "subscriptions", subs, "--db", filepath.Join(dir, "other.db"))
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "kizuna: ") {
		t.Errorf("last stderr line = %q", last)
	}
}

func TestImportJSON(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "a.csv", "account_id,signup_at\nA1,2024-02-30\n")
	code, out, _ := run(t, "import", "accounts", f, "--db", filepath.Join(dir, "k.db"), "--format", "json")
	if code != 1 || !strings.Contains(out, `"line": 2`) || !strings.Contains(out, `"column": "signup_at"`) || !strings.Contains(out, `"committed": false`) {
		t.Errorf("exit %d, json:\n%s", code, out)
	}
}

func TestMigrateAndUsers(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	if code, out, errs := run(t, "migrate", "--db", db); code != 0 || !strings.Contains(out, "schema at version") {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	t.Setenv("KIZUNA_PASSWORD", "correct horse battery")
	if code, out, errs := run(t, "user", "create", "Ann@Example.com", "--role", "manager", "--db", db); code != 0 || !strings.Contains(out, "created user ann@example.com (manager)") {
		t.Fatalf("user create: %d %s %s", code, out, errs)
	}
	if code, _, errs := run(t, "user", "create", "ann@example.com", "--db", db); code != 1 || !strings.Contains(errs, "a user with this email exists") {
		t.Errorf("duplicate user: %d %s", code, errs)
	}
	if code, _, errs := run(t, "user", "create", "bob@example.com", "--role", "owner", "--db", db); code != 2 || !strings.Contains(errs, "--role") {
		t.Errorf("bad role: %d %s", code, errs)
	}
	t.Setenv("KIZUNA_PASSWORD", "short")
	if code, _, errs := run(t, "user", "create", "bob@example.com", "--db", db); code != 1 || !strings.Contains(errs, "at least 10 characters") {
		t.Errorf("short password: %d %s", code, errs)
	}
	if code, out, _ := run(t, "user", "list", "--db", db); code != 0 || !strings.Contains(out, "ann@example.com\tmanager") {
		t.Errorf("user list: %d %s", code, out)
	}
	// KIZUNA_DB is the environment spelling of --db.
	t.Setenv("KIZUNA_DB", db)
	if code, out, _ := run(t, "user", "list"); code != 0 || !strings.Contains(out, "ann@example.com") {
		t.Errorf("KIZUNA_DB: %d %s", code, out)
	}
}

func TestHelpAndVersion(t *testing.T) {
	if code, out, _ := run(t, "--help"); code != 0 || !strings.Contains(out, "import") {
		t.Errorf("--help: %d %s", code, out)
	}
	if code, out, _ := run(t, "version"); code != 0 || !strings.HasPrefix(out, "kizuna ") {
		t.Errorf("version: %d %s", code, out)
	}
	if code, _, _ := run(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

// TestCLIChangesAreAudited checks that the CLI leaves an audit entry for a
// committed import (one per file, with the counts) and for a new user.
func TestCLIChangesAreAudited(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "k.db")
	f := writeFile(t, dir, "a.csv", "account_id\nA1\nA2\n")
	bad := writeFile(t, dir, "bad.csv", "account_id,signup_at\nA3,nope\n")
	if code, _, errs := run(t, "import", "accounts", f, "--db", dbPath); code != 0 {
		t.Fatal(errs)
	}
	run(t, "import", "accounts", bad, "--db", dbPath) // rejected: no entry
	t.Setenv("KIZUNA_PASSWORD", "correct horse battery")
	if code, _, errs := run(t, "user", "create", "ann@example.com", "--db", dbPath); code != 0 {
		t.Fatal(errs)
	}
	db, err := store.Open(context.Background(), dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, err := audit.List(context.Background(), db, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Actor, "cli:") {
			t.Errorf("actor = %q, want cli:…", e.Actor)
		}
		got = append(got, e.Action+" "+e.ObjectType)
		if e.Action == "import" && !strings.Contains(string(e.After), `"inserted":2`) {
			t.Errorf("import entry after = %s", e.After)
		}
	}
	want := map[string]bool{"import import": true, "create user": true}
	if len(got) != 2 || !want[got[0]] || !want[got[1]] {
		t.Errorf("audit entries = %v, want one import and one user creation", got)
	}
}

// A command applies the rollup journal a killed server left: reports read
// the rollups, and no server may run to apply it.
func TestOpenAppliesRollupJournal(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := usage.NewSession(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	sess.DeferRollups() // as the ingestion writer does
	p, err := sess.IngestUncommitted(ctx, []usage.Event{
		{MessageID: "m1", AccountID: "A1", UserID: "u1", Event: "login", Timestamp: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{MessageID: "m2", AccountID: "A1", UserID: "u2", Event: "login", Timestamp: time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	sess.Close()
	db.Close()

	if code, _, stderr := run(t, "settings", "list", "--db", path); code != 0 {
		t.Fatalf("settings list: %s", stderr)
	}
	db, err = store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := usage.ActiveUsers(ctx, db, "A1", 0, 100000); err != nil || n != 2 {
		t.Fatalf("active users %d, %v; want 2", n, err)
	}
	var rows int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_rollup_journal`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d journal rows left, %v", rows, err)
	}
}

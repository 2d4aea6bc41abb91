package cli

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// A CSV import that writes something, and a new onboarding definition,
// queue a recompute_all for the server's workers; an import that changes
// nothing or is refused queues none, and while one waits the next is the
// same job.
func TestChangesQueueRecomputeAll(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	accounts := writeFile(t, dir, "accounts.csv", "account_id,name\nA1,Acme\nA2,Beta\n")
	bad := writeFile(t, dir, "bad.csv", "account_id,signup_at\nA3,not a date\n")
	more := writeFile(t, dir, "more.csv", "account_id,name\nA3,Gamma\n")
	waiting := func() int {
		t.Helper()
		d, err := store.Open(context.Background(), db, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := jobs.Migrate(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		l, err := jobs.List(context.Background(), d, jobs.ListOptions{Kinds: []string{jobs.KindRecomputeAll}, States: []string{"available"}})
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	for _, step := range []struct {
		name string
		args []string
		code int
		jobs int
	}{
		{"a refused import", []string{"import", "accounts", bad, "--db", db}, 1, 0},
		{"an import", []string{"import", "accounts", accounts, "--db", db}, 0, 1},
		{"the same rows again", []string{"import", "accounts", accounts, "--db", db}, 0, 1},
		{"another import while it waits", []string{"import", "accounts", more, "--db", db}, 0, 1},
	} {
		if code, _, stderr := run(t, step.args...); code != step.code {
			t.Fatalf("%s: exit %d, want %d: %s", step.name, code, step.code, stderr)
		}
		if n := waiting(); n != step.jobs {
			t.Errorf("%s: %d recompute_all jobs waiting, want %d", step.name, n, step.jobs)
		}
	}

	db2 := filepath.Join(dir, "k2.db")
	if code, _, stderr := run(t, "migrate", "--db", db2); code != 0 {
		t.Fatalf("migrate: %s", stderr)
	}
	db = db2
	if n := waiting(); n != 0 {
		t.Fatalf("%d recompute_all jobs in a new database", n)
	}
	if code, _, stderr := run(t, "onboarding", "definition", "--rule", "setup_done", "--window-days", "14", "--db", db); code != 0 {
		t.Fatalf("onboarding definition: %s", stderr)
	}
	if n := waiting(); n != 1 {
		t.Errorf("%d recompute_all jobs after a new onboarding definition, want 1", n)
	}
}

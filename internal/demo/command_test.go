package demo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/cli"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// kizuna runs the command line as the binary would.
func kizuna(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestDemoCommand covers `kizuna demo`: the default database, reopening
// without generating again, and the refusals.
func TestDemoCommand(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("KIZUNA_DB", "")
	os.Unsetenv("KIZUNA_DB")

	code, out, errs := kizuna(t, "demo", "--no-serve", "--scale", "0.02", "--addr", "127.0.0.1:9999")
	if code != 0 {
		t.Fatalf("kizuna demo: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"Generated in", "demo@example.com", "kizuna-demo", "http://127.0.0.1:9999", "kizuna-demo.db.truth.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "writing usage") {
		t.Errorf("no progress on stderr:\n%s", errs)
	}
	path := filepath.Join(dir, "kizuna-demo.db")
	truth, err := os.ReadFile(path + ".truth.json")
	if err != nil || !bytes.Contains(truth, []byte(`"reports_seminar"`)) {
		t.Fatalf("truth file: %v\n%s", err, truth)
	}

	// Reopening neither generates again nor rewrites the truth file.
	if err := os.WriteFile(path+".truth.json", []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = kizuna(t, "demo", "--no-serve", "--scale", "0.5")
	if code != 0 || !strings.Contains(out, "Reopened demo database") || !strings.Contains(out, "only apply to a new demo database") {
		t.Fatalf("reopen: exit %d\n%s%s", code, out, errs)
	}
	if b, _ := os.ReadFile(path + ".truth.json"); string(b) != "kept" {
		t.Error("reopening rewrote the truth file")
	}
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := account.Count(context.Background(), db)
	db.Close()
	if err != nil || n != 106 {
		t.Fatalf("accounts after reopening = %d, %v; want 106 (100 customers, 6 prospects)", n, err)
	}

	// A database of real accounts is refused, and left alone.
	other := filepath.Join(dir, "real.db")
	db, err = store.Open(context.Background(), other, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := account.Upsert(context.Background(), db, account.Account{ID: "A1", Name: "Real customer"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, _, errs = kizuna(t, "demo", "--no-serve", "--db", other)
	if code != 1 || !strings.Contains(errs, "not demo data") {
		t.Fatalf("demo into a real database: exit %d, %s", code, errs)
	}

	for _, scale := range []string{"0", "-1"} {
		code, _, errs = kizuna(t, "demo", "--no-serve", "--db", filepath.Join(dir, "x.db"), "--scale="+scale)
		if code != 2 || !strings.Contains(errs, "--scale must be") {
			t.Errorf("--scale %s: exit %d, %s", scale, code, errs)
		}
	}
}

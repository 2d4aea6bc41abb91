package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/store"
)

func TestSettingsAndFX(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	subs := writeFile(t, dir, "subs.csv", "subscription_id,account_id,start_date,mrr,currency\nS1,A1,2024-01-01,10000,JPY\n")
	if code, _, stderr := run(t, "import", "subscriptions", subs, "--create-accounts", "--db", db); code != 0 {
		t.Fatal(stderr)
	}
	// Without a rate the table names what is missing and how to set it.
	code, _, stderr := run(t, "metrics", "monthly", "--from", "2024-01", "--to", "2024-01", "--db", db)
	if code != 1 || !strings.Contains(stderr, "no exchange rate from JPY to USD") || !strings.Contains(stderr, "kizuna fx set JPY DAY RATE") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	for _, c := range []struct {
		args   []string
		code   int
		output string
	}{
		{[]string{"fx", "set", "JPY", "2023-01-01", "0.007"}, 0, "1 JPY = 0.007 from 2023-01-01"},
		{[]string{"fx", "set", "JPY", "2023-13-01", "0.007"}, 2, `day "2023-13-01": want YYYY-MM-DD`},
		{[]string{"fx", "set", "JPY", "2023-01-01", "cheap"}, 2, `rate "cheap" is not a number`},
		{[]string{"fx", "set", "JPY", "2023-01-01", "0"}, 1, "must be positive"},
		{[]string{"fx", "set", "QQQ", "2023-01-01", "1"}, 1, `unknown currency "QQQ"`},
		{[]string{"fx", "list"}, 0, "JPY       2023-01-01  0.007"},
		{[]string{"settings", "set", "gross_margin", "0.5"}, 0, "gross_margin = 0.5"},
		{[]string{"settings", "set", "gross_margin.plan.pro", "2"}, 1, `"2" is not a fraction between 0 and 1`},
		{[]string{"settings", "set", "colour", "red"}, 2, `unknown setting "colour"`},
		{[]string{"settings", "set", "onboarding_days", "45"}, 0, "onboarding_days = 45"},
		{[]string{"settings", "set", "onboarding_days", "soon"}, 1, `onboarding_days = "soon": want a whole number of days`},
		{[]string{"settings", "set", "key_features", " reports, ,dashboards "}, 0, "key_features =  reports, ,dashboards"},
		{[]string{"settings", "set", "touch_tier.high", "50000"}, 0, "touch_tier.high = 50000"},
		{[]string{"settings", "set", "touch_tier.basis", "mrr"}, 1, `want arr or ltv`},
		{[]string{"settings", "set", "playbook_fallback_assignee", "nobody@example.com"}, 1, `playbook_fallback_assignee = "nobody@example.com"`},
		{[]string{"settings", "unset", "reporting_currency"}, 2, "cannot be unset"},
		{[]string{"settings", "list"}, 0, "key_features        reports,dashboards"},
		{[]string{"settings", "list"}, 0, "gross_margin        0.5"},
		{[]string{"metrics", "monthly", "--from", "2024-01", "--to", "2024-01", "--format", "csv"}, 0, "\n2024-01,70,1,70,"},
		{[]string{"settings", "unset", "gross_margin"}, 0, ""},
		{[]string{"settings", "unset", "colour"}, 2, `unknown setting "colour"`},
	} {
		code, stdout, stderr := run(t, append(c.args, "--db", db)...)
		if code != c.code || !strings.Contains(stdout+stderr, c.output) {
			t.Errorf("%v: exit %d, %q %q; want %d and %q", c.args, code, stdout, stderr, c.code, c.output)
		}
	}
	sdb, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	entries, err := audit.List(context.Background(), sdb, audit.Filter{ObjectType: "setting", Oldest: true})
	if err != nil || len(entries) != 5 || entries[0].ObjectID != "gross_margin" || string(entries[0].After) != `{"value":"0.5"}` ||
		entries[4].Action != audit.ActionDelete || string(entries[4].Before) != `{"value":"0.5"}` {
		t.Errorf("audit: %v %+v", err, entries)
	}
	if fx, _ := audit.List(context.Background(), sdb, audit.Filter{ObjectType: "fx_rate"}); len(fx) != 1 || fx[0].ObjectID != "JPY/2023-01-01" {
		t.Errorf("fx audit: %+v", fx)
	}
}

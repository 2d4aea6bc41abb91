package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigration37 rebuilds the recompute's account-keyed tables (health_current too) as WITHOUT
// ROWID on SQLite (PostgreSQL's side is empty): the rows, the keys, the
// secondary indexes and the cascades from accounts all survive.
func TestMigration37(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "k.db"), Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.provider()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 36); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, id := range []string{"b", "a", "c"} {
		exec(`INSERT INTO accounts (account_id, name, recorded_at, updated_at) VALUES ($1, $1, 0, 0)`, id)
	}
	exec(`INSERT INTO segments (segment_id, name, rule, created_at, updated_at) VALUES ('s', 's', 'true', 0, 0)`)
	exec(`INSERT INTO segment_members (segment_id, account_id, since) VALUES ('s', 'c', 3), ('s', 'a', 1)`)
	exec(`INSERT INTO onboarding_results (account_id, version, signup_day, window_days, status, completed_day, checked_day, updated_at)
		VALUES ('c', 1, 10, 30, 'open', NULL, 12, 5), ('a', 1, 11, 30, 'completed', 15, 14, 6)`)
	exec(`INSERT INTO account_stages (account_id, stage_id, entered_at) VALUES ('b', 'adoption', 7), ('a', 'renewal', 8)`)
	exec(`INSERT INTO stage_history (account_id, at, stage_id) VALUES ('b', 7, 'adoption'), ('a', 2, 'onboarding'), ('a', 8, 'renewal')`)
	exec(`INSERT INTO health_current (account_id, model_id, score, band, previous_band, day, computed_score, overridden, contributions, updated_at)
		VALUES ('c', 'default', 42.5, 'yellow', 'green', 20000, 40, 1, '[{"measure":"Tenure"}]', 9), ('a', 'default', 80, 'green', '', 20001, 80, 0, '~', 10)`)
	dump := func() string {
		t.Helper()
		var b strings.Builder
		for _, q := range []string{
			`SELECT segment_id || ' ' || account_id || ' ' || since FROM segment_members ORDER BY 1`,
			`SELECT account_id || ' ' || version || ' ' || signup_day || ' ' || window_days || ' ' || status || ' ' ||
				COALESCE(completed_day, 'null') || ' ' || checked_day || ' ' || updated_at FROM onboarding_results ORDER BY 1`,
			`SELECT account_id || ' ' || stage_id || ' ' || entered_at FROM account_stages ORDER BY 1`,
			`SELECT account_id || ' ' || at || ' ' || stage_id FROM stage_history ORDER BY 1`,
			`SELECT account_id || ' ' || model_id || ' ' || score || ' ' || band || ' ' || previous_band || ' ' || day || ' ' || computed_score || ' ' ||
				overridden || ' ' || contributions || ' ' || updated_at FROM health_current ORDER BY 1`,
		} {
			rows, err := db.QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var s string
				rows.Scan(&s)
				b.WriteString(s + "\n")
			}
			rows.Close()
		}
		return b.String()
	}
	before := dump()
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if after := dump(); after != before {
		t.Errorf("rows changed by the migration:\n%s\nwant\n%s", after, before)
	}
	for _, table := range []string{"onboarding_results", "segment_members", "account_stages", "stage_history", "health_current"} {
		var text string
		if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1`, table).Scan(&text); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(text, "WITHOUT ROWID") {
			t.Errorf("%s: %s", table, text)
		}
	}
	for _, index := range []string{"onboarding_results_signup", "segment_members_account", "account_stages_stage", "health_current_band"} {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = $1`, index).Scan(&n); err != nil || n != 1 {
			t.Errorf("index %s: %d, %v", index, n, err)
		}
	}
	// The keys still hold, and deleting an account still cascades.
	if _, err := db.ExecContext(ctx, `INSERT INTO stage_history (account_id, at, stage_id) VALUES ('a', 8, 'x')`); err == nil {
		t.Error("duplicate stage_history key accepted")
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO account_stages (account_id, stage_id, entered_at) VALUES ('nobody', 'x', 1)`); err == nil {
		t.Error("account_stages row of an unknown account accepted")
	}
	exec(`DELETE FROM accounts WHERE account_id = 'a'`)
	var left int
	if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM segment_members WHERE account_id = 'a') + (SELECT COUNT(*) FROM onboarding_results WHERE account_id = 'a')
		+ (SELECT COUNT(*) FROM account_stages WHERE account_id = 'a') + (SELECT COUNT(*) FROM stage_history WHERE account_id = 'a')
		+ (SELECT COUNT(*) FROM health_current WHERE account_id = 'a')`).Scan(&left); err != nil || left != 0 {
		t.Errorf("rows of a deleted account: %d, %v", left, err)
	}
}

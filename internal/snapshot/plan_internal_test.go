package snapshot

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// TestStoredSegmentsPlan: reading a batch's memberships as of a past
// instant seeks each account's history (segment_history_account) instead
// of scanning a segment's history after the instant for every member, which
// made a first recompute of 100,000 accounts run for more than ten minutes.
// SQLite only: its plan does not depend on statistics, while PostgreSQL's
// on a test's empty tables says nothing of its plan on real ones.
func TestStoredSegmentsPlan(t *testing.T) {
	query := fmt.Sprintf(storedSegmentsQuery, "m.account_id IN ($2, $3)")
	p := sqlitePlan(t, query, int64(1_700_000_000), "acc_1", "acc_2")
	// The table's key starts with segment and time: a seek on it reads the
	// history of every member after the instant.
	if !strings.Contains(p, "segment_history_account") || strings.Contains(p, "segment_history_at") ||
		strings.Contains(p, "sqlite_autoindex_segment_history") {
		t.Fatalf("the history is not read by account:\n%s", p)
	}
}

// TestUsagePlan: the usage of a batch is read as the accounts come,
// without sorting its rows (see usageQuery).
func TestUsagePlan(t *testing.T) {
	query := fmt.Sprintf(usageQuery, "a.account_id BETWEEN $2 AND $3")
	p := sqlitePlan(t, query, int64(20_000), "acc_1", "acc_2")
	if strings.Contains(p, "TEMP B-TREE") || !strings.Contains(p, "SEARCH u USING PRIMARY KEY (account_id=? AND day>? AND day<?)") {
		t.Fatalf("the usage query sorts the batch's rows:\n%s", p)
	}
}

// TestActiveUsersPlan: the active users of a batch are counted account by
// account as the accounts come, without sorting the batch's rows.
func TestActiveUsersPlan(t *testing.T) {
	query := fmt.Sprintf(activeUsersQuery, "a.account_id BETWEEN $9 AND $10")
	w := usage.DayWindow(20_000-29, 20_000)
	p := sqlitePlan(t, query, w[0], w[1], w[2], w[3], w[0], w[1], w[2], w[3], "acc_1", "acc_2")
	if strings.Contains(p, "FOR GROUP BY") || !strings.Contains(p, "SEARCH u USING PRIMARY KEY (account_id=? AND span>? AND span<?)") {
		t.Fatalf("the active users query sorts the batch's rows:\n%s", p)
	}
}

// sqlitePlan returns the lines of SQLite's EXPLAIN QUERY PLAN of query on
// a fresh database.
func sqlitePlan(t *testing.T, query string, args ...any) string {
	t.Helper()
	db := storetest.SQLite(t)
	rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// TestAddUsageMalformed: a list addUsage cannot read is an error, not a
// wrong count.
func TestAddUsageMalformed(t *testing.T) {
	for _, list := range []string{"x", "3:ab+1", "3:abc", "3:abc*1", "3:abc+", "3:abc+1x", "-1:a+1", "2:ab+1,9:abc+1"} {
		s := Snapshot{Usage30d: map[string]float64{}}
		if _, _, err := addUsage(&s, list, "login"); err == nil {
			t.Errorf("addUsage(%q) = nil error, Usage30d %v", list, s.Usage30d)
		}
	}
	s := Snapshot{Usage30d: map[string]float64{}}
	recent, last28, err := addUsage(&s, "5:login+3,5:login-2,1:,+4", "login")
	if err != nil || recent != 9 || last28 != 3 || s.Usage30d["login"] != 5 || s.Usage30d[","] != 4 {
		t.Errorf("addUsage = %v, %v, %v; Usage30d %v", recent, last28, err, s.Usage30d)
	}
}

package usage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// TestMessageIDCollation: on PostgreSQL events.message_id compares
// bytewise (migration 34), the primary key still serves a lookup by id, and
// ids that differ only in case or accents stay distinct events.
func TestMessageIDCollation(t *testing.T) {
	if !storetest.PostgresAvailable() {
		t.Skip("PostgreSQL only; set " + storetest.EnvPostgres)
	}
	ctx := context.Background()
	db := storetest.Postgres(t)
	var coll string
	if err := db.QueryRowContext(ctx, `SELECT collation_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'events' AND column_name = 'message_id'`).Scan(&coll); err != nil {
		t.Fatal(err)
	}
	if coll != "C" {
		t.Fatalf("events.message_id collation = %q, want C", coll)
	}
	ids := []string{"m-é", "m-e", "M-E", "m-e\u0301"} // the last is e and a combining accent
	var events []usage.Event
	for _, id := range ids {
		events = append(events, usage.Event{MessageID: id, AccountID: "acc_1", Event: "login", Timestamp: at("2024-05-01T10:00:00Z")})
	}
	if n, err := usage.Ingest(ctx, db, events); err != nil || n != int64(len(ids)) {
		t.Fatalf("Ingest = %d, %v; want %d new", n, err, len(ids))
	}
	if n, err := usage.Ingest(ctx, db, events); err != nil || n != 0 {
		t.Fatalf("Ingest again = %d, %v; want 0 new", n, err)
	}
	conn, err := db.Conn(ctx) // one session for the SET and the EXPLAIN
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The table is tiny: without this a sequential scan wins on cost.
	if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	var plan []string
	rows, err := conn.QueryContext(ctx, `EXPLAIN SELECT ts FROM events WHERE message_id = $1`, "m-e")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if p := strings.Join(plan, "\n"); !strings.Contains(p, "Index") || !strings.Contains(p, "events_pkey") {
		t.Fatalf("lookup by message_id does not use the primary key:\n%s", p)
	}
}

package usage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// Day numbers by hand: 2024-01-01 is day 19723 (1704067200 / 86400); May 1st
// is 31 + 29 + 31 + 30 = 121 days later.
const (
	may1 = 19844
	may2 = 19845
	may3 = 19846
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

type rollupRow struct {
	Account string
	Day     int64
	Event   string
	Count   int64
}

type userRow struct {
	Account string
	Day     int64
	User    string
}

// snapshot reads both rollup tables in key order.
func snapshot(t *testing.T, db *store.DB) ([]rollupRow, []userRow) {
	t.Helper()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT account_id, day, event, count FROM usage_daily ORDER BY account_id, day, event`)
	if err != nil {
		t.Fatal(err)
	}
	var daily []rollupRow
	for rows.Next() {
		var r rollupRow
		if err := rows.Scan(&r.Account, &r.Day, &r.Event, &r.Count); err != nil {
			t.Fatal(err)
		}
		daily = append(daily, r)
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT account_id, day, user_id FROM usage_daily_users ORDER BY account_id, day, user_id`)
	if err != nil {
		t.Fatal(err)
	}
	var users []userRow
	for rows.Next() {
		var r userRow
		if err := rows.Scan(&r.Account, &r.Day, &r.User); err != nil {
			t.Fatal(err)
		}
		users = append(users, r)
	}
	rows.Close()
	return daily, users
}

func TestDayNumbers(t *testing.T) {
	// The constants above, checked against store.Day.
	for _, c := range []struct {
		ts   string
		want int64
	}{
		{"2024-05-01T00:00:00Z", may1},
		{"2024-05-01T23:59:59Z", may1},
		{"2024-05-02T00:00:00Z", may2},
		{"2024-05-02T08:00:00+09:00", may1}, // 2024-05-01T23:00Z
	} {
		if got := store.Day(at(c.ts).Unix()); got != c.want {
			t.Errorf("Day(%s) = %d, want %d", c.ts, got, c.want)
		}
	}
}

func TestIngest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		batch := []usage.Event{
			{MessageID: "m1", AccountID: "A", UserID: "u1", Event: "login", Timestamp: at("2024-05-01T10:00:00Z")},
			{MessageID: "m2", AccountID: "A", UserID: "u2", Event: "login", Timestamp: at("2024-05-01T23:59:59Z")},
			{MessageID: "m3", AccountID: "A", UserID: "u1", Event: "report", Timestamp: at("2024-05-02T00:00:00Z")},
			// The first again (message id and time), in the same batch: dropped, whatever else it says.
			{MessageID: "m1", AccountID: "A", UserID: "u9", Event: "other", Timestamp: at("2024-05-01T10:00:00Z")},
			// No message id: de-duplicated by all fields.
			{AccountID: "B", UserID: "u3", Event: "login", Timestamp: at("2024-05-01T12:00:00Z"), Properties: json.RawMessage(`{"a":1}`)},
			{AccountID: "B", UserID: "u3", Event: "login", Timestamp: at("2024-05-01T12:00:00Z"), Properties: json.RawMessage(`{"a":1}`)},
			{AccountID: "B", UserID: "u3", Event: "login", Timestamp: at("2024-05-01T12:00:00Z"), Properties: json.RawMessage(`{"a":2}`)},
			// No account yet: stored, not rolled up.
			{AccountID: "", UserID: "u7", Event: "login", Timestamp: at("2024-05-01T12:00:00Z")},
			// Anonymous: counted, but not an active user.
			{MessageID: "m4", AccountID: "A", Event: "login", Timestamp: at("2024-05-01T08:00:00+09:00")}, // 2024-04-30T23:00Z
			{MessageID: "m5", AccountID: "A", Event: "login", Timestamp: at("2024-05-01T09:00:00+09:00")}, // 2024-05-01T00:00Z
		}
		n, err := usage.Ingest(ctx, db, batch)
		if err != nil {
			t.Fatal(err)
		}
		if n != 8 {
			t.Fatalf("Ingest = %d new events, want 8", n)
		}
		if c, err := usage.CountEvents(ctx, db); err != nil || c != 8 {
			t.Fatalf("CountEvents = %d, %v; want 8", c, err)
		}
		wantDaily := []rollupRow{
			{"A", may1 - 1, "login", 1}, // m4
			{"A", may1, "login", 3},     // m1, m2, m5
			{"A", may2, "report", 1},    // m3
			{"B", may1, "login", 2},     // {"a":1} once, {"a":2}
		}
		wantUsers := []userRow{
			{"A", may1, "u1"}, {"A", may1, "u2"},
			{"A", may2, "u1"},
			{"B", may1, "u3"},
		}
		daily, users := snapshot(t, db)
		if !reflect.DeepEqual(daily, wantDaily) {
			t.Fatalf("usage_daily = %v, want %v", daily, wantDaily)
		}
		if !reflect.DeepEqual(users, wantUsers) {
			t.Fatalf("usage_daily_users = %v, want %v", users, wantUsers)
		}
		// The first of a message id wins, and the unattributed event has a NULL account.
		var ev string
		var acct *string
		if err := db.QueryRowContext(ctx, `SELECT event, account_id FROM events WHERE message_id = 'm1'`).Scan(&ev, &acct); err != nil || ev != "login" || acct == nil || *acct != "A" {
			t.Fatalf("m1 = %q, %v, %v", ev, acct, err)
		}
		var nullAcct, emptyAcct int
		if err := db.QueryRowContext(ctx, `SELECT
			SUM(CASE WHEN account_id IS NULL THEN 1 ELSE 0 END), SUM(CASE WHEN account_id = '' THEN 1 ELSE 0 END) FROM events`).Scan(&nullAcct, &emptyAcct); err != nil {
			t.Fatal(err)
		}
		if nullAcct != 1 || emptyAcct != 0 {
			t.Fatalf("events with NULL account = %d, with '' = %d; want 1 and 0", nullAcct, emptyAcct)
		}
		var props string
		if err := db.QueryRowContext(ctx, `SELECT properties FROM events WHERE message_id = 'm2'`).Scan(&props); err != nil || props != "{}" {
			t.Fatalf("properties without any = %q, %v; want {}", props, err)
		}

		// Re-ingesting the same batch changes nothing.
		if n, err := usage.Ingest(ctx, db, batch); err != nil || n != 0 {
			t.Fatalf("re-Ingest = %d, %v; want 0", n, err)
		}
		if c, _ := usage.CountEvents(ctx, db); c != 8 {
			t.Fatalf("CountEvents after re-ingest = %d, want 8", c)
		}
		daily, users = snapshot(t, db)
		if !reflect.DeepEqual(daily, wantDaily) || !reflect.DeepEqual(users, wantUsers) {
			t.Fatalf("rollups changed on re-ingest: %v %v", daily, users)
		}

		// A later batch: a known message id and time with other content is
		// still a duplicate; new ones count.
		n, err = usage.Ingest(ctx, db, []usage.Event{
			{MessageID: "m2", AccountID: "B", UserID: "u2", Event: "login", Timestamp: at("2024-05-01T23:59:59Z")},
			{MessageID: "m6", AccountID: "A", UserID: "u3", Event: "login", Timestamp: at("2024-05-01T15:00:00Z")},
			{MessageID: "m7", AccountID: "A", UserID: "u1", Event: "login", Timestamp: at("2024-05-01T16:00:00Z")},
		})
		if err != nil || n != 2 {
			t.Fatalf("third Ingest = %d, %v; want 2", n, err)
		}
		got, err := usage.Daily(ctx, db, "A", may1, may2)
		if err != nil {
			t.Fatal(err)
		}
		want := []usage.DailyCount{{Day: may1, Event: "login", Count: 5}, {Day: may2, Event: "report", Count: 1}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Daily(A) = %v, want %v", got, want)
		}
		for _, c := range []struct {
			acct     string
			from, to int64
			want     int64
		}{
			{"A", may1, may1, 3}, // u1, u2, u3
			{"A", may2, may2, 1}, // u1
			{"A", may1, may2, 3}, // distinct over both days
			{"A", may3, may3, 0},
			{"A", may1 - 1, may1 - 1, 0}, // only the anonymous m4
			{"B", may1, may3, 1},
			{"nobody", 0, 1 << 30, 0},
		} {
			if got, err := usage.ActiveUsers(ctx, db, c.acct, c.from, c.to); err != nil || got != c.want {
				t.Errorf("ActiveUsers(%s, %d, %d) = %d, %v; want %d", c.acct, c.from, c.to, got, err, c.want)
			}
		}
		// The same message id at another time is another event: the key is
		// the message id and the time (migration 41), which a retry repeats.
		if n, err := usage.Ingest(ctx, db, []usage.Event{
			{MessageID: "m6", AccountID: "A", UserID: "u3", Event: "login", Timestamp: at("2024-05-01T15:00:01Z")},
		}); err != nil || n != 1 {
			t.Fatalf("m6 a second later: Ingest = %d, %v; want 1", n, err)
		}
		if n, err := usage.Ingest(ctx, db, nil); err != nil || n != 0 {
			t.Fatalf("Ingest(nil) = %d, %v", n, err)
		}
	})
}

// TestIngestLarge ingests more events than one SQLite flush, with duplicates
// spread over the batch, and checks the rollup totals.
func TestIngestLarge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		base := at("2024-05-01T00:00:00Z")
		var batch []usage.Event
		const n = 3000
		for i := 0; i < n; i++ {
			batch = append(batch, usage.Event{
				MessageID: fmt.Sprintf("m%d", i%2500), // the last 500 repeat the first 500
				AccountID: fmt.Sprintf("acct%d", i%3),
				UserID:    fmt.Sprintf("u%d", i%10),
				Event:     "tick",
				Timestamp: base.Add(time.Duration(i%2500) * time.Minute), // 2500 minutes ≈ 1.7 days
			})
		}
		got, err := usage.Ingest(ctx, db, batch)
		if err != nil || got != 2500 {
			t.Fatalf("Ingest = %d, %v; want 2500", got, err)
		}
		var total int64
		if err := db.QueryRowContext(ctx, `SELECT SUM(count) FROM usage_daily`).Scan(&total); err != nil || total != 2500 {
			t.Fatalf("sum of rollups = %d, %v; want 2500", total, err)
		}
		// Minutes 0–1439 are May 1st, 1440–2499 May 2nd.
		var day1 int64
		for _, a := range []string{"acct0", "acct1", "acct2"} {
			d, err := usage.Daily(ctx, db, a, may1, may1)
			if err != nil || len(d) != 1 {
				t.Fatalf("Daily(%s) = %v, %v", a, d, err)
			}
			day1 += d[0].Count
		}
		if day1 != 1440 {
			t.Fatalf("events on May 1st = %d, want 1440", day1)
		}
		if got, err := usage.Ingest(ctx, db, batch); err != nil || got != 0 {
			t.Fatalf("re-Ingest = %d, %v; want 0", got, err)
		}
	})
}

func TestAddRollups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := usage.Ingest(ctx, db, []usage.Event{
			{MessageID: "m1", AccountID: "A", UserID: "u1", Event: "login", Timestamp: at("2024-05-01T10:00:00Z")},
		}); err != nil {
			t.Fatal(err)
		}
		counts := []usage.DailyCount{{Day: may1, Event: "login", Count: 5}, {Day: may3, Event: "export", Count: 2}}
		users := map[int64][]string{may1: {"u1", "u2"}, may3: {"u7", "u7", "u8"}}
		if err := usage.AddRollups(ctx, db, "A", counts, users); err != nil {
			t.Fatal(err)
		}
		got, err := usage.Daily(ctx, db, "A", may1, may3)
		if err != nil {
			t.Fatal(err)
		}
		want := []usage.DailyCount{{Day: may1, Event: "login", Count: 6}, {Day: may3, Event: "export", Count: 2}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Daily = %v, want %v", got, want)
		}
		if n, _ := usage.ActiveUsers(ctx, db, "A", may1, may1); n != 2 {
			t.Fatalf("ActiveUsers(May 1st) = %d, want 2", n)
		}
		if n, _ := usage.ActiveUsers(ctx, db, "A", may3, may3); n != 2 {
			t.Fatalf("ActiveUsers(May 3rd) = %d, want 2", n)
		}
		// AddRollups adds: a second call doubles the counts, users stay distinct.
		if err := usage.AddRollups(ctx, db, "A", counts, users); err != nil {
			t.Fatal(err)
		}
		got, _ = usage.Daily(ctx, db, "A", may3, may3)
		if len(got) != 1 || got[0].Count != 4 {
			t.Fatalf("Daily(May 3rd) after a second AddRollups = %v, want count 4", got)
		}
		if n, _ := usage.ActiveUsers(ctx, db, "A", may1, may3); n != 4 {
			t.Fatalf("ActiveUsers(May 1st–3rd) = %d, want 4", n)
		}
		if c, _ := usage.CountEvents(ctx, db); c != 1 {
			t.Fatalf("CountEvents = %d, want 1 (rollups add no raw events)", c)
		}
		// Daily filters by account and day range.
		if got, _ := usage.Daily(ctx, db, "A", may2, may2); len(got) != 0 {
			t.Fatalf("Daily(May 2nd) = %v, want none", got)
		}
		if got, _ := usage.Daily(ctx, db, "B", 0, 1<<30); len(got) != 0 {
			t.Fatalf("Daily(B) = %v, want none", got)
		}
		if names, err := usage.EventNames(ctx, db); err != nil || !slices.Equal(names, []string{"export", "login"}) {
			t.Fatalf("EventNames = %v, %v; want [export login]", names, err)
		}
	})
}

func TestDedupeKey(t *testing.T) {
	k := usage.DedupeKey("", "A", "u1", "login", 1714557600, `{"a":1}`)
	if !strings.HasPrefix(k, "h:") || len(k) != 2+32 || strings.Trim(k[2:], "0123456789abcdef") != "" {
		t.Fatalf("DedupeKey = %q, want h: and 32 hex digits", k)
	}
	if again := usage.DedupeKey("", "A", "u1", "login", 1714557600, `{"a":1}`); again != k {
		t.Fatalf("DedupeKey not stable: %q then %q", k, again)
	}
	// sha256 of "A\x00u1\x00login\x001714557600\x00{"a":1}\x00", first 16 bytes: pinned so stored keys stay valid.
	if k != pinnedKey {
		t.Fatalf("DedupeKey = %q, want the pinned %q", k, pinnedKey)
	}
	if got := usage.DedupeKey("msg-1", "A", "u1", "login", 1714557600, `{"a":1}`); got != "msg-1" {
		t.Fatalf("DedupeKey with a message id = %q", got)
	}
	seen := map[string]string{k: "base"}
	for name, other := range map[string]string{
		"account":    usage.DedupeKey("", "B", "u1", "login", 1714557600, `{"a":1}`),
		"user":       usage.DedupeKey("", "A", "u2", "login", 1714557600, `{"a":1}`),
		"event":      usage.DedupeKey("", "A", "u1", "logout", 1714557600, `{"a":1}`),
		"timestamp":  usage.DedupeKey("", "A", "u1", "login", 1714557601, `{"a":1}`),
		"properties": usage.DedupeKey("", "A", "u1", "login", 1714557600, `{"a":2}`),
		"boundary":   usage.DedupeKey("", "Au", "1", "login", 1714557600, `{"a":1}`),
		"empty":      usage.DedupeKey("", "", "", "", 0, ""),
	} {
		if prev, dup := seen[other]; dup {
			t.Errorf("DedupeKey differing in %s equals the one differing in %s", name, prev)
		}
		seen[other] = name
	}
}

// pinnedKey was computed outside Go: python3 -c 'import hashlib;
// print(hashlib.sha256(b"A\x00u1\x00login\x001714557600\x00{\"a\":1}\x00").hexdigest()[:32])'.
const pinnedKey = "h:ef43feddf27488a0d6a85e1e390e9005"

// TestSession: rounds on one Session (statements and, on PostgreSQL,
// temporary tables kept from round to round) store what the same batches
// store through Ingest, with a rolled-back round in between leaving no
// trace, and the session working again after a failed round.
func TestSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ref := storetest.SQLite(t)
		if db.Dialect == store.Postgres {
			ref = storetest.Postgres(t)
		}
		base := at("2024-05-01T00:00:00Z")
		batch := func(from, to int) []usage.Event {
			var out []usage.Event
			for i := from; i < to; i++ {
				out = append(out, usage.Event{MessageID: fmt.Sprintf("m%05d", i), AccountID: fmt.Sprintf("acct%d", i%40),
					UserID: fmt.Sprintf("u%d", i%9), Event: []string{"login", "report"}[i%2], Timestamp: base.Add(time.Duration(i) * time.Minute)})
			}
			return out
		}
		s, err := usage.NewSession(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		commit := func(evs []usage.Event, want int64) {
			t.Helper()
			p, err := s.IngestUncommitted(ctx, evs)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := p.Commit(); err != nil || n != want {
				t.Fatalf("commit = %d, %v; want %d new", n, err, want)
			}
			if _, err := usage.Ingest(ctx, ref, evs); err != nil {
				t.Fatal(err)
			}
		}
		// Full-size statements and a tail.
		commit(batch(0, 2500), 2500)
		// A rolled-back round repeating part of the first: on PostgreSQL it
		// creates the temporary tables, and the rollback takes them away.
		p, err := s.IngestUncommitted(ctx, batch(2000, 4600))
		if err != nil {
			t.Fatal(err)
		}
		p.Rollback()
		commit(batch(2000, 4600), 2100)
		// A round that fails (a timestamp out of range): the session starts
		// again on a connection from the pool, maybe the same one.
		bad := batch(7000, 7100)
		bad[50].Timestamp = time.Date(9999999, 1, 1, 0, 0, 0, 0, time.UTC)
		if _, err := s.IngestUncommitted(ctx, bad); err == nil {
			t.Fatal("a timestamp out of range was written")
		}
		commit(batch(4000, 7000), 2400)
		commit(batch(6500, 9000), 2000)

		var n int64
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&n); err != nil || n != 9000 {
			t.Fatalf("%d events stored, %v; want 9000", n, err)
		}
		gotDaily, gotUsers := snapshot(t, db)
		wantDaily, wantUsers := snapshot(t, ref)
		if !slices.Equal(gotDaily, wantDaily) || !slices.Equal(gotUsers, wantUsers) {
			t.Fatalf("rollups differ from Ingest's: %d/%d daily rows, %d/%d user days", len(gotDaily), len(wantDaily), len(gotUsers), len(wantUsers))
		}
	})
}

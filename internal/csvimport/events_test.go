package csvimport_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kizuna-cs/kizuna/internal/csvimport"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// eventsCSV writes n events over the given number of accounts (acc-000000 …),
// 20 users each, 8 features and 90 days, as bench/gencsv does. Message ids
// are UUIDs named by the row's number from first (as random as real ones);
// with repeatEvery > 0 every repeatEvery-th row repeats an earlier row of
// the file exactly.
func eventsCSV(n, accounts, first, repeatEvery int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	features := []string{"login", "reports", "dashboards", "integrations", "export", "invite", "setup_completed", "search"}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	var b bytes.Buffer
	b.WriteString("account_id,user_id,event,timestamp,message_id\n")
	var lines []string
	for i := range n {
		if repeatEvery > 0 && i > 0 && i%repeatEvery == 0 {
			l := lines[r.IntN(len(lines))]
			b.WriteString(l)
			continue
		}
		// The time comes with the id (as a retry's does), so files that
		// share ids share those events.
		ts := time.Unix(start+int64(uint64(first+i)*2654435761%(90*86400)), 0).UTC().Format(time.RFC3339)
		id := uuid.NewSHA1(uuid.NameSpaceOID, strconv.AppendInt([]byte("kizuna-bench-event-"), int64(first+i), 10))
		l := fmt.Sprintf("acc-%06d,u%d,%s,%s,%s\n", r.IntN(accounts), r.IntN(20), features[r.IntN(len(features))], ts, id)
		if repeatEvery > 0 {
			lines = append(lines, l)
		}
		b.WriteString(l)
	}
	return b.Bytes()
}

func accountsCSV(n int) string {
	var b strings.Builder
	b.WriteString("account_id,name\n")
	for i := range n {
		fmt.Fprintf(&b, "acc-%06d,Account %d\n", i, i)
	}
	return b.String()
}

func importBytes(t testing.TB, db *store.DB, kind string, data []byte) *csvimport.Result {
	t.Helper()
	res, err := csvimport.Import(context.Background(), db, kind, kind+".csv", bytes.NewReader(data), csvimport.Options{})
	if err != nil {
		if res != nil && len(res.Errors) > 0 {
			t.Fatalf("import %s: %v: %s", kind, err, res.Errors[0])
		}
		t.Fatalf("import %s: %v", kind, err)
	}
	return res
}

// checkRollupsAreTruth compares both rollup tables with what a plain GROUP BY
// over the stored events gives.
func checkRollupsAreTruth(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	read := func(q string) []string {
		t.Helper()
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				parts[i] = fmtAny(v)
			}
			out = append(out, strings.Join(parts, "|"))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	same := func(what, got, want string) {
		t.Helper()
		g, w := read(got+" ORDER BY 1, 2, 3"), read(want+" ORDER BY 1, 2, 3")
		if len(g) == 0 {
			t.Errorf("%s is empty", what)
		}
		if strings.Join(g, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s: %d rows differ from a GROUP BY over the events (%d rows, want %d)", what, diffCount(g, w), len(g), len(w))
		}
	}
	// ts is never negative here, so ts / 86400 is store.Day.
	same("usage_daily",
		`SELECT account_id, day, event, count FROM usage_daily`,
		`SELECT account_id, CAST(ts / 86400 AS INTEGER), event, COUNT(*) FROM events WHERE account_id IS NOT NULL GROUP BY 1, 2, 3`)
	same("usage_daily_users",
		`SELECT account_id, day, user_id FROM usage_daily_users`,
		`SELECT DISTINCT account_id, CAST(ts / 86400 AS INTEGER), user_id FROM events WHERE account_id IS NOT NULL AND user_id <> ''`)
	var events, total int64
	if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM events), (SELECT COALESCE(SUM(count), 0) FROM usage_daily)`).Scan(&events, &total); err != nil {
		t.Fatal(err)
	}
	if events != total {
		t.Errorf("events = %d, sum of daily counts = %d", events, total)
	}
}

func diffCount(a, b []string) int {
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	n := 0
	for _, c := range seen {
		n += max(c, -c)
	}
	return n
}

// TestEventRollupsAreTruth imports files large enough for many chunks (and,
// on PostgreSQL, several COPY chunks): a file whose events repeat within it,
// the same file again, and a file overlapping both, and checks after each
// that the rollups equal a GROUP BY over the events.
func TestEventRollupsAreTruth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		importBytes(t, db, "accounts", []byte(accountsCSV(50)))
		const n = 40000
		// Every 7th row repeats an earlier row of the file.
		repeating := eventsCSV(n, 50, 0, 7)
		res := importBytes(t, db, "events", repeating)
		repeats := int64((n - 1) / 7)
		if res.Rows != n || res.Inserted != n-repeats || res.Unchanged != repeats {
			t.Fatalf("first import: %+v, want %d new and %d repeated", res, n-repeats, repeats)
		}
		checkRollupsAreTruth(t, db)

		// The same file again: nothing new, rollups unchanged.
		res = importBytes(t, db, "events", repeating)
		if res.Inserted != 0 || res.Unchanged != n {
			t.Fatalf("re-import: %+v, want all unchanged", res)
		}
		checkRollupsAreTruth(t, db)

		// A file half stored already (message ids 20000… overlap the first
		// file's second half), so that chunks are partly new.
		res = importBytes(t, db, "events", eventsCSV(n, 50, n/2, 0))
		if res.Inserted == 0 || res.Inserted == n {
			t.Fatalf("overlapping import: %+v, want some new and some stored", res)
		}
		checkRollupsAreTruth(t, db)
		if got := count(t, db, "events"); got != n-repeats+res.Inserted {
			t.Fatalf("events = %d, want %d", got, n-repeats+res.Inserted)
		}
	})
}

// BenchmarkImportEvents imports 100,000 events (over 100 accounts, 90 days,
// 8 features, 20 users an account; KIZUNA_BENCH_EVENTS and
// KIZUNA_BENCH_ACCOUNTS change the numbers, bench/run's are 1,000,000 and
// 1,000) into a fresh database per iteration and reports rows/s and rows per
// CPU-second of this process (on a shared machine the wall-clock figure
// depends on the others; on PostgreSQL the server's CPU is not counted); on
// PostgreSQL too when KIZUNA_TEST_POSTGRES is set.
//
//	go test ./internal/csvimport -run '^$' -bench ImportEvents -benchtime 5x
func BenchmarkImportEvents(b *testing.B) {
	rows, accountsN := envInt(b, "KIZUNA_BENCH_EVENTS", 100000), envInt(b, "KIZUNA_BENCH_ACCOUNTS", 100)
	data := eventsCSV(rows, accountsN, 0, 0)
	accounts := []byte(accountsCSV(accountsN))
	run := func(b *testing.B, open func(testing.TB) *store.DB) {
		var elapsed, cpu time.Duration
		for range b.N {
			b.StopTimer()
			db := open(b)
			importBytes(b, db, "accounts", accounts)
			b.StartTimer()
			start, cpu0 := time.Now(), cpuTime(b)
			res := importBytes(b, db, "events", data)
			elapsed += time.Since(start)
			cpu += cpuTime(b) - cpu0
			if res.Inserted != int64(rows) {
				b.Fatalf("inserted %d, want %d", res.Inserted, rows)
			}
			b.StopTimer()
			db.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(rows)*float64(b.N)/elapsed.Seconds(), "rows/s")
		b.ReportMetric(float64(rows)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
	}
	b.Run("sqlite", func(b *testing.B) { run(b, storetest.SQLite) })
	if storetest.PostgresAvailable() {
		b.Run("postgres", func(b *testing.B) { run(b, storetest.Postgres) })
	}
}

// envInt is the positive integer in the environment variable name, or def.
func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// cpuTime is the user and system CPU time this process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

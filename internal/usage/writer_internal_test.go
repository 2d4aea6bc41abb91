package usage

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// small makes chunks and the rollup bound tiny for the test, so that one
// test runs many chunks and several mid-stream rollup writes.
func small(t *testing.T, chunk, keys int) {
	oldS, oldR, oldP, oldB, oldK, oldA := sqliteChunk, sqliteStatementRows, postgresChunk, rollupBatch, maxRollupKeys, pgArrayRows
	// Rollup batches of up to keys rows: on PostgreSQL the smaller half
	// take the arrays, the larger the COPY paths. A SQLite chunk takes
	// several statements, as a full-size one does.
	sqliteChunk, postgresChunk, rollupBatch, maxRollupKeys, pgArrayRows = chunk, chunk, chunk, keys, keys/2
	sqliteStatementRows = max(1, chunk/3)
	t.Cleanup(func() {
		sqliteChunk, sqliteStatementRows, postgresChunk, rollupBatch, maxRollupKeys, pgArrayRows = oldS, oldR, oldP, oldB, oldK, oldA
	})
}

// truth compares the rollups with a GROUP BY over the stored events.
func truth(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	read := func(q string) string {
		rows, err := db.QueryContext(ctx, q+" ORDER BY 1, 2, 3")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var b strings.Builder
		for rows.Next() {
			var a, x string
			var d, c int64
			dest := []any{&a, &d, &x, &c}[:len(cols)]
			if err := rows.Scan(dest...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %d %s %d\n", a, d, x, c)
		}
		return b.String()
	}
	// No timestamp here is before 1970, so ts / 86400 is store.Day.
	if got, want := read(`SELECT account_id, day, event, count FROM usage_daily`),
		read(`SELECT account_id, CAST(ts / 86400 AS INTEGER), event, COUNT(*) FROM events WHERE account_id IS NOT NULL GROUP BY 1, 2, 3`); got != want || got == "" {
		t.Errorf("usage_daily is not the GROUP BY of the events:\n%s\nwant:\n%s", got, want)
	}
	if got, want := read(`SELECT account_id, day, user_id FROM usage_daily_users`),
		read(`SELECT DISTINCT account_id, CAST(ts / 86400 AS INTEGER), user_id FROM events WHERE account_id IS NOT NULL AND user_id <> ''`); got != want || got == "" {
		t.Errorf("usage_daily_users is not the distinct user-days of the events:\n%s\nwant:\n%s", got, want)
	}
	names, err := EventNames(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT event FROM usage_daily ORDER BY event`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var want []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	if !slices.Equal(names, want) {
		t.Errorf("usage_event_names = %v, want the events of usage_daily %v", names, want)
	}
}

func randomEvents(r *rand.Rand, n, ids int) []Event {
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	out := make([]Event, n)
	for i := range out {
		e := Event{
			AccountID: fmt.Sprintf("a%d", r.IntN(7)),
			UserID:    fmt.Sprintf("u%d", r.IntN(5)),
			Event:     []string{"login", "export", "invite"}[r.IntN(3)],
			Timestamp: base.Add(time.Duration(r.IntN(5*24*60)) * time.Minute),
		}
		switch r.IntN(10) {
		case 0:
			e.AccountID = "" // stored, not rolled up
		case 1:
			e.UserID = "" // anonymous
		}
		if r.IntN(4) > 0 { // the rest are de-duplicated by their fields
			// A message id comes back with its time, as a retry sends it:
			// the same event (its other fields say anything).
			id := r.IntN(ids)
			e.MessageID = fmt.Sprintf("m%d", id)
			e.Timestamp = base.Add(time.Duration(id*7919%(5*24*60)) * time.Minute)
		}
		out[i] = e
	}
	return out
}

// TestWriterSmallChunksAndBound runs batches with repeated message ids
// through chunks of 16 and a rollup bound of 40 keys, so that chunks are
// partly new and rollups are written many times mid-stream, and checks the
// counts and the rollups after each batch.
func TestWriterSmallChunksAndBound(t *testing.T) {
	small(t, 16, 40)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(7, 8))
		stored := map[string]bool{}
		for batch := range 4 {
			events := randomEvents(r, 700, 900)
			want := int64(0)
			for _, e := range events {
				ts := e.Timestamp.Unix()
				k := fmt.Sprint(ts, "/", DedupeKey(e.MessageID, e.AccountID, e.UserID, e.Event, ts, "{}"))
				if !stored[k] {
					stored[k] = true
					want++
				}
			}
			n, err := Ingest(ctx, db, events)
			if err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Fatalf("batch %d: %d new, want %d", batch, n, want)
			}
			truth(t, db)
		}
		if c, _ := CountEvents(ctx, db); c != int64(len(stored)) {
			t.Fatalf("events = %d, want %d", c, len(stored))
		}
	})
}

// TestWriterRollupRace makes the PostgreSQL rollup writes take the plain
// INSERT although rows of their keys are stored, as when another writer
// inserts them between the check and the INSERT: the unique violation must
// send the batch through ON CONFLICT, with nothing lost or counted twice.
func TestWriterRollupRace(t *testing.T) {
	if !storetest.PostgresAvailable() {
		t.Skip("PostgreSQL only; set " + storetest.EnvPostgres)
	}
	small(t, 16, 40)
	db := storetest.Postgres(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	if _, err := Ingest(ctx, db, randomEvents(r, 300, 100000)); err != nil {
		t.Fatal(err)
	}
	pgAssumeFresh = true
	defer func() { pgAssumeFresh = false }()
	for range 2 {
		if _, err := Ingest(ctx, db, randomEvents(r, 300, 100000)); err != nil {
			t.Fatal(err)
		}
		truth(t, db)
	}
}

// TestWriterAbortWritesNothing checks that Abort leaves the transaction to
// roll back with nothing of the writer in it, and that on SQLite the
// connection gets its page cache size back.
func TestWriterAbortWritesNothing(t *testing.T) {
	small(t, 16, 40)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var before int64
		if db.Dialect == store.SQLite {
			if err := conn.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&before); err != nil {
				t.Fatal(err)
			}
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		w := NewWriter(db, conn, tx)
		// Enough 16-event chunks for the writer to lower the page cache.
		for _, e := range randomEvents(rand.New(rand.NewPCG(1, 1)), importCacheRows+16*4, 100000) {
			if err := w.Add(ctx, Raw{MessageID: e.MessageID, AccountID: e.AccountID, UserID: e.UserID, Event: e.Event, TS: e.Timestamp.Unix()}); err != nil {
				t.Fatal(err)
			}
		}
		w.Abort()
		if err := w.Add(ctx, Raw{Event: "late"}); err == nil {
			t.Error("Add after Abort succeeded")
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if c, _ := CountEvents(ctx, db); c != 0 {
			t.Errorf("events after Abort and rollback = %d", c)
		}
		if db.Dialect == store.SQLite {
			var after int64
			if err := conn.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&after); err != nil {
				t.Fatal(err)
			}
			if after != before {
				t.Errorf("cache_size = %d after the writer, was %d", after, before)
			}
		}
	})
}

// TestSortKeys checks both ways of sorting rollup keys against comparing
// the names, with negative days and wide spans.
func TestSortKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, span := range []int32{1, 90, 1 << 30} {
		var in interner
		in.ids = map[string]int32{}
		var xs interner
		xs.ids = map[string]int32{}
		m := map[rkey]bool{}
		for range 5000 {
			a := in.id(fmt.Sprintf("acct-%d", r.IntN(300)))
			x := xs.id(fmt.Sprintf("ev%d", r.IntN(40)))
			m[rkey{a, x, int32(r.Int64N(int64(span))) - span/2}] = true
		}
		keys := slices.Collect(maps.Keys(m))
		rankA, byA := in.ranks()
		rankX, byX := xs.ranks()
		sorted := func(pack bool) []rkey {
			packKeys = pack
			defer func() { packKeys = true }()
			l, order := sortKeysOrder(keys, rankA, rankX, byA, byX)
			if (l.packed != nil) != pack {
				t.Fatalf("packed = %v, want %v", l.packed != nil, pack)
			}
			if order == nil {
				t.Fatalf("span %d, packed %v: no order, with room for it", span, pack)
			}
			out := make([]rkey, l.len())
			for i := range out {
				a, x, d := l.at(i)
				out[i] = rkey{a, x, d}
				if keys[order[i]] != out[i] {
					t.Fatalf("span %d, packed %v: key %d is %v, its order says keys[%d] = %v", span, pack, i, out[i], order[i], keys[order[i]])
				}
			}
			return out
		}
		want := slices.Clone(keys)
		slices.SortFunc(want, func(p, q rkey) int {
			if c := strings.Compare(in.names[p[0]], in.names[q[0]]); c != 0 {
				return c
			}
			if p[2] != q[2] {
				return int(p[2]) - int(q[2])
			}
			return strings.Compare(xs.names[p[1]], xs.names[q[1]])
		})
		for _, pack := range []bool{true, false} {
			if got := sorted(pack); !reflect.DeepEqual(got, want) {
				t.Errorf("span %d, packed %v: sortKeys order differs from comparing names", span, pack)
			}
		}
	}
}

// TestSortKeysNoRoomForOrder: keys that fill 54 of the 64 bits packed
// (1,100 accounts and names, every day of int32) leave no room for the
// positions of 2,000 keys; they still sort, packed, without them.
func TestSortKeysNoRoomForOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	var as, xs interner
	as.ids, xs.ids = map[string]int32{}, map[string]int32{}
	for i := range 1100 {
		as.id(fmt.Sprint("a", i))
		xs.id(fmt.Sprint("x", i))
	}
	m := map[rkey]bool{{0, 0, math.MinInt32}: true, {1, 1, math.MaxInt32}: true}
	for len(m) < 2000 {
		m[rkey{int32(r.IntN(1100)), int32(r.IntN(1100)), r.Int32() - r.Int32()}] = true
	}
	keys := slices.Collect(maps.Keys(m))
	rankA, byA := as.ranks()
	rankX, byX := xs.ranks()
	l, order := sortKeysOrder(keys, rankA, rankX, byA, byX)
	if l.packed == nil || order != nil {
		t.Fatalf("packed %v, order %v: want packed keys without their order", l.packed != nil, order != nil)
	}
	got := make([]rkey, l.len())
	for i := range got {
		a, x, d := l.at(i)
		got[i] = rkey{a, x, d}
	}
	want := slices.Clone(keys)
	slices.SortFunc(want, func(p, q rkey) int {
		if c := strings.Compare(as.names[p[0]], as.names[q[0]]); c != 0 {
			return c
		}
		if p[2] != q[2] {
			return cmp.Compare(p[2], q[2])
		}
		return strings.Compare(xs.names[p[1]], xs.names[q[1]])
	})
	if !slices.Equal(got, want) {
		t.Error("the keys sort otherwise than by their names and days")
	}
}

// TestRollupFold adds random events to a rollup that folds every few keys
// and checks the folded counts and user-days against a map.
func TestRollupFold(t *testing.T) {
	for _, tc := range []struct {
		every int
		pack  bool
	}{{1, true}, {7, true}, {1 << 20, true}, {7, false}, {1 << 20, false}} {
		t.Run(fmt.Sprintf("fold every %d, packed %v", tc.every, tc.pack), func(t *testing.T) {
			old := foldAt
			foldAt, packKeys = tc.every, tc.pack
			defer func() { foldAt, packKeys = old, true }()
			var ro rollup
			ro.init()
			r := rand.New(rand.NewPCG(9, 10))
			wantDaily := map[[3]string]int64{}
			wantActive := map[[3]string]bool{}
			for range 3000 {
				e := Raw{AccountID: fmt.Sprintf("a%d", r.IntN(6)), UserID: fmt.Sprintf("u%d", r.IntN(4)), Event: fmt.Sprintf("e%d", r.IntN(3)), TS: int64(r.IntN(10))*86400 - 3*86400}
				if r.IntN(50) == 0 {
					e.TS = int64(r.IntN(1<<30)-1<<29) * 86400 // days far apart
				}
				switch r.IntN(8) {
				case 0:
					e.AccountID = ""
				case 1:
					e.UserID = ""
				}
				ro.add(&e)
				if e.AccountID == "" {
					continue
				}
				day := fmt.Sprint(store.Day(e.TS))
				wantDaily[[3]string{e.AccountID, e.Event, day}]++
				if e.UserID != "" {
					wantActive[[3]string{e.AccountID, e.UserID, day}] = true
				}
			}
			ro.fold()
			gotDaily := map[[3]string]int64{}
			for i, k := range ro.daily {
				gotDaily[[3]string{ro.accounts.names[k[0]], ro.events.names[k[1]], fmt.Sprint(k[2])}] = ro.counts[i]
			}
			gotActive := map[[3]string]bool{}
			for _, k := range ro.active {
				gotActive[[3]string{ro.accounts.names[k[0]], ro.users.names[k[1]], fmt.Sprint(k[2])}] = true
			}
			if !reflect.DeepEqual(gotDaily, wantDaily) || len(gotDaily) != len(ro.daily) {
				t.Errorf("daily counts differ: %d keys, want %d", len(ro.daily), len(wantDaily))
			}
			if !reflect.DeepEqual(gotActive, wantActive) || len(gotActive) != len(ro.active) {
				t.Errorf("active user-days differ: %d keys, want %d", len(ro.active), len(wantActive))
			}
			if !slices.IsSortedFunc(ro.daily, cmpKey) || !slices.IsSortedFunc(ro.active, cmpKey) {
				t.Error("folded keys are not sorted")
			}
		})
	}
}

// TestWriterDirectAndTable runs one Writer over inputs that make the
// PostgreSQL side leave the direct COPY into events: more chunks than its
// savepoint budget, stored events met midway, and message ids repeated
// across chunks. Counts and rollups must be exact whichever way each chunk
// went; on PostgreSQL the test also checks which way they went.
func TestWriterDirectAndTable(t *testing.T) {
	small(t, 16, 1<<20)
	ids := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("m%d", i))
		}
		return out
	}
	tests := []struct {
		name          string
		stored        []string // ingested before
		add           []string // then added through one Writer
		wantNew       int64
		direct, table int // PostgreSQL chunks, -1: not checked
	}{
		{"past the savepoint budget", nil, ids(0, 16*(pgDirectChunks+3)), 16 * (pgDirectChunks + 3), pgDirectChunks, 3},
		// Four new chunks go direct; the fifth meets m0…m99 and it and
		// every later chunk take the temporary table.
		{"stored events midway", ids(0, 100), append(ids(1000, 1064), ids(50, 150)...), 64 + 50, 4, 7},
		// m0…m15 again in the third chunk: not stored twice, not counted twice.
		{"repeats across chunks", nil, append(ids(0, 32), ids(0, 32)...), 32, 2, 2},
		{"all stored", ids(0, 64), ids(0, 64), 0, 0, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).Unix()
				// An event's fields follow from its id, so a stored id
				// comes back with its stored fields, as in a re-import.
				event := func(id string) Raw {
					i, _ := strconv.Atoi(id[1:])
					return Raw{MessageID: id, AccountID: fmt.Sprintf("a%d", i%3), UserID: fmt.Sprintf("u%d", i%4), Event: "login", TS: base + int64(i%5)*86400}
				}
				if len(tc.stored) > 0 {
					var evs []Event
					for _, id := range tc.stored {
						e := event(id)
						evs = append(evs, Event{MessageID: e.MessageID, AccountID: e.AccountID, UserID: e.UserID, Event: e.Event, Timestamp: time.Unix(e.TS, 0)})
					}
					if _, err := Ingest(ctx, db, evs); err != nil {
						t.Fatal(err)
					}
				}
				conn, err := db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				tx, err := conn.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				w := NewWriter(db, conn, tx)
				for _, id := range tc.add {
					if err := w.Add(ctx, event(id)); err != nil {
						t.Fatal(err)
					}
				}
				n, err := w.Close(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				if n != tc.wantNew {
					t.Errorf("new events = %d, want %d", n, tc.wantNew)
				}
				if c, _ := CountEvents(ctx, db); c != int64(len(tc.stored))+tc.wantNew {
					t.Errorf("events = %d, want %d", c, int64(len(tc.stored))+tc.wantNew)
				}
				truth(t, db)
				if db.Dialect == store.Postgres && (w.directChunks != tc.direct || w.tableChunks != tc.table) {
					t.Errorf("chunks direct %d, through the table %d; want %d, %d", w.directChunks, w.tableChunks, tc.direct, tc.table)
				}
			})
		})
	}
}

package tracking_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"

	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

type callback struct{ ok, failed atomic.Int64 }

func (c *callback) Success(analytics.Message)              { c.ok.Add(1) }
func (c *callback) Failure(_ analytics.Message, err error) { c.failed.Add(1) }

// The official Go library against the full handler and writer.
func TestAnalyticsGoEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, ingest.Options{})
		cb := &callback{}
		client, err := analytics.NewWithConfig(e.key, analytics.Config{
			Endpoint: e.srv.URL, BatchSize: 50, Interval: 50 * time.Millisecond, Callback: cb,
			Logger: testLogger{t},
		})
		if err != nil {
			t.Fatal(err)
		}
		day := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
		msgs := 0
		enqueue := func(m analytics.Message) {
			t.Helper()
			if err := client.Enqueue(m); err != nil {
				t.Fatal(err)
			}
			msgs++
		}
		// alice's events come before her group call: kept, then attributed.
		for i := 0; i < 30; i++ {
			enqueue(analytics.Track{MessageId: fmt.Sprintf("a-%d", i), UserId: "alice", Event: "Report Viewed", Timestamp: day.Add(time.Duration(i) * time.Minute),
				Properties: analytics.NewProperties().Set("report", "mrr")})
		}
		enqueue(analytics.Identify{UserId: "alice", Traits: analytics.NewTraits().SetEmail("alice@acme.example").SetName("Alice"), Timestamp: day})
		enqueue(analytics.Group{UserId: "alice", GroupId: "acme", Traits: analytics.NewTraits().SetName("Acme Inc."), Timestamp: day})
		// bob names his account in every event's context.
		for i := 0; i < 20; i++ {
			enqueue(analytics.Track{MessageId: fmt.Sprintf("b-%d", i), UserId: "bob", Event: "Export", Timestamp: day.Add(24 * time.Hour),
				Context: &analytics.Context{Extra: map[string]interface{}{"groupId": "globex"}}})
		}
		// carol only through properties.account_id.
		enqueue(analytics.Page{MessageId: "c-1", UserId: "carol", Name: "Pricing", Timestamp: day,
			Properties: analytics.NewProperties().Set("account_id", "initech")})
		// A repeated messageId is stored once.
		enqueue(analytics.Track{MessageId: "b-0", UserId: "bob", Event: "Export", Timestamp: day.Add(24 * time.Hour),
			Context: &analytics.Context{Extra: map[string]interface{}{"groupId": "globex"}}})
		if err := client.Close(); err != nil {
			t.Fatal(err)
		}
		if cb.failed.Load() != 0 || cb.ok.Load() != int64(msgs) {
			t.Fatalf("callbacks: %d ok, %d failed; want %d ok", cb.ok.Load(), cb.failed.Load(), msgs)
		}
		// The rollups follow from the journal once the writer is idle, with
		// the server running.
		for deadline := time.Now().Add(60 * time.Second); count(t, db, `SELECT COALESCE(SUM(count), 0) FROM usage_daily`) != 51; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) { // a hang, not a slow machine
				t.Fatalf("rollups count %d events 60 s after the answers, want 51", count(t, db, `SELECT COALESCE(SUM(count), 0) FROM usage_daily`))
			}
		}
		for _, c := range []struct {
			query string
			want  int64
		}{
			{`SELECT COUNT(*) FROM events`, 51},
			{`SELECT COUNT(*) FROM events WHERE account_id = 'acme' AND user_id = 'alice'`, 30},
			{`SELECT COUNT(*) FROM events WHERE account_id = 'globex'`, 20},
			{`SELECT COUNT(*) FROM events WHERE account_id = 'initech' AND event = 'page:Pricing'`, 1},
			{`SELECT COUNT(*) FROM events WHERE account_id IS NULL`, 0},
			{`SELECT SUM(count) FROM usage_daily WHERE account_id = 'acme' AND event = 'Report Viewed'`, 30},
			{`SELECT SUM(count) FROM usage_daily WHERE account_id = 'globex'`, 20},
			{`SELECT SUM(count) FROM usage_daily`, 51},
			{`SELECT COUNT(*) FROM usage_daily_users`, 3},
			{`SELECT COUNT(*) FROM accounts WHERE account_id = 'acme' AND name = 'Acme Inc.'`, 1},
			{`SELECT COUNT(*) FROM segment_users WHERE user_id = 'alice' AND account_id = 'acme' AND traits LIKE '%alice@acme.example%'`, 1},
		} {
			if got := count(t, db, c.query); got != c.want {
				t.Errorf("%s = %d, want %d", c.query, got, c.want)
			}
		}
	})
}

type testLogger struct{ t *testing.T }

func (l testLogger) Logf(format string, args ...interface{})   { l.t.Logf(format, args...) }
func (l testLogger) Errorf(format string, args ...interface{}) { l.t.Logf("ERROR "+format, args...) }

package tracking_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/apikey"
	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/tracking"
)

type env struct {
	db     *store.DB
	srv    *httptest.Server
	key    string
	queue  *ingest.Queue
	client *http.Client
}

func newEnv(t testing.TB, db *store.DB, opts ingest.Options) *env {
	t.Helper()
	ctx := context.Background()
	_, secret, err := apikey.Create(ctx, db, "segment test", apikey.ScopeIngest, "")
	if err != nil {
		t.Fatal(err)
	}
	q := ingest.New(db, opts)
	mux := http.NewServeMux()
	h := tracking.NewHandler(db, q, nil, nil)
	for _, p := range tracking.Paths {
		mux.Handle("POST "+p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		q.Close(context.Background())
	})
	return &env{db: db, srv: srv, key: secret, queue: q, client: srv.Client()}
}

// drain stops the server and the queue, whose Close applies the rollup
// journal: the rollups count every event acknowledged.
func (e *env) drain(t testing.TB) {
	t.Helper()
	e.srv.Close()
	if err := e.queue.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (e *env) post(t testing.TB, path, key string, body []byte, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func count(t testing.TB, db *store.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

const goodTrack = `{"type":"track","messageId":"m-good","userId":"u1","event":"Login","timestamp":"2024-05-01T10:00:00Z","context":{"groupId":"acc1"}}`

func TestBadInput(t *testing.T) {
	big := `{"type":"track","userId":"u1","event":"x","properties":{"pad":"` + strings.Repeat("a", 33<<10) + `"}}`
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	var huge strings.Builder
	huge.WriteString(`{"batch":[`)
	for i := 0; huge.Len() < 510<<10; i++ {
		if i > 0 {
			huge.WriteByte(',')
		}
		fmt.Fprintf(&huge, `{"type":"track","userId":"u1","event":"e","messageId":"h%d","properties":{"p":"%s"}}`, i, strings.Repeat("b", 1000))
	}
	huge.WriteString(`]}`)
	cases := []struct {
		name, path, body string
		status           int
		detail           string
	}{
		{"malformed", "/v1/batch", `{"batch":[` + goodTrack + `,{"type":`, 400, "malformed JSON"},
		{"not an object", "/v1/batch", `[1,2]`, 400, "JSON object with a batch array"},
		{"batch missing", "/v1/batch", `{}`, 400, "batch: required"},
		{"batch not array", "/v1/batch", `{"batch":{}}`, 400, "batch: want an array of calls, got an object"},
		{"empty batch", "/v1/batch", `{"batch":[]}`, 400, "batch: at least one call"},
		{"element not object", "/v1/batch", `{"batch":[` + goodTrack + `,5]}`, 400, "batch[1]: want an object, got a number"},
		{"no type", "/v1/batch", `{"batch":[` + goodTrack + `,{"userId":"u","event":"e"}]}`, 400, "batch[1].type: required"},
		{"unknown type", "/v1/batch", `{"batch":[{"type":"purchase","userId":"u"}]}`, 400, `batch[0].type: "purchase" is not one of`},
		{"type not string", "/v1/batch", `{"batch":[{"type":7,"userId":"u"}]}`, 400, "batch[0].type: want a string, got number"},
		{"track without event", "/v1/batch", `{"batch":[` + goodTrack + `,{"type":"track","userId":"u"}]}`, 400, "batch[1].event: required for a track call"},
		{"event wrong type", "/v1/batch", `{"batch":[{"type":"track","userId":"u","event":{"a":1}}]}`, 400, "batch[0].event: want a string, got an object"},
		{"no user", "/v1/batch", `{"batch":[{"type":"track","event":"e"}]}`, 400, "batch[0].userId: userId or anonymousId is required"},
		{"user wrong type", "/v1/batch", `{"batch":[{"type":"track","userId":true,"event":"e"}]}`, 400, "batch[0].userId: want a string or a number, got a boolean"},
		{"group without groupId", "/v1/batch", `{"batch":[{"type":"group","userId":"u"}]}`, 400, "batch[0].groupId: required for a group call"},
		{"properties not object", "/v1/batch", `{"batch":[{"type":"track","userId":"u","event":"e","properties":[1]}]}`, 400, "batch[0].properties: want an object, got an array"},
		{"context not object", "/v1/batch", `{"batch":[{"type":"track","userId":"u","event":"e","context":"x"}]}`, 400, "batch[0].context: want an object, got a string"},
		{"context groupId wrong type", "/v1/batch", `{"batch":[{"type":"track","userId":"u","event":"e","context":{"groupId":[]}}]}`, 400, "batch[0].context.groupId: want a string or a number, got an array"},
		{"timestamp not a date", "/v1/batch", `{"batch":[{"type":"track","userId":"u","event":"e","timestamp":"yesterday"}]}`, 400, `batch[0].timestamp: "yesterday" is not an ISO 8601 date-time`},
		{"timestamp number", "/v1/batch", `{"batch":[{"type":"track","userId":"u","event":"e","timestamp":1714557600}]}`, 400, "batch[0].timestamp: want an ISO 8601 date-time string"},
		{"timestamp before 2000", "/v1/batch", `{"batch":[{"type":"track","userId":"u","event":"e","timestamp":"1999-12-31T23:59:59Z"}]}`, 400, "batch[0].timestamp: 1999-12-31T23:59:59Z is before 2000-01-01"},
		{"timestamp in the future", "/v1/batch", `{"batch":[{"type":"track","userId":"u","event":"e","timestamp":"` + future + `"}]}`, 400, "more than a day in the future"},
		{"sentAt malformed", "/v1/batch", `{"batch":[` + goodTrack + `],"sentAt":"soon"}`, 400, `sentAt: "soon" is not`},
		{"event too large", "/v1/batch", `{"batch":[` + goodTrack + `,` + big + `]}`, 413, "batch[1]: the call is"},
		{"request too large", "/v1/batch", huge.String(), 413, "larger than 500 KB"},
		{"single too large", "/v1/track", big, 413, "the call is"},
		{"single without event", "/v1/track", `{"userId":"u"}`, 400, "event: required for a track call"},
		{"single malformed", "/v1/identify", `{"userId":`, 400, "malformed JSON"},
		{"single group", "/v1/group", `{"userId":"u","groupId":""}`, 400, "groupId: required for a group call"},
		{"page traits wrong", "/v1/page", `{"userId":"u","name":3}`, 400, "name: want a string, got a number"},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, ingest.Options{})
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				status, body, _ := e.post(t, c.path, e.key, []byte(c.body))
				var p struct{ Detail string }
				json.Unmarshal([]byte(body), &p)
				if status != c.status || !strings.Contains(p.Detail, c.detail) {
					t.Fatalf("POST %s: %d %s; want %d with %q", c.path, status, body, c.status, c.detail)
				}
				if !strings.Contains(body, `"success":false`) {
					t.Errorf("body %s lacks success false", body)
				}
			})
		}
		if n := count(t, db, `SELECT COUNT(*) FROM events`); n != 0 {
			t.Fatalf("%d events stored from bad input", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM segment_users`) + count(t, db, `SELECT COUNT(*) FROM accounts`); n != 0 {
			t.Fatalf("%d users or accounts stored from bad input", n)
		}
	})
}

func TestAuth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, ingest.Options{})
		_, readKey, err := apikey.Create(context.Background(), db, "reader", apikey.ScopeRead, "")
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"batch":[` + goodTrack + `]}`)
		for _, c := range []struct {
			name, key string
			status    int
		}{
			{"none", "", 401},
			{"wrong", "kz_nope", 401},
			{"garbage", "hello", 401},
			{"read scope", readKey, 403},
		} {
			status, resp, hdr := e.post(t, "/v1/batch", c.key, body)
			if status != c.status {
				t.Errorf("%s: %d %s; want %d", c.name, status, resp, c.status)
			}
			if status == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", c.name)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM events`); n != 0 {
			t.Fatalf("%d events stored without a valid key", n)
		}
		status, resp, hdr := e.post(t, "/v1/batch", e.key, body)
		if status != 200 || strings.TrimSpace(resp) != `{"success": true}` || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("good request: %d %s", status, resp)
		}
	})
}

func TestGzipAndSingleEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, ingest.Options{})
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write([]byte(`{"batch":[` + goodTrack + `]}`))
		zw.Close()
		if status, body, _ := e.post(t, "/v1/batch", e.key, zb.Bytes(), "Content-Encoding", "gzip"); status != 200 {
			t.Fatalf("gzip: %d %s", status, body)
		}
		for path, body := range map[string]string{
			"/v1/track":    `{"messageId":"s1","userId":"u2","event":"Export","properties":{"account_id":"acc2"},"timestamp":"2024-05-01T10:00:00Z"}`,
			"/v1/page":     `{"messageId":"s2","userId":"u2","name":"Pricing","properties":{"account_id":"acc2"},"timestamp":"2024-05-01T10:00:00Z"}`,
			"/v1/identify": `{"userId":"u2","traits":{"email":"a@example.com"}}`,
			"/v1/alias":    `{"userId":"u2","previousId":"x"}`,
		} {
			if status, resp, _ := e.post(t, path, e.key, []byte(body)); status != 200 {
				t.Fatalf("%s: %d %s", path, status, resp)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM events WHERE account_id = 'acc2'`); n != 2 {
			t.Fatalf("acc2 events = %d, want 2", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM events WHERE event = 'page:Pricing'`); n != 1 {
			t.Fatalf("page events = %d, want 1", n)
		}
		var traits string
		if err := db.QueryRowContext(context.Background(), `SELECT traits FROM segment_users WHERE user_id = 'u2'`).Scan(&traits); err != nil || !strings.Contains(traits, "a@example.com") {
			t.Fatalf("traits = %q, %v", traits, err)
		}
	})
}

func TestDedupeAcrossRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, ingest.Options{})
		a := `{"type":"track","messageId":"dup-1","userId":"u1","event":"Login","timestamp":"2024-05-01T10:00:00Z","context":{"groupId":"acc1"}}`
		b := `{"type":"track","messageId":"dup-2","userId":"u1","event":"Login","timestamp":"2024-05-01T11:00:00Z","context":{"groupId":"acc1"}}`
		for _, body := range []string{`{"batch":[` + a + `]}`, `{"batch":[` + a + `,` + b + `]}`, `{"batch":[` + b + `,` + a + `,` + a + `]}`} {
			if status, resp, _ := e.post(t, "/v1/batch", e.key, []byte(body)); status != 200 {
				t.Fatalf("%d %s", status, resp)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM events`); n != 2 {
			t.Fatalf("events = %d, want 2", n)
		}
		e.drain(t)
		if n := count(t, db, `SELECT SUM(count) FROM usage_daily WHERE account_id = 'acc1'`); n != 2 {
			t.Fatalf("rollup count = %d, want 2", n)
		}
	})
}

func accountOf(t testing.TB, db *store.DB, messageID string) string {
	t.Helper()
	var a *string
	if err := db.QueryRowContext(context.Background(), `SELECT account_id FROM events WHERE message_id = $1`, messageID).Scan(&a); err != nil {
		t.Fatalf("event %s: %v", messageID, err)
	}
	if a == nil {
		return "<null>"
	}
	return *a
}

func TestAccountResolution(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, ingest.Options{})
		send := func(calls ...string) {
			t.Helper()
			if status, resp, _ := e.post(t, "/v1/batch", e.key, []byte(`{"batch":[`+strings.Join(calls, ",")+`]}`)); status != 200 {
				t.Fatalf("%d %s", status, resp)
			}
		}
		send(
			// Only properties.account_id: it is used.
			`{"type":"track","messageId":"p1","userId":"u1","event":"e","timestamp":"2024-05-01T10:00:00Z","properties":{"account_id":"propA"}}`,
			// context.groupId beats properties.
			`{"type":"track","messageId":"c1","userId":"u1","event":"e","timestamp":"2024-05-01T10:00:00Z","properties":{"account_id":"propA"},"context":{"groupId":"ctxA"}}`,
		)
		// A group call links u1 to grpA (and the older one to grpOld, which it replaces).
		send(
			`{"type":"group","messageId":"g1","userId":"u1","groupId":"grpOld","timestamp":"2024-04-01T10:00:00Z"}`,
			`{"type":"group","messageId":"g2","userId":"u1","groupId":"grpA","timestamp":"2024-04-02T10:00:00Z","traits":{"name":"Acme"}}`,
		)
		// An older group call sent later does not win.
		send(`{"type":"group","messageId":"g3","userId":"u1","groupId":"grpOld","timestamp":"2024-03-01T10:00:00Z"}`)
		send(
			// The latest group call beats properties.account_id.
			`{"type":"track","messageId":"p2","userId":"u1","event":"e","timestamp":"2024-05-01T10:00:00Z","properties":{"account_id":"propA"}}`,
			// context.groupId beats the group call.
			`{"type":"track","messageId":"c2","userId":"u1","event":"e","timestamp":"2024-05-01T10:00:00Z","context":{"groupId":"ctxB"}}`,
			// A user without a group call uses properties.
			`{"type":"track","messageId":"p3","userId":"u9","event":"e","timestamp":"2024-05-01T10:00:00Z","properties":{"account_id":"propC"}}`,
		)
		for id, want := range map[string]string{"p1": "propA", "c1": "ctxA", "p2": "grpA", "c2": "ctxB", "p3": "propC"} {
			if got := accountOf(t, db, id); got != want {
				t.Errorf("event %s: account %s, want %s", id, got, want)
			}
		}
		var name string
		if err := db.QueryRowContext(context.Background(), `SELECT name FROM accounts WHERE account_id = 'grpA'`).Scan(&name); err != nil || name != "Acme" {
			t.Errorf("account grpA name %q, %v; want Acme (created by the group call)", name, err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM accounts WHERE account_id = 'grpOld'`); n != 1 {
			t.Errorf("grpOld accounts = %d", n)
		}
		// Group calls themselves are not usage events.
		if n := count(t, db, `SELECT COUNT(*) FROM events`); n != 5 {
			t.Errorf("events = %d, want 5", n)
		}
	})
}

func TestUnknownAccountAttributedLater(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, ingest.Options{})
		send := func(calls ...string) {
			t.Helper()
			if status, resp, _ := e.post(t, "/v1/batch", e.key, []byte(`{"batch":[`+strings.Join(calls, ",")+`]}`)); status != 200 {
				t.Fatalf("%d %s", status, resp)
			}
		}
		send(
			`{"type":"track","messageId":"x1","userId":"u7","event":"Login","timestamp":"2024-05-01T10:00:00Z"}`,
			`{"type":"track","messageId":"x2","userId":"u7","event":"Login","timestamp":"2024-05-01T11:00:00Z"}`,
			`{"type":"page","messageId":"x3","userId":"u7","timestamp":"2024-05-02T11:00:00Z"}`,
			`{"type":"track","messageId":"x4","anonymousId":"anon","event":"Login","timestamp":"2024-05-02T11:00:00Z"}`,
		)
		if n := count(t, db, `SELECT COUNT(*) FROM events WHERE account_id IS NULL`); n != 4 {
			t.Fatalf("unattributed = %d, want 4", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM usage_daily`); n != 0 {
			t.Fatalf("rollups before attribution: %d rows", n)
		}
		group := `{"type":"group","messageId":"gx","userId":"u7","groupId":"acc7","timestamp":"2024-05-03T10:00:00Z","traits":{"name":"Seven"}}`
		send(group)
		send(group) // a repeated group call changes nothing
		send(`{"type":"group","messageId":"gy","userId":"u7","groupId":"acc7","timestamp":"2024-05-04T10:00:00Z"}`)
		send(`{"type":"track","messageId":"x5","userId":"u7","event":"Login","timestamp":"2024-05-01T12:00:00Z"}`)
		// Re-sending the early events does not count them again.
		send(`{"type":"track","messageId":"x1","userId":"u7","event":"Login","timestamp":"2024-05-01T10:00:00Z"}`)

		for _, id := range []string{"x1", "x2", "x3", "x5"} {
			if got := accountOf(t, db, id); got != "acc7" {
				t.Errorf("event %s: account %s, want acc7", id, got)
			}
		}
		if got := accountOf(t, db, "x4"); got != "<null>" {
			t.Errorf("anonymous event: account %s", got)
		}
		e.drain(t)
		// 2024-05-01 is day 19844.
		rows, err := db.QueryContext(context.Background(), `SELECT day, event, count FROM usage_daily WHERE account_id = 'acc7' ORDER BY day, event`)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var d, c int64
			var ev string
			rows.Scan(&d, &ev, &c)
			got = append(got, fmt.Sprintf("%d %s %d", d, ev, c))
		}
		rows.Close()
		if want := []string{"19844 Login 3", "19845 page 1"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("rollups = %v, want %v", got, want)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM usage_daily_users WHERE account_id = 'acc7' AND user_id = 'u7'`); n != 2 {
			t.Fatalf("user days = %d, want 2", n)
		}
	})
}

func TestQueueFull(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		block := make(chan struct{})
		first := true
		e := newEnv(t, db, ingest.Options{MaxQueued: 3, Linger: -1, OnCommit: func(int, int) {
			if first {
				first = false
				<-block
			}
		}})
		done := make(chan int)
		go func() {
			status, _, _ := e.post(t, "/v1/batch", e.key, []byte(`{"batch":[`+goodTrack+`,`+strings.Replace(goodTrack, "m-good", "m-2", 1)+`]}`))
			done <- status
		}()
		for e.queue.Depth() == 0 {
			time.Sleep(time.Millisecond)
		}
		body := `{"batch":[` + strings.Replace(goodTrack, "m-good", "m-3", 1) + `,` + strings.Replace(goodTrack, "m-good", "m-4", 1) + `]}`
		status, resp, hdr := e.post(t, "/v1/batch", e.key, []byte(body))
		if status != 429 || hdr.Get("Retry-After") == "" {
			t.Fatalf("full queue: %d %s (Retry-After %q); want 429 with Retry-After", status, resp, hdr.Get("Retry-After"))
		}
		close(block)
		if s := <-done; s != 200 {
			t.Fatalf("first request: %d", s)
		}
		if status, resp, _ := e.post(t, "/v1/batch", e.key, []byte(body)); status != 200 {
			t.Fatalf("after draining: %d %s", status, resp)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM events`); n != 4 {
			t.Fatalf("events = %d, want 4", n)
		}
	})
}

func TestSuccessBody(t *testing.T) {
	// Segment's libraries read {"success": true}; keep the exact shape.
	var v map[string]bool
	if err := json.Unmarshal([]byte(`{"success": true}`), &v); err != nil || !v["success"] {
		t.Fatal(err)
	}
}

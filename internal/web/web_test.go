package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/apikey"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

const (
	testEmail    = "csm@example.com"
	testPassword = "correct horse battery staple"
)

// syncBuffer is a log destination that the server's goroutines and the test
// may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a Server on a fresh database with one user, and its log.
type testServer struct {
	*Server
	db  *store.DB
	log *syncBuffer
}

func newTestServer(t *testing.T, db *store.DB) *testServer {
	t.Helper()
	if _, err := user.Create(context.Background(), db, testEmail, "Test CSM", user.RoleViewer, testPassword); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return &testServer{Server: New(db, log, Options{}), db: db, log: logs}
}

// request describes one request in a table of test cases.
type request struct {
	method string // GET when empty
	target string
	auth   bool   // send the test user's credentials
	user   string // or these, when set
	pass   string
	bearer string // or this API key
	header http.Header
	body   string // JSON unless contentType says otherwise
	ctype  string
	cookie *http.Cookie
}

func (s *testServer) do(t *testing.T, req request) *httptest.ResponseRecorder {
	t.Helper()
	method := req.method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r := httptest.NewRequest(method, req.target, body)
	if req.body != "" {
		ct := req.ctype
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	}
	for k, vs := range req.header {
		r.Header[k] = vs
	}
	switch {
	case req.user != "":
		r.SetBasicAuth(req.user, req.pass)
	case req.auth:
		r.SetBasicAuth(testEmail, testPassword)
	case req.bearer != "":
		r.Header.Set("Authorization", "Bearer "+req.bearer)
	}
	if req.cookie != nil {
		r.AddCookie(req.cookie)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// addUser stores a user with a role and no password (so no slow hash):
// tests act as it through an API key.
func addUser(t *testing.T, db *store.DB, email, role string) user.User {
	t.Helper()
	u := user.User{ID: store.NewID("u_"), Email: email, Role: role}
	if _, err := db.Exec(`INSERT INTO users (user_id, email, name, role, password_hash, recorded_at, updated_at)
		VALUES ($1, $2, '', $3, '', 0, 0)`, u.ID, u.Email, u.Role); err != nil {
		t.Fatal(err)
	}
	return u
}

// newKey creates an API key of scope for userID ("" for a service key) and returns its secret.
func newKey(t *testing.T, db *store.DB, scope apikey.Scope, userID string) string {
	t.Helper()
	_, secret, err := apikey.Create(context.Background(), db, "test "+string(scope), scope, userID)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// roleKeys are write keys of one user per role, and service keys of each scope.
type roleKeys struct {
	admin, manager, csm, viewer string // write keys of users with these roles
	read, write, ingest         string // service keys
}

func newRoleKeys(t *testing.T, db *store.DB) roleKeys {
	t.Helper()
	var k roleKeys
	for role, dst := range map[string]*string{user.RoleAdmin: &k.admin, user.RoleManager: &k.manager, user.RoleCSM: &k.csm, user.RoleViewer: &k.viewer} {
		*dst = newKey(t, db, apikey.ScopeWrite, addUser(t, db, role+"-key@example.com", role).ID)
	}
	k.read = newKey(t, db, apikey.ScopeRead, "")
	k.write = newKey(t, db, apikey.ScopeWrite, "")
	k.ingest = newKey(t, db, apikey.ScopeIngest, "")
	return k
}

// decode decodes a JSON response body into a T.
func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T from %q: %v", v, w.Body.String(), err)
	}
	return v
}

// checkProblem checks that w is a problem JSON response with status.
func checkProblem(t *testing.T, w *httptest.ResponseRecorder, status int) problem {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	p := decode[problem](t, w)
	if p.Status != status || p.Title != http.StatusText(status) || p.Type != "about:blank" || p.Detail == "" {
		t.Errorf("problem = %+v, want status %d with its title and a detail", p, status)
	}
	return p
}

func TestRun(t *testing.T) {
	db := storetest.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, db, "127.0.0.1:0", logs) }()

	// Run logs the URL it listens on; that is how the test learns the port.
	urlRE := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(5 * time.Second); base == ""; time.Sleep(10 * time.Millisecond) {
		if m := urlRE.FindStringSubmatch(logs.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no URL logged; log:\n%s", logs)
		}
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Fatalf("GET /healthz = %d %q", resp.StatusCode, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after Run returned")
	}
}

func TestRunBadAddress(t *testing.T) {
	db := storetest.SQLite(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Run(context.Background(), db, ln.Addr().String(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "listen on "+ln.Addr().String()) {
		t.Fatalf("Run on a busy address = %v, want a listen error naming it", err)
	}
}

// TestServeDrains checks that shutdown lets a request in flight finish.
func TestServeDrains(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, slog.New(slog.DiscardHandler)) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		t.Fatalf("serve returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if r := <-got; r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request = %q, %v; want it to finish", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve = %v", err)
	}
}

func TestListenURL(t *testing.T) {
	for _, tt := range []struct{ addr, want string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"[::]:8080", "http://localhost:8080"},
		{"0.0.0.0:80", "http://localhost:80"},
		{"[::1]:9000", "http://[::1]:9000"},
	} {
		a, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := listenURL(a); got != tt.want {
			t.Errorf("listenURL(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}

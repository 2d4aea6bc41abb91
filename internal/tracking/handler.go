package tracking

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kizuna-cs/kizuna/internal/apikey"
	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/telemetry"
)

// Paths lists the endpoints a [Handler] serves, all POST.
var Paths = []string{"/v1/batch", "/v1/track", "/v1/identify", "/v1/group", "/v1/page", "/v1/screen", "/v1/alias"}

// source labels this package's events in the metrics.
const source = "segment"

// keyCacheTTL is how long an authenticated write key is trusted without
// asking the database again: a revoked key stops working within it.
const keyCacheTTL = 10 * time.Second

// Handler serves the Segment HTTP Tracking API. The write key is the HTTP
// Basic user name (the password is ignored, Segment's libraries send none)
// and must be an API key of scope ingest: 401 without a valid one, 403 for
// a key of another scope. A request answers 200 {"success": true} only
// after its calls are durably stored; 400 names the first problem of a
// malformed payload, 413 a body over 500 KB or a call over 32 KB, 429 (with
// Retry-After) a full queue, 503 a server shutting down or a failed write.
type Handler struct {
	db      *store.DB
	queue   *ingest.Queue
	metrics *telemetry.Metrics
	log     *slog.Logger
	now     func() time.Time

	mu   sync.Mutex
	keys map[string]cachedKey // by secret hash
}

type cachedKey struct {
	scope   apikey.Scope
	expires time.Time
}

// NewHandler returns a handler that authenticates against db and writes
// through q. metrics and log may be nil.
func NewHandler(db *store.DB, q *ingest.Queue, metrics *telemetry.Metrics, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{db: db, queue: q, metrics: metrics, log: log, now: time.Now, keys: map[string]cachedKey{}}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ServeHTTP serves POST /v1/{batch,track,identify,group,page,screen,alias}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := strings.TrimPrefix(r.URL.Path, "/v1/")
	if kind != "batch" && !callTypes[kind] {
		writeError(w, http.StatusNotFound, "", "no such endpoint")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "", "use POST")
		return
	}
	if status, msg := h.authenticate(r); status != 0 {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="kizuna ingest", charset="UTF-8"`)
		}
		h.metrics.EventsRejected(source, "unauthorized", 1)
		writeError(w, status, "", msg)
		return
	}

	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 2*MaxRequest {
			bufPool.Put(buf)
		}
	}()
	if err := readBody(buf, w, r); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) || errors.Is(err, errTooLarge) {
			h.metrics.EventsRejected(source, "too_large", 1)
			writeError(w, http.StatusRequestEntityTooLarge, "", "the request body is larger than 500 KB (512000 bytes); send smaller batches")
			return
		}
		var be *Error
		if errors.As(err, &be) {
			h.metrics.EventsRejected(source, "invalid", 1)
			writeError(w, be.Status, be.Field, be.Reason)
			return
		}
		writeError(w, http.StatusBadRequest, "", "reading the body: "+err.Error())
		return
	}
	b, err := Decode(kind, buf.Bytes(), h.now())
	if err != nil {
		var be *Error
		if !errors.As(err, &be) {
			be = &Error{Status: 400, Reason: err.Error()}
		}
		reason := "invalid"
		if be.Status == http.StatusRequestEntityTooLarge {
			reason = "too_large"
		}
		h.metrics.EventsRejected(source, reason, 1)
		writeError(w, be.Status, be.Field, be.Reason)
		return
	}
	n := b.Len()
	if n == 0 { // alias calls, anonymous identifies
		writeSuccess(w)
		return
	}
	switch err := h.queue.Submit(r.Context(), b); {
	case err == nil:
		h.metrics.EventsAccepted(source, n)
		writeSuccess(w)
	case errors.Is(err, ingest.ErrFull):
		h.metrics.EventsRejected(source, "overloaded", n)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "", "the ingestion queue is full; retry after a second")
	case errors.Is(err, ingest.ErrClosed):
		h.metrics.EventsRejected(source, "shutting_down", n)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "", "the server is shutting down; retry shortly")
	case r.Context().Err() != nil:
		// The client went away; nobody reads an answer.
	default:
		h.log.Error("segment: write failed", "path", r.URL.Path, "calls", n, "err", err)
		h.metrics.EventsRejected(source, "error", n)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "", "the events could not be stored; retry later")
	}
}

var errTooLarge = errors.New("request body too large")

// readBody reads at most MaxRequest bytes of r's body (decompressed when
// Content-Encoding is gzip) into buf.
func readBody(buf *bytes.Buffer, w http.ResponseWriter, r *http.Request) error {
	var body io.Reader = http.MaxBytesReader(w, r.Body, MaxRequest)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return err
			}
			return &Error{Status: 400, Reason: "Content-Encoding gzip, but the body is not gzip: " + err.Error()}
		}
		defer zr.Close()
		body = io.LimitReader(zr, MaxRequest+1)
	default:
		return &Error{Status: 415, Reason: "Content-Encoding " + enc + " is not supported (gzip is)"}
	}
	if _, err := buf.ReadFrom(body); err != nil {
		return err
	}
	if buf.Len() > MaxRequest {
		return errTooLarge
	}
	return nil
}

// authenticate checks the write key: status 0 when it may ingest.
func (h *Handler) authenticate(r *http.Request) (int, string) {
	secret, _, ok := r.BasicAuth()
	if !ok || secret == "" {
		return http.StatusUnauthorized, "a write key is required: send it as the HTTP Basic user name"
	}
	hash := apikey.Hash(secret)
	now := h.now()
	h.mu.Lock()
	c, hit := h.keys[hash]
	h.mu.Unlock()
	if !hit || now.After(c.expires) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		k, err := apikey.Authenticate(ctx, h.db, secret)
		switch {
		case errors.Is(err, apikey.ErrInvalid) || errors.Is(err, apikey.ErrRevoked):
			h.mu.Lock()
			delete(h.keys, hash)
			h.mu.Unlock()
			return http.StatusUnauthorized, "the write key is not a valid API key"
		case err != nil:
			h.log.Error("segment: authenticate", "err", err)
			return http.StatusServiceUnavailable, "cannot check the write key now; retry later"
		}
		c = cachedKey{scope: k.Scope, expires: now.Add(keyCacheTTL)}
		h.mu.Lock()
		if len(h.keys) > 10_000 {
			clear(h.keys)
		}
		h.keys[hash] = c
		h.mu.Unlock()
	}
	if !c.scope.Permits(apikey.ScopeIngest) {
		return http.StatusForbidden, "this API key has scope " + string(c.scope) + "; the Segment endpoints need a key of scope ingest"
	}
	return 0, ""
}

var success = []byte(`{"success": true}` + "\n")

func writeSuccess(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(success)))
	w.WriteHeader(http.StatusOK)
	w.Write(success)
}

// writeError answers problem JSON (RFC 9457) as the rest of the API does,
// with Segment's "success": false for its clients and the offending field.
func writeError(w http.ResponseWriter, status int, field, reason string) {
	detail := reason
	if field != "" {
		detail = field + ": " + reason
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		Status  int    `json:"status"`
		Detail  string `json:"detail"`
		Field   string `json:"field,omitempty"`
		Success bool   `json:"success"`
	}{"about:blank", http.StatusText(status), status, detail, field, false})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

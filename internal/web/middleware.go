package web

import (
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// securityHeaders sets the headers every response carries. The policy suits
// JSON and plain text, which is all the server sends so far; HTML pages will
// set a Content-Security-Policy of their own over this one.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// observe logs one line per request (method, path, status, duration and
// size) and counts it in the metrics by route pattern. It logs neither the
// query string nor any header, so credentials never reach the log. The mux
// sets the pattern on the request it was given; nothing in between copies
// the request, so the pattern is there once the handler returns.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		// Deferred so that a request aborted by a panic is logged too.
		defer func() {
			d := time.Since(start)
			s.metrics.ObserveRequest(r.Method, r.Pattern, rec.statusCode(), d)
			level := slog.LevelInfo
			if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
				// Probes and scrapes come every few seconds and would drown everything else.
				level = slog.LevelDebug
			}
			s.log.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method),
				slog.String("path", loggedPath(r)),
				slog.Int("status", rec.statusCode()),
				slog.Duration("duration", d),
				slog.Int64("bytes", rec.bytes))
		}()
		next.ServeHTTP(rec, r)
	})
}

// recoverPanics turns a panic in a handler into a logged 500 problem, so one
// bad request neither kills the connection silently nor goes unnoticed.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := w.(*statusRecorder)
		if !ok {
			rec = &statusRecorder{ResponseWriter: w}
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // a deliberate abort; net/http handles it quietly
			}
			s.log.Error("panic serving request", "method", r.Method, "path", loggedPath(r),
				"panic", v, "stack", string(debug.Stack()))
			if rec.wroteHeader() {
				// Too late for a 500: abort the connection, so the client sees a
				// truncated response rather than one that looks complete.
				panic(http.ErrAbortHandler)
			}
			writeProblem(rec, http.StatusInternalServerError, "internal error; the server log has the details")
		}()
		next.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (r *statusRecorder) WriteHeader(code int) {
	// 1xx responses (103 Early Hints) precede the real one.
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer (to
// flush, or to extend a deadline for a long export).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) wroteHeader() bool { return r.code != 0 }

// statusCode is the status sent, 200 when the handler wrote nothing (as
// net/http then sends), 0 never.
func (r *statusRecorder) statusCode() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// minGzip is the smallest body worth compressing: below it the gzip
// header and the CPU cost more than the bytes saved.
const minGzip = 1024

var gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}

// compress gzips text responses (HTML, CSS, JavaScript, SVG, JSON, CSV)
// of at least minGzip bytes for clients that accept it. It leaves alone a
// HEAD, a range request (whose byte ranges name the uncompressed file), a
// response that already has a Content-Encoding, and any other type.
func compress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if r.Method == http.MethodHead || r.Header.Get("Range") != "" || !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w}
		defer gw.finish()
		next.ServeHTTP(gw, r)
	})
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (or
// *) with a q-value above 0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		return q > 0
	}
	return false
}

// compressible reports whether a Content-Type is text that gzip shrinks.
func compressible(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case strings.HasPrefix(mt, "text/"), strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/javascript", "application/xml", "application/x-ndjson":
		return true
	}
	return false
}

// gzipWriter holds the first minGzip bytes of a response to decide
// whether to compress it, then writes through a gzip.Writer or straight on.
type gzipWriter struct {
	http.ResponseWriter
	status  int
	buf     []byte
	decided bool
	gz      *gzip.Writer
}

func (w *gzipWriter) WriteHeader(code int) {
	if code < 200 || w.decided {
		w.ResponseWriter.WriteHeader(code) // 1xx go out at once; a second status is net/http's to refuse
		return
	}
	if w.status == 0 {
		w.status = code
	}
}

func (w *gzipWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !w.decided {
		w.buf = append(w.buf, p...)
		if len(w.buf) < minGzip {
			return len(p), nil
		}
		if err := w.decide(false); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if w.gz != nil {
		return w.gz.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

// decide sends the header, compressed if the body is of a compressible
// type and either the bytes held so far are enough or stream says the
// response is streamed, and the held bytes after it.
func (w *gzipWriter) decide(stream bool) error {
	w.decided = true
	h := w.Header()
	if h.Get("Content-Type") == "" && len(w.buf) > 0 {
		h.Set("Content-Type", http.DetectContentType(w.buf)) // what net/http would sniff
	}
	if (stream || len(w.buf) >= minGzip) && h.Get("Content-Encoding") == "" && compressible(h.Get("Content-Type")) &&
		w.status != http.StatusNoContent && w.status != http.StatusNotModified {
		h.Set("Content-Encoding", "gzip")
		h.Del("Content-Length")
		w.gz = gzipPool.Get().(*gzip.Writer)
		w.gz.Reset(w.ResponseWriter)
	}
	w.ResponseWriter.WriteHeader(w.status)
	buf := w.buf
	w.buf = nil
	if len(buf) == 0 {
		return nil
	}
	var err error
	if w.gz != nil {
		_, err = w.gz.Write(buf)
	} else {
		_, err = w.ResponseWriter.Write(buf)
	}
	return err
}

// Flush sends what is held (compressing a streamed response of a
// compressible type however short so far) and flushes the connection.
func (w *gzipWriter) Flush() {
	if !w.decided {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		w.decide(true)
	}
	if w.gz != nil {
		w.gz.Flush()
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// finish writes what is still held and ends the gzip stream.
func (w *gzipWriter) finish() {
	if !w.decided && w.status != 0 {
		w.decide(false)
	}
	if w.gz != nil {
		w.gz.Close()
		w.gz.Reset(io.Discard)
		gzipPool.Put(w.gz)
		w.gz = nil
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *gzipWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

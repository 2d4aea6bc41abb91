package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// problem is an error response body as RFC 9457 (application/problem+json)
// defines it, for the routes outside huma (probes, /metrics, /login, and
// the mux's own 404 and 405). It has the shape huma's ErrorModel has under
// /api/v1 (see newProblem), so clients see one kind of error.
type problem struct {
	Type   string        `json:"type"`
	Title  string        `json:"title"`
	Status int           `json:"status"`
	Detail string        `json:"detail,omitempty"`
	Errors []errorDetail `json:"errors,omitempty"`
}

// errorDetail names one bad part of a request, such as a query parameter.
type errorDetail struct {
	Message  string `json:"message"`
	Location string `json:"location"` // "query.limit", "path.account_id"
	Value    any    `json:"value,omitempty"`
}

// writeProblem writes an error response. Its type is about:blank, so, as
// RFC 9457 asks, the title is the status's reason phrase and the detail
// says what went wrong with this request.
func writeProblem(w http.ResponseWriter, status int, detail string, errs ...errorDetail) {
	body, _ := json.Marshal(problem{ // nothing in a problem can fail to encode
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Errors: errs,
	})
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	// A handler that failed halfway may have set these for the body it meant to send.
	h.Del("Content-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// serverError logs err and answers 500 without its details, which may name
// tables, hosts or data the client should not see.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	level := slog.LevelError
	if r.Context().Err() != nil {
		// The client went away or the server is stopping; not a fault.
		level = slog.LevelInfo
	}
	s.log.Log(r.Context(), level, "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeProblem(w, http.StatusInternalServerError, internalDetail)
}

// validText reports whether s is text a database can store and compare:
// UTF-8 without NUL bytes (PostgreSQL rejects both with an error).
func validText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

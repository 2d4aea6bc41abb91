package web

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
)

// problem is an error response body as RFC 9457 (application/problem+json)
// defines it. The errors member has the shape huma's ErrorDetail gives it,
// so clients keep working when the API moves to huma.
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
	Value    string `json:"value"`
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

// writeBadParam answers 400 for an invalid query parameter, naming it.
func writeBadParam(w http.ResponseWriter, name, value, message string) {
	writeProblem(w, http.StatusBadRequest, "query parameter "+name+": "+message,
		errorDetail{Message: message, Location: "query." + name, Value: value})
}

// writeJSON writes v as a JSON response with status.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	// Encode first, so that a value that cannot be encoded gives a clean 500
	// rather than half a body after a 200.
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		s.serverError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
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
	writeProblem(w, http.StatusInternalServerError, "internal error; the server log has the details")
}

package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/kizuna-cs/kizuna/internal/apikey"
	"github.com/kizuna-cs/kizuna/internal/csvimport"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// apiPrefix starts every JSON API path. Paths in the OpenAPI document are
// written out in full, as the README and CONTRACT.md write them.
const apiPrefix = "/api/v1"

// Body limits. A request over its limit is answered 413 before anything is
// parsed or written.
const (
	maxJSONBody = 1 << 20   // 1 MiB: one record, or one filter
	maxBulkBody = 16 << 20  // 16 MiB: 5,000 records of a few KB each
	maxCSVBody  = 100 << 20 // 100 MiB: a large export; bigger files go through `kizuna import`
	// maxBulkRecords is how many records one bulk call may carry: enough to
	// move data quickly, few enough that one all-or-nothing transaction stays
	// short and its error report readable.
	maxBulkRecords = 5000
	// maxErrorValue is how much of a bad value an error echoes back.
	maxErrorValue = 200
)

// Operation metadata keys, read by the middleware that authorises requests.
const (
	metaNeed = "kizuna.need" // a need: who may call the operation
	metaKeys = "kizuna.keys" // []string: the path parameters naming one record
)

func init() {
	// huma builds every error response through this hook. Kizuna's errors
	// keep the shape web/problem.go gives the routes outside huma: RFC 9457
	// problem details with type about:blank.
	huma.NewError = newProblem
}

// newProblem is Kizuna's huma error constructor.
//
//   - Errors about query parameters or headers alone are 400, not huma's
//     422: the request is malformed, not its content (and that is what the
//     API answered before it moved to huma).
//   - Server errors carry no details: they may name tables, hosts or data.
//   - Echoed values are shortened, so a bad 16 MiB body is not sent back.
//   - With a single error, the detail names it, for people reading logs.
func newProblem(status int, msg string, errs ...error) huma.StatusError {
	details := make([]*huma.ErrorDetail, 0, len(errs))
	params := len(errs) > 0
	for _, e := range errs {
		if e == nil {
			continue
		}
		var d *huma.ErrorDetail
		if ed, ok := e.(huma.ErrorDetailer); ok {
			c := *ed.ErrorDetail() // a copy: huma may reuse the original
			d = &c
		} else {
			d = &huma.ErrorDetail{Message: e.Error()}
		}
		if s, ok := d.Value.(string); ok && len(s) > maxErrorValue {
			cut := maxErrorValue
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			d.Value = s[:cut] + "…"
		}
		params = params && (strings.HasPrefix(d.Location, "query.") || strings.HasPrefix(d.Location, "header."))
		details = append(details, d)
	}
	if status >= http.StatusInternalServerError {
		details = nil
	}
	if status == http.StatusUnprocessableEntity && params {
		status = http.StatusBadRequest
	}
	if len(details) == 1 && details[0].Location != "" {
		msg = fmt.Sprintf("%s: %s: %s", msg, details[0].Location, details[0].Message)
	}
	if len(details) == 0 {
		details = nil
	}
	return &huma.ErrorModel{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: msg,
		Errors: details,
	}
}

// schemaNamer names schemas after their Go types, but clearer where a
// type's name says too little out of its package.
func schemaNamer(t reflect.Type, hint string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[survey.Response]():
		return "SurveyResponse"
	case reflect.TypeFor[apikey.Key]():
		return "APIKey"
	case reflect.TypeFor[csvimport.Result]():
		return "ImportResult"
	case reflect.TypeFor[rule.Error]():
		return "RuleError"
	}
	return huma.DefaultSchemaNamer(t, hint)
}

// newAPI returns the huma API serving /api/v1 on mux. Its configuration is
// built by hand rather than from huma.DefaultConfig, which would add the
// documentation page (loaded from a CDN, which Kizuna never uses), a schema
// route, and `$schema` members and Link headers in every response.
func newAPI(mux *http.ServeMux) huma.API {
	registry := huma.NewMapRegistry("#/components/schemas/", schemaNamer)
	cfg := huma.Config{
		OpenAPI: &huma.OpenAPI{
			OpenAPI: "3.1.0",
			Info: &huma.Info{
				Title:   "Kizuna API",
				Version: "1",
				Description: "The JSON API of Kizuna, the open-source customer success platform. " +
					"Authenticate with an API key (`Authorization: Bearer kz_…`), HTTP Basic (a user's email and " +
					"password), or a session cookie from POST /login. Errors are RFC 9457 problem details " +
					"(`application/problem+json`). Lists are paged with cursors: pass a page's `next_cursor` as " +
					"`after` to get the next one.",
			},
			Components: &huma.Components{
				Schemas: registry,
				SecuritySchemes: map[string]*huma.SecurityScheme{
					"apiKey": {Type: "http", Scheme: "bearer", BearerFormat: "kz_…",
						Description: "An API key (`kizuna apikey create`). Read keys may only GET; write keys may also change data."},
					"basic": {Type: "http", Scheme: "basic",
						Description: "A user's email and password. Prefer API keys for scripts."},
					"session": {Type: "apiKey", In: "cookie", Name: "kizuna_session",
						Description: "The session cookie set by POST /login (the UI)."},
				},
			},
			Security: []map[string][]string{{"apiKey": {}}, {"basic": {}}, {"session": {}}},
		},
		Formats:       huma.DefaultFormats,
		DefaultFormat: "application/json",
	}
	return humago.New(mux, cfg)
}

// serveOpenAPI serves the OpenAPI document. It is public: it holds no
// customer data, and tools fetch it before they have a key.
func serveOpenAPI(api huma.API) http.HandlerFunc {
	spec := sync.OnceValues(func() ([]byte, error) { return json.Marshal(api.OpenAPI()) })
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := spec()
		if err != nil {
			writeProblem(w, http.StatusInternalServerError, "cannot encode the OpenAPI document")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}
}

// register adds an operation to the API with who may call it. Every
// operation goes through here, so none can be added without an access rule.
func register[I, O any](api huma.API, n need, op huma.Operation, handler func(context.Context, *I) (*O, error)) {
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	op.Metadata[metaNeed] = n
	op.Path = apiPrefix + op.Path
	if op.MaxBodyBytes == 0 {
		op.MaxBodyBytes = maxJSONBody
	}
	// huma answers 413 when it has read exactly MaxBodyBytes; one more byte
	// lets a body of exactly the limit through.
	op.MaxBodyBytes++
	op.Description = strings.TrimSpace(op.Description + "\n\n" + n.doc())
	op.Errors = append(op.Errors, http.StatusUnauthorized, http.StatusForbidden)
	huma.Register(api, op, handler)
}

package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/csvimport"
	"github.com/kizuna-cs/kizuna/internal/jobs"
)

// importTimeout is how long a CSV upload may take to arrive and import; the
// server's own timeouts suit small JSON calls only.
const importTimeout = 15 * time.Minute

// importInput is POST /api/v1/imports/{kind}: a CSV file as the body, read
// as a stream (huma would buffer a body it parses) by the resolver.
type importInput struct {
	Kind           string   `path:"kind" enum:"accounts,contacts,subscriptions,events,tickets,responses,orders,costs,feedback" doc:"What the file holds; the columns of each are in the README."`
	SkipInvalid    bool     `query:"skip_invalid" doc:"Write the good rows and report the bad ones (default: all or nothing)."`
	CreateAccounts bool     `query:"create_accounts" doc:"Create accounts that rows refer to but that do not exist yet."`
	Map            []string `query:"map,explode" doc:"Rename source columns: SRC=DST, repeated or comma-separated; an empty DST drops the column."`
	File           string   `query:"file" maxLength:"255" doc:"The file's name, for error messages (default upload.csv)."`

	body io.ReadCloser
	w    http.ResponseWriter
}

// Resolve takes the request body as a stream (bounded by the handler) and
// gives the upload more time than the server gives other requests.
func (in *importInput) Resolve(ctx huma.Context) []error {
	r, w := humago.Unwrap(ctx)
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "text/csv" && mt != "application/csv" && mt != "text/plain") {
			return []error{huma.Error415UnsupportedMediaType("send the file as text/csv, not " + ct)}
		}
	}
	rc := http.NewResponseController(w)
	// Errors mean the writer cannot extend deadlines (a test recorder); the
	// server's defaults then stand.
	rc.SetReadDeadline(time.Now().Add(importTimeout))
	rc.SetWriteDeadline(time.Now().Add(importTimeout))
	in.body = r.Body
	in.w = w
	return nil
}

type importOutput struct {
	Body *csvimport.Result
}

// importProblem is the 422 answer to a file with invalid rows: a problem
// document whose other members are the import's result, as
// `kizuna import --format json` prints it (its errors are the rows').
type importProblem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	*csvimport.Result
}

func (p *importProblem) Error() string { return p.Detail }

// GetStatus makes importProblem a huma.StatusError.
func (p *importProblem) GetStatus() int { return p.Status }

// ContentType makes it a problem document.
func (p *importProblem) ContentType(string) string { return "application/problem+json" }

func registerImports(s *Server, api huma.API) {
	path := "/imports/{kind}"
	register(api, needWrite, huma.Operation{
		OperationID: "import-csv", Method: http.MethodPost, Path: path, Tags: []string{"Imports"},
		Summary: "Import a CSV file",
		Description: "The same import as `kizuna import KIND FILE`: a UTF-8 CSV file with a header row as the body " +
			"(text/csv, at most 100 MB), upserted by id in one transaction. Answers the import's result: 200 when it was " +
			"written (with skip_invalid, also when bad rows were skipped; they are listed), 422 (a problem document " +
			"carrying the same result) when rows are invalid and nothing was written. One audit entry per import, " +
			"with the counts.",
		RequestBody: &huma.RequestBody{Required: true, Description: "The CSV file.",
			Content: map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: huma.TypeString}}}},
		Errors: []int{http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
	}, func(ctx context.Context, in *importInput) (*importOutput, error) {
		return s.importCSV(ctx, in)
	})
	// The 422 of this operation is the result, not huma's error model.
	registry := api.OpenAPI().Components.Schemas
	if item := api.OpenAPI().Paths[apiPrefix+path]; item != nil && item.Post != nil {
		item.Post.Responses["422"] = &huma.Response{
			Description: "Rows are invalid; nothing was written.",
			Content: map[string]*huma.MediaType{"application/problem+json": {
				Schema: registry.Schema(reflect.TypeFor[importProblem](), true, "ImportProblem")}},
		}
	}
}

func (s *Server) importCSV(ctx context.Context, in *importInput) (*importOutput, error) {
	mapping := map[string]string{}
	for _, m := range in.Map {
		for pair := range strings.SplitSeq(m, ",") {
			src, dst, ok := strings.Cut(pair, "=")
			if !ok || strings.TrimSpace(src) == "" {
				return nil, huma.Error400BadRequest(fmt.Sprintf("query parameter map: %q: want SRC=DST", pair),
					&huma.ErrorDetail{Message: "want SRC=DST", Location: "query.map", Value: pair})
			}
			mapping[strings.TrimSpace(src)] = strings.TrimSpace(dst)
		}
	}
	file := in.File
	if file == "" {
		file = "upload.csv"
	}
	body := http.MaxBytesReader(in.w, in.body, s.csvLimit)
	res, err := csvimport.Import(ctx, s.db, in.Kind, file, body,
		csvimport.Options{SkipInvalid: in.SkipInvalid, CreateAccounts: in.CreateAccounts, Map: mapping})
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, huma.Error413RequestEntityTooLarge(fmt.Sprintf(
			"the file is larger than %d MB; nothing was written (import larger files with kizuna import)", s.csvLimit>>20))
	case errors.Is(err, csvimport.ErrInvalid) && res != nil && !res.Committed:
		return nil, &importProblem{Type: "about:blank", Title: http.StatusText(http.StatusUnprocessableEntity),
			Status: http.StatusUnprocessableEntity, Result: res,
			Detail: fmt.Sprintf("%s: %d of %d rows invalid; nothing was written", res.File, res.Invalid, res.Rows)}
	case err != nil && !errors.Is(err, csvimport.ErrInvalid):
		return nil, s.internal(ctx, err)
	}
	if err := audit.RecordImport(ctx, s.db, principalFrom(ctx).actor, res); err != nil {
		return nil, s.internal(ctx, err)
	}
	if res.Changed() {
		jobs.ChangedAll(ctx)
	}
	return &importOutput{Body: res}, nil
}

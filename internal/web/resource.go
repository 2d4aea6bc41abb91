package web

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/support"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// resource describes a kind of record that the API serves with the same
// operations: GET one, PUT (create or replace), PATCH (JSON merge patch,
// creating the record when the result is complete), DELETE, and a bulk
// upsert of up to 5,000 records. Each resource's file fills one in; this
// file holds what they share, so that every resource validates, writes and
// audits the same way.
//
// R is the record as its domain package returns it, F its writable fields
// (the body of PUT, without the key), O what the API returns for a record,
// B one record of a bulk call (the key's fields and F's).
type resource[R, F, O, B any] struct {
	plural  string   // the path segment, "tickets"
	object  string   // for messages and the audit log's object_type, "ticket"
	keys    []string // the path parameters naming one record, "ticket_id"
	keyDocs []string // their descriptions
	tag     string   // the OpenAPI tag
	write   need     // who may change records

	// normKey checks a key's syntax and returns it in canonical form (a
	// date in the key becomes RFC 3339); nil when any text will do.
	normKey func(key []string) ([]string, error)
	// load returns the stored record with this key, or an error for which
	// isNotFound is true.
	load func(ctx context.Context, q store.Querier, key []string) (R, error)
	// fields returns the writable fields of a stored record, formatted as
	// check formats them: PATCH merges onto them, and a PUT of what is stored
	// changes nothing.
	fields func(r R) F
	// check validates f beyond its schema (dates, references, ranges),
	// reporting problems through c, and may normalise f (canonical dates,
	// defaults).
	check func(ctx context.Context, c *checker, key []string, f *F)
	// save writes f as the record with this key. A *fieldError is a problem
	// with the request, reported like check's.
	save func(ctx context.Context, q store.Querier, key []string, f F) error
	// remove deletes the record with this key, or returns a not-found error.
	remove func(ctx context.Context, q store.Querier, key []string) error
	// present turns a stored record into the API's JSON.
	present func(ctx context.Context, q store.Querier, r R) (O, error)
	// split returns a bulk record's key and fields.
	split func(b B) ([]string, F)
	// definesAccounts is true for accounts: in a bulk call, an account may
	// name another of the same call as its parent.
	definesAccounts bool
}

// fieldError is a problem with one field of a record that only writing it
// revealed (a subscription period overlapping a stored one).
type fieldError struct{ field, message string }

func (e *fieldError) Error() string { return e.field + ": " + e.message }

// isNotFound reports whether err says that a record does not exist. Each
// domain package has its own sentinel.
func isNotFound(err error) bool {
	return errors.Is(err, account.ErrNotFound) || errors.Is(err, billing.ErrNotFound) ||
		errors.Is(err, support.ErrNotFound) || errors.Is(err, survey.ErrNotFound)
}

// checker collects the problems of one request's records, with their
// locations, and answers the questions checks ask of the database, once
// per question.
type checker struct {
	q        store.Querier
	p        *principal
	keys     []string // the resource's key fields: located in the path of a single-record request
	body     string   // location prefix of fields: "body." or "body.records[3]."
	path     string   // location prefix of key fields: "path." or, in bulk, the body's
	problems []*huma.ErrorDetail
	accounts map[string]bool
	err      error // a failure of the database: answer 500
}

func newChecker(q store.Querier, p *principal, keys []string) *checker {
	return &checker{q: q, p: p, keys: keys, body: "body.", path: "path.", accounts: map[string]bool{}}
}

// at makes the checker locate problems in bulk record i.
func (c *checker) at(i int) {
	c.body = "body.records[" + strconv.Itoa(i) + "]."
	c.path = c.body
}

// fail records a problem with field (a JSON name of the record).
func (c *checker) fail(field string, value any, format string, args ...any) {
	loc := c.body + field
	for _, k := range c.keys {
		if k == field {
			loc = c.path + field
		}
	}
	c.problems = append(c.problems, &huma.ErrorDetail{Message: fmt.Sprintf(format, args...), Location: loc, Value: value})
}

// account reports whether an account exists, asking the database once per id.
func (c *checker) account(ctx context.Context, id string) bool {
	if known, ok := c.accounts[id]; ok || c.err != nil {
		return known
	}
	found, err := account.Existing(ctx, c.q, []string{id})
	if err != nil {
		c.err = err
		return false
	}
	c.accounts[id] = found[id]
	return found[id]
}

// requireAccount fails field unless id names an account.
func (c *checker) requireAccount(ctx context.Context, field, id string) {
	if id != "" && !c.account(ctx, id) {
		c.fail(field, id, "unknown account %q (create it first)", id)
	}
}

// prefetchAccounts learns which of ids exist in one query per thousand, for bulk calls.
func (c *checker) prefetchAccounts(ctx context.Context, ids []string) {
	var ask []string
	for _, id := range ids {
		if _, ok := c.accounts[id]; !ok && id != "" {
			ask = append(ask, id)
			c.accounts[id] = false
		}
	}
	found, err := account.Existing(ctx, c.q, ask)
	if err != nil {
		c.err = err
		return
	}
	for id := range found {
		c.accounts[id] = true
	}
}

// Dates outside these years are almost always typos, as the CSV import says.
const (
	minYear = 1900
	maxYear = 2200
)

// parseTime reads an ISO 8601 date (00:00 UTC) or date-time with offset.
func parseTime(s string) (time.Time, error) {
	t, err := account.ParseDate(strings.TrimSpace(s))
	if err != nil {
		return t, errors.New("not a date (want YYYY-MM-DD or an RFC 3339 date-time such as 2024-05-01T09:30:00+09:00)")
	}
	if y := t.Year(); y < minYear || y > maxYear {
		return t, fmt.Errorf("out of range (years %d to %d)", minYear, maxYear)
	}
	return t.UTC().Truncate(time.Second), nil
}

// formatTime is how times are written back: RFC 3339 in UTC.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return formatTime(*t)
}

// time parses *v, a date field, into canonical form; ok is false when it is
// empty or bad (bad is reported, and so is empty when required).
func (c *checker) time(field string, v *string, required bool) (t time.Time, ok bool) {
	if strings.TrimSpace(*v) == "" {
		*v = ""
		if required {
			c.fail(field, nil, "required")
		}
		return t, false
	}
	t, err := parseTime(*v)
	if err != nil {
		c.fail(field, *v, "%v", err)
		return t, false
	}
	*v = formatTime(t)
	return t, true
}

// required checks that a required text field is not blank.
func (c *checker) required(field, v string) {
	if strings.TrimSpace(v) == "" {
		c.fail(field, v, "required")
	}
}

// sameJSON reports whether a and b encode to the same JSON.
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// change is what writing a record did.
type change int

const (
	unchanged change = iota
	created
	updated
)

// apply validates f and, unless the record is stored as it is, writes it
// and records the change in the audit log, all in tx. Problems with f are
// left in c, and then nothing is written.
func (rs *resource[R, F, O, B]) apply(ctx context.Context, tx store.Querier, c *checker, key []string, f F) (R, change, error) {
	var zero R
	before, err := rs.load(ctx, tx, key)
	exists := err == nil
	if err != nil && !isNotFound(err) {
		return zero, unchanged, err
	}
	n := len(c.problems)
	rs.check(ctx, c, key, &f)
	if c.err != nil {
		return zero, unchanged, c.err
	}
	if len(c.problems) > n {
		return zero, unchanged, nil
	}
	if exists && sameJSON(rs.fields(before), f) {
		return before, unchanged, nil // as import does: no write, not even updated_at
	}
	if err := rs.save(ctx, tx, key, f); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			c.fail(fe.field, nil, "%s", fe.message)
			return zero, unchanged, nil
		}
		return zero, unchanged, err
	}
	after, err := rs.load(ctx, tx, key)
	if err != nil {
		return zero, unchanged, fmt.Errorf("read back %s %s: %w", rs.object, strings.Join(key, "/"), err)
	}
	if !exists {
		return after, created, audit.Record(ctx, tx, c.p.actor, audit.ActionCreate, rs.object, objectID(key), nil, after)
	}
	if sameJSON(rs.fields(before), rs.fields(after)) {
		return after, unchanged, nil
	}
	return after, updated, audit.Record(ctx, tx, c.p.actor, audit.ActionUpdate, rs.object, objectID(key), before, after)
}

// objectID is how the audit log names a record: its key, joined by "/".
func objectID(key []string) string { return strings.Join(key, "/") }

// problems is the 422 answer for problems found in a request's records.
func problems(ps []*huma.ErrorDetail) error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	msg := "invalid record; nothing was written"
	if len(ps) > 1 {
		msg = fmt.Sprintf("%d problems; nothing was written", len(ps))
	}
	return huma.Error422UnprocessableEntity(msg, errs...)
}

// The inputs and outputs of the shared operations. Their path parameters
// differ by resource, so they are read by a resolver, using the names the
// operation's metadata lists, rather than declared with struct tags; the
// parameters are declared in the OpenAPI document by pathParams.

// keyInput is a request naming one record.
type keyInput struct{ key []string }

// Resolve reads the key from the path.
func (in *keyInput) Resolve(ctx huma.Context) []error {
	in.key = pathKey(ctx)
	return nil
}

func pathKey(ctx huma.Context) []string {
	names, _ := ctx.Operation().Metadata[metaKeys].([]string)
	key := make([]string, len(names))
	for i, n := range names {
		key[i] = ctx.Param(n)
	}
	return key
}

// putInput is a PUT: the key and the record's fields.
type putInput[F any] struct {
	key  []string
	Body F
}

// Resolve reads the key from the path.
func (in *putInput[F]) Resolve(ctx huma.Context) []error {
	in.key = pathKey(ctx)
	return nil
}

// patchInput is a PATCH: the key and a JSON merge patch (RFC 7396).
type patchInput struct {
	key  []string
	Body map[string]any `contentType:"application/merge-patch+json"`
}

// Resolve reads the key from the path.
func (in *patchInput) Resolve(ctx huma.Context) []error {
	in.key = pathKey(ctx)
	return nil
}

// recordOutput is one record: 200, or 201 when it was created.
type recordOutput[O any] struct {
	Status int
	Body   O
}

// bulkInput is a bulk upsert.
type bulkInput[B any] struct {
	Body bulkBody[B]
}

type bulkBody[B any] struct {
	Records []B `json:"records" minItems:"1" doc:"The records to create or replace, at most 5,000. All are written or none: if any is invalid, the answer (422) lists every problem by index and field, and nothing is written."`
}

// bulkOutput says what a bulk upsert did.
type bulkOutput struct {
	Body bulkResult
}

type bulkResult struct {
	Records   int `json:"records" doc:"Records received."`
	Created   int `json:"created" doc:"Records that did not exist."`
	Updated   int `json:"updated" doc:"Records that existed and changed."`
	Unchanged int `json:"unchanged" doc:"Records already stored as sent."`
}

// pathParams declares the key's path parameters in the OpenAPI document.
func (rs *resource[R, F, O, B]) pathParams() []*huma.Param {
	ps := make([]*huma.Param, len(rs.keys))
	for i, k := range rs.keys {
		ps[i] = &huma.Param{Name: k, In: "path", Required: true, Description: rs.keyDocs[i], Schema: &huma.Schema{Type: huma.TypeString}}
	}
	return ps
}

// recordPath is the path of one record, "/tickets/{ticket_id}".
func (rs *resource[R, F, O, B]) recordPath() string {
	p := "/" + rs.plural
	for _, k := range rs.keys {
		p += "/{" + k + "}"
	}
	return p
}

// key checks the key of a single-record request: a key that cannot exist
// is 404 (a database could not even compare it), a malformed date 400.
func (rs *resource[R, F, O, B]) key(key []string) ([]string, error) {
	for i, k := range key {
		if !validText(k) || k == "" {
			return nil, huma.Error404NotFound(fmt.Sprintf("no %s with this %s", rs.object, rs.keys[i]))
		}
	}
	if rs.normKey == nil {
		return key, nil
	}
	norm, err := rs.normKey(key)
	if err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return nil, huma.Error400BadRequest("path parameter "+fe.field+": "+fe.message,
				&huma.ErrorDetail{Message: fe.message, Location: "path." + fe.field})
		}
		return nil, err
	}
	return norm, nil
}

func (rs *resource[R, F, O, B]) notFound(key []string) error {
	return huma.Error404NotFound(fmt.Sprintf("no %s %s", rs.object, strconv.Quote(objectID(key))))
}

// registerRecord adds GET, PUT, PATCH and DELETE of one record and the bulk upsert.
func (rs *resource[R, F, O, B]) registerRecord(s *Server, api huma.API) {
	path := rs.recordPath()
	meta := func() map[string]any { return map[string]any{metaKeys: rs.keys} }

	register(api, needRead, huma.Operation{
		OperationID: "get-" + rs.object, Method: http.MethodGet, Path: path, Tags: []string{rs.tag},
		Summary: "Get one " + rs.object, Parameters: rs.pathParams(), Metadata: meta(), Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *keyInput) (*recordOutput[O], error) {
		key, err := rs.key(in.key)
		if err != nil {
			return nil, err
		}
		r, err := rs.load(ctx, s.db, key)
		if isNotFound(err) {
			return nil, rs.notFound(key)
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		o, err := rs.present(ctx, s.db, r)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &recordOutput[O]{Status: http.StatusOK, Body: o}, nil
	})

	register(api, rs.write, huma.Operation{
		OperationID: "put-" + rs.object, Method: http.MethodPut, Path: path, Tags: []string{rs.tag},
		Summary:     "Create or replace one " + rs.object,
		Description: "Stores the " + rs.object + " exactly as sent: fields left out are cleared. Answers 201 when it was created.",
		Parameters:  rs.pathParams(), Metadata: meta(), DefaultStatus: http.StatusOK,
	}, func(ctx context.Context, in *putInput[F]) (*recordOutput[O], error) {
		key, err := rs.key(in.key)
		if err != nil {
			return nil, err
		}
		return rs.upsert(ctx, s, key, in.Body)
	})

	register(api, rs.write, huma.Operation{
		OperationID: "patch-" + rs.object, Method: http.MethodPatch, Path: path, Tags: []string{rs.tag},
		Summary: "Change some fields of one " + rs.object,
		Description: "A JSON merge patch (RFC 7396): fields sent replace the stored ones, null clears one, fields left out stay. " +
			"The body is the PUT body with every field optional. When the " + rs.object + " does not exist, it is created " +
			"if the patch holds every required field (201).",
		Parameters: rs.pathParams(), Metadata: meta(), DefaultStatus: http.StatusOK,
	}, func(ctx context.Context, in *patchInput) (*recordOutput[O], error) {
		key, err := rs.key(in.key)
		if err != nil {
			return nil, err
		}
		return rs.patch(ctx, s, api, key, in.Body)
	})

	rs.documentUpserts(api, path)

	register(api, rs.write, huma.Operation{
		OperationID: "delete-" + rs.object, Method: http.MethodDelete, Path: path, Tags: []string{rs.tag},
		Summary: "Delete one " + rs.object, Parameters: rs.pathParams(), Metadata: meta(),
		DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *keyInput) (*struct{}, error) {
		key, err := rs.key(in.key)
		if err != nil {
			return nil, err
		}
		var touched []string
		err = s.deleteRecorded(ctx, rs.object, objectID(key),
			func(tx *sql.Tx) (any, error) {
				before, err := rs.load(ctx, tx, key)
				if err == nil {
					touched = rs.touched(key, rs.fields(before))
				}
				return before, err
			},
			func(tx *sql.Tx) error { return rs.remove(ctx, tx, key) })
		if isNotFound(err) {
			return nil, rs.notFound(key)
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		// The record fed its account's snapshot (a deleted account's own
		// rows are gone with it; its parent's are not).
		jobs.Changed(ctx, touched)
		return nil, nil
	})

	register(api, rs.write, huma.Operation{
		OperationID: "bulk-" + rs.plural, Method: http.MethodPost, Path: "/" + rs.plural + "/bulk", Tags: []string{rs.tag},
		Summary: "Create or replace many " + rs.plural,
		Description: fmt.Sprintf("Up to %d records a call (more is 413), all or nothing: if any record is invalid, the answer "+
			"(422) names each problem by index and field (`body.records[3].account_id`) and nothing is written. "+
			"Each record is stored as PUT stores it, and each change is in the audit log.", maxBulkRecords),
		MaxBodyBytes: maxBulkBody, BodyReadTimeout: time.Minute,
		Errors: []int{http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *bulkInput[B]) (*bulkOutput, error) {
		return rs.bulk(ctx, s, in.Body.Records)
	})
}

// bulkKey checks the key of bulk record i, reporting problems through c.
func (rs *resource[R, F, O, B]) bulkKey(c *checker, key []string) ([]string, bool) {
	for i, k := range key {
		if strings.TrimSpace(k) == "" {
			c.fail(rs.keys[i], k, "required")
			return nil, false
		}
	}
	if rs.normKey == nil {
		return key, true
	}
	norm, err := rs.normKey(key)
	if err != nil {
		var fe *fieldError
		if !errors.As(err, &fe) {
			fe = &fieldError{field: rs.keys[0], message: err.Error()}
		}
		c.fail(fe.field, nil, "%s", fe.message)
		return nil, false
	}
	return norm, true
}

// documentUpserts adds to the OpenAPI document what huma cannot derive:
// PUT and PATCH answer 201 when they create the record, and a PATCH body
// holds the PUT body's fields.
func (rs *resource[R, F, O, B]) documentUpserts(api huma.API, path string) {
	item := api.OpenAPI().Paths[apiPrefix+path]
	if item == nil || item.Put == nil || item.Patch == nil {
		return
	}
	fieldsName := schemaNamer(reflect.TypeFor[F](), "")
	for _, op := range []*huma.Operation{item.Put, item.Patch} {
		if ok := op.Responses["200"]; ok != nil {
			created := *ok
			created.Description = "Created"
			op.Responses["201"] = &created
		}
	}
	if mt := item.Patch.RequestBody.Content["application/merge-patch+json"]; mt != nil && mt.Schema != nil {
		mt.Schema.Description = "Any of the fields of " + fieldsName + " (the PUT body), each optional; null clears one."
	}
}

// upsert is PUT: it stores f as the record key.
func (rs *resource[R, F, O, B]) upsert(ctx context.Context, s *Server, key []string, f F) (*recordOutput[O], error) {
	if loc, ok := nulIn(f); ok {
		return nil, problems([]*huma.ErrorDetail{{Message: "text must not contain NUL characters", Location: "body." + loc}})
	}
	var (
		stored R
		what   change
		c      = newChecker(nil, principalFrom(ctx), rs.keys)
	)
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		c.q = tx
		var err error
		stored, what, err = rs.apply(ctx, tx, c, key, f)
		if err == nil && len(c.problems) > 0 {
			err = problems(c.problems)
		}
		return err
	})
	var se huma.StatusError
	if errors.As(err, &se) {
		return nil, err
	}
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	if what != unchanged {
		jobs.Changed(ctx, rs.touched(key, f))
	}
	o, err := rs.present(ctx, s.db, stored)
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	status := http.StatusOK
	if what == created {
		status = http.StatusCreated
	}
	return &recordOutput[O]{Status: status, Body: o}, nil
}

// patch is PATCH: it merges the patch onto the stored record's fields (or
// onto empty ones when there is none), checks the result against the PUT
// body's schema, and stores it as PUT does.
func (rs *resource[R, F, O, B]) patch(ctx context.Context, s *Server, api huma.API, key []string, patch map[string]any) (*recordOutput[O], error) {
	var base F
	r, err := rs.load(ctx, s.db, key)
	switch {
	case err == nil:
		base = rs.fields(r)
	case !isNotFound(err):
		return nil, s.internal(ctx, err)
	}
	doc, err := toJSONValue(base)
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	merged := mergePatch(doc, patch)

	registry := api.OpenAPI().Components.Schemas
	schema := registry.Schema(reflect.TypeFor[F](), true, "")
	res := &huma.ValidateResult{}
	huma.Validate(registry, schema, huma.NewPathBuffer([]byte("body"), 0), huma.ModeWriteToServer, merged, res)
	if len(res.Errors) > 0 {
		ds := make([]*huma.ErrorDetail, 0, len(res.Errors))
		for _, e := range res.Errors {
			if d, ok := e.(*huma.ErrorDetail); ok {
				ds = append(ds, d)
			} else {
				ds = append(ds, &huma.ErrorDetail{Message: e.Error(), Location: "body"})
			}
		}
		return nil, problems(ds)
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	var f F
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, problems([]*huma.ErrorDetail{{Message: err.Error(), Location: "body"}})
	}
	return rs.upsert(ctx, s, key, f)
}

// bulk stores many records in one transaction: all of them, or, when any
// is invalid, none, answering every problem found.
func (rs *resource[R, F, O, B]) bulk(ctx context.Context, s *Server, records []B) (*bulkOutput, error) {
	if len(records) > maxBulkRecords {
		return nil, huma.Error413RequestEntityTooLarge(fmt.Sprintf(
			"%d records in one call; at most %d are allowed: send them in several calls", len(records), maxBulkRecords))
	}
	out := bulkResult{Records: len(records)}
	c := newChecker(nil, principalFrom(ctx), rs.keys)
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		c.q = tx
		keys := make([][]string, len(records))
		fields := make([]F, len(records))
		var accountIDs []string
		seen := map[string]int{}
		bad := make([]bool, len(records)) // the key is unusable: reported, not checked further
		for i, b := range records {
			keys[i], fields[i] = rs.split(b)
			c.at(i)
			bad[i] = true
			if loc, ok := nulIn(b); ok {
				c.problems = append(c.problems, &huma.ErrorDetail{Message: "text must not contain NUL characters", Location: c.body + loc})
				continue
			}
			if k, ok := rs.bulkKey(c, keys[i]); ok {
				keys[i] = k
			} else {
				continue
			}
			id := objectID(keys[i])
			if j, dup := seen[id]; dup {
				c.fail(rs.keys[len(rs.keys)-1], id, "the same %s as records[%d]", rs.object, j)
				continue
			}
			seen[id] = i
			bad[i] = false
			accountIDs = append(accountIDs, accountRefs(fields[i])...)
			if rs.definesAccounts {
				c.accounts[keys[i][0]] = true // a parent may be in the same call
			}
		}
		c.prefetchAccounts(ctx, accountIDs)
		if c.err != nil {
			return c.err
		}
		for i := range records {
			if bad[i] {
				continue
			}
			c.at(i)
			_, what, err := rs.apply(ctx, tx, c, keys[i], fields[i])
			if err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
			switch what {
			case created:
				out.Created++
			case updated:
				out.Updated++
			default:
				out.Unchanged++
			}
		}
		if len(c.problems) > 0 {
			return problems(c.problems)
		}
		return nil
	})
	var se huma.StatusError
	if errors.As(err, &se) {
		return nil, err
	}
	if err != nil {
		return nil, s.internal(ctx, err)
	}
	if out.Created+out.Updated > 0 {
		var ids []string
		for _, b := range records {
			ids = append(ids, rs.touched(rs.split(b))...)
		}
		jobs.Changed(ctx, ids)
	}
	return &bulkOutput{Body: out}, nil
}

// touched are the accounts whose snapshot a write of record key with
// fields f may change, for the recompute of just those.
func (rs *resource[R, F, O, B]) touched(key []string, f F) []string {
	ids := accountRefs(f)
	if rs.definesAccounts && len(key) > 0 {
		ids = append(ids, key[0])
	}
	return ids
}

// accountRefs lists the accounts a record's fields refer to (account_id,
// parent_account_id), so a bulk call can look them all up at once.
func accountRefs(f any) []string {
	m, err := toJSONValue(f)
	if err != nil {
		return nil
	}
	obj, _ := m.(map[string]any)
	var out []string
	for _, k := range []string{"account_id", "parent_account_id"} {
		if s, ok := obj[k].(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// toJSONValue turns v into what encoding/json decodes its JSON into
// (maps, slices, float64, string, bool, nil).
func toJSONValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// mergePatch applies a JSON merge patch (RFC 7396) to doc.
func mergePatch(doc any, patch map[string]any) any {
	target, ok := doc.(map[string]any)
	if !ok {
		target = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(target, k)
		case map[string]any:
			target[k] = mergePatch(target[k], pv)
		default:
			target[k] = v
		}
	}
	return target
}

// nulIn finds a string holding a NUL character in v's JSON, which
// PostgreSQL cannot store; it returns the string's location ("body", or
// "attributes.note").
func nulIn(v any) (string, bool) {
	j, err := toJSONValue(v)
	if err != nil {
		return "", false
	}
	var walk func(v any, loc string) (string, bool)
	walk = func(v any, loc string) (string, bool) {
		switch x := v.(type) {
		case string:
			return loc, strings.ContainsRune(x, 0)
		case map[string]any:
			for k, e := range x {
				if strings.ContainsRune(k, 0) {
					return strings.TrimPrefix(loc+"."+k, "."), true
				}
				if l, ok := walk(e, strings.TrimPrefix(loc+"."+k, ".")); ok {
					return l, true
				}
			}
		case []any:
			for i, e := range x {
				if l, ok := walk(e, loc+"["+strconv.Itoa(i)+"]"); ok {
					return l, true
				}
			}
		}
		return "", false
	}
	return walk(j, "")
}

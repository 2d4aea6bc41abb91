package web

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// Page sizes of every list.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// PageParams are the paging parameters every list takes.
type PageParams struct {
	Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Page size, 1 to 1000."`
	After string `query:"after" doc:"The next_cursor of the previous page (with the same sort and filters); empty for the first page."`
}

// listing is a parsed request for one page: the sort field and direction,
// and the position after which the page starts.
type listing struct {
	sort     string // the field, without "-"
	desc     bool
	afterKey any    // the sort value of the previous page's last item: string, or int64 unix seconds
	afterID  string // and its id
	limit    int
}

// newListing parses sort ("field" or "-field" for descending) and the
// cursor. Cursors are opaque to clients. For a listing by id the cursor is
// the last id itself, as GET /api/v1/accounts has always had it; otherwise
// it is the sort field, the last item's value of it and its id, as
// base64url JSON, so that a page can start after an item whose sort value
// others share, and after an item deleted since. timeSorts are the fields
// whose values are unix seconds.
func newListing(p PageParams, sort, idField string, timeSorts ...string) (listing, error) {
	l := listing{sort: strings.TrimPrefix(sort, "-"), desc: strings.HasPrefix(sort, "-"), limit: p.Limit}
	if l.limit <= 0 {
		l.limit = defaultLimit
	}
	if p.After == "" {
		return l, nil
	}
	if l.sort == idField {
		l.afterID = p.After
		return l, nil
	}
	bad := huma.Error400BadRequest("query parameter after: not a cursor of this list (pass next_cursor back with the same sort)",
		&huma.ErrorDetail{Message: "not a cursor of this list", Location: "query.after", Value: p.After})
	raw, err := base64.RawURLEncoding.DecodeString(p.After)
	if err != nil {
		return l, bad
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var c []any
	if err := dec.Decode(&c); err != nil || len(c) != 3 {
		return l, bad
	}
	field, _ := c[0].(string)
	id, _ := c[2].(string)
	if field != l.sort || id == "" {
		return l, bad
	}
	isTime := false
	for _, t := range timeSorts {
		isTime = isTime || t == l.sort
	}
	switch v := c[1].(type) {
	case json.Number:
		n, err := v.Int64()
		if err != nil || !isTime {
			return l, bad
		}
		l.afterKey = n
	case string:
		if isTime {
			return l, bad
		}
		l.afterKey = v
	default:
		return l, bad
	}
	l.afterID = id
	return l, nil
}

// fetch is how many items to ask the database for: one more than a page,
// to learn whether another page follows.
func (l listing) fetch() int { return l.limit + 1 }

// page cuts items (fetched with l.fetch()) to one page and returns the
// cursor of the next page, "" when this is the last. key returns an item's
// sort value and id.
func page[T any](l listing, items []T, idField string, key func(T) (any, string)) ([]T, string) {
	if len(items) <= l.limit {
		return items, ""
	}
	items = items[:l.limit]
	k, id := key(items[len(items)-1])
	if l.sort == idField {
		return items, id
	}
	b, _ := json.Marshal([]any{l.sort, k, id}) // strings and integers always encode
	return items, base64.RawURLEncoding.EncodeToString(b)
}

// orEmpty returns a non-nil slice, so that an empty list encodes as [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

package feedback

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// Statuses of a product request.
const (
	StatusOpen     = "open"
	StatusPlanned  = "planned"
	StatusShipped  = "shipped"
	StatusDeclined = "declined"
)

// RequestStatuses lists them.
var RequestStatuses = []string{StatusOpen, StatusPlanned, StatusShipped, StatusDeclined}

// Request is a product request: feedback items asking for the same thing.
type Request struct {
	ID              string     `json:"request_id"`
	Title           string     `json:"title"`
	Description     string     `json:"description,omitempty"`
	Category        string     `json:"category" enum:"feature,ui_ux,performance,support,other"`
	Status          string     `json:"status" enum:"open,planned,shipped,declined"`
	StatusNote      string     `json:"status_note,omitempty" doc:"Why the status changed, as the close-the-loop email says."`
	MergedInto      string     `json:"merged_into,omitempty" doc:"Set when this request was merged as a duplicate: its items are there now."`
	CreatedBy       string     `json:"created_by,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	StatusChangedAt *time.Time `json:"status_changed_at,omitempty"`
	// Filled by [Rank] and [View]:
	Items      int      `json:"items" doc:"Feedback items in the request."`
	Accounts   int      `json:"accounts" doc:"Distinct accounts asking."`
	ARR        float64  `json:"arr" doc:"The sum of the current ARR of the distinct accounts asking, in the reporting currency."`
	AccountIDs []string `json:"account_ids,omitempty" doc:"The distinct accounts asking, by id."`
}

const requestColumns = `request_id, title, description, category, status, status_note, merged_into, created_by, created_at,
	updated_at, status_changed_at`

func scanRequest(sc interface{ Scan(...any) error }) (Request, error) {
	var r Request
	var merged sql.NullString
	var created, updated int64
	var changed sql.NullInt64
	err := sc.Scan(&r.ID, &r.Title, &r.Description, &r.Category, &r.Status, &r.StatusNote, &merged, &r.CreatedBy,
		&created, &updated, &changed)
	r.MergedInto = merged.String
	r.CreatedAt, r.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	if changed.Valid {
		t := time.Unix(changed.Int64, 0).UTC()
		r.StatusChangedAt = &t
	}
	return r, err
}

// GetRequest returns one product request (merged ones too), or ErrNotFound.
func GetRequest(ctx context.Context, q store.Querier, id string) (Request, error) {
	r, err := scanRequest(q.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM product_requests WHERE request_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("product request %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("get product request %s: %w", id, err)
	}
	return r, nil
}

// liveRequest returns a request that exists and was not merged away, or
// an *InvalidError on request_id saying which.
func liveRequest(ctx context.Context, q store.Querier, id string) (Request, error) {
	r, err := GetRequest(ctx, q, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return r, invalid("request_id", "no product request %q", id)
	case err != nil:
		return r, err
	case r.MergedInto != "":
		return r, invalid("request_id", "product request %s was merged into %s: use that one", id, r.MergedInto)
	}
	return r, nil
}

func checkRequest(r *Request) error {
	r.Title = strings.TrimSpace(r.Title)
	if r.Category == "" {
		r.Category = "feature"
	}
	if r.Status == "" {
		r.Status = StatusOpen
	}
	switch {
	case r.Title == "":
		return invalid("title", "required: what is asked for, in a few words")
	case len([]rune(r.Title)) > 300:
		return invalid("title", "at most 300 characters")
	case len([]rune(r.Description)) > MaxText:
		return invalid("description", "at most %d characters", MaxText)
	case !slices.Contains(Categories, r.Category):
		return invalid("category", "%q is not one of %s", r.Category, strings.Join(Categories, ", "))
	case !slices.Contains(RequestStatuses, r.Status):
		return invalid("status", "%q is not one of %s", r.Status, strings.Join(RequestStatuses, ", "))
	}
	return nil
}

// CreateRequest stores a new product request (id made when empty) with
// the feedback items itemIDs in it. One created in another status than
// open (the demo's history, a move from another tool) keeps its status
// note and closes no loop: only a change of status does.
func CreateRequest(ctx context.Context, q store.Querier, r Request, itemIDs []string, now time.Time) (Request, error) {
	if r.ID == "" {
		r.ID = store.NewID("pr_")
	}
	if err := checkRequest(&r); err != nil {
		return r, err
	}
	if _, err := GetRequest(ctx, q, r.ID); err == nil {
		return r, invalid("request_id", "%q is taken", r.ID)
	}
	var changed any
	if r.Status != StatusOpen {
		changed = now.Unix()
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO product_requests (request_id, title, description, category, status,
			status_note, created_by, created_at, updated_at, status_changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)`,
		r.ID, r.Title, r.Description, r.Category, r.Status, strings.TrimSpace(r.StatusNote), r.CreatedBy, now.Unix(), changed); err != nil {
		return r, fmt.Errorf("create product request: %w", err)
	}
	if err := assign(ctx, q, r.ID, itemIDs, now); err != nil {
		return r, err
	}
	return GetRequest(ctx, q, r.ID)
}

// assign puts the items in request id, checking each exists.
func assign(ctx context.Context, q store.Querier, id string, itemIDs []string, now time.Time) error {
	for _, fid := range itemIDs {
		res, err := q.ExecContext(ctx, `UPDATE feedback SET request_id = $2, updated_at = $3 WHERE feedback_id = $1`, fid, id, now.Unix())
		if err != nil {
			return fmt.Errorf("put feedback %s in request %s: %w", fid, id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return invalid("feedback_ids", "no feedback item %q", fid)
		}
	}
	return nil
}

// EditRequest replaces a live request's title, description and category.
func EditRequest(ctx context.Context, q store.Querier, r Request, now time.Time) (before, after Request, _ error) {
	before, err := liveRequest(ctx, q, r.ID)
	if err != nil {
		return before, before, err
	}
	r.Status = before.Status
	if err := checkRequest(&r); err != nil {
		return before, before, err
	}
	if _, err := q.ExecContext(ctx, `UPDATE product_requests SET title = $2, description = $3, category = $4, updated_at = $5
		WHERE request_id = $1`, r.ID, r.Title, r.Description, r.Category, now.Unix()); err != nil {
		return before, before, fmt.Errorf("edit product request %s: %w", r.ID, err)
	}
	after, err = GetRequest(ctx, q, r.ID)
	return before, after, err
}

// Merge makes into the one request for the duplicates requestIDs (their
// items move to it; each is left pointing at into) and adds the items
// itemIDs to it. No item is dropped: into then has every item any of them had.
func Merge(ctx context.Context, q store.Querier, into string, requestIDs, itemIDs []string, now time.Time) (Request, error) {
	if _, err := liveRequest(ctx, q, into); err != nil {
		return Request{}, err
	}
	if len(requestIDs) == 0 && len(itemIDs) == 0 {
		return Request{}, invalid("request_ids", "name the duplicate requests or the feedback items to merge")
	}
	for _, id := range requestIDs {
		if id == into {
			return Request{}, invalid("request_ids", "%s cannot be merged into itself", id)
		}
		if _, err := liveRequest(ctx, q, id); err != nil {
			var ie *InvalidError
			if errors.As(err, &ie) {
				ie.Field = "request_ids"
			}
			return Request{}, err
		}
		if _, err := q.ExecContext(ctx, `UPDATE feedback SET request_id = $2, updated_at = $3 WHERE request_id = $1`, id, into, now.Unix()); err != nil {
			return Request{}, fmt.Errorf("merge product request %s: %w", id, err)
		}
		// Those merged into the duplicate before now point at into directly.
		if _, err := q.ExecContext(ctx, `UPDATE product_requests SET merged_into = $2, updated_at = $3
			WHERE request_id = $1 OR merged_into = $1`, id, into, now.Unix()); err != nil {
			return Request{}, fmt.Errorf("merge product request %s: %w", id, err)
		}
	}
	if err := assign(ctx, q, into, itemIDs, now); err != nil {
		return Request{}, err
	}
	if _, err := q.ExecContext(ctx, `UPDATE product_requests SET updated_at = $2 WHERE request_id = $1`, into, now.Unix()); err != nil {
		return Request{}, fmt.Errorf("merge into product request %s: %w", into, err)
	}
	return GetRequest(ctx, q, into)
}

// RankOptions select and order product requests for [Rank].
type RankOptions struct {
	Sort   string    // count (items, the default) or arr
	Status string    // only requests in this status
	At     time.Time // the ARR's instant; zero: now
	Limit  int       // 0: all
}

// asking is one account's items in a request ("" for items of no account).
type asking struct {
	accountID string
	items     int
}

// requestAccounts returns, per request (only: just that one), its items
// grouped by account in account id order.
func requestAccounts(ctx context.Context, q store.Querier, only string) (map[string][]asking, error) {
	rows, err := q.QueryContext(ctx, `SELECT request_id, COALESCE(account_id, ''), COUNT(*) FROM feedback
		WHERE request_id IS NOT NULL AND request_id <> '' AND ($1 = '' OR request_id = $1)
		GROUP BY request_id, account_id ORDER BY request_id, account_id`, only)
	if err != nil {
		return nil, fmt.Errorf("product request accounts: %w", err)
	}
	type row struct {
		requestID string
		asking
	}
	out, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (row, error) {
		var v row
		return v, sc.Scan(&v.requestID, &v.accountID, &v.items)
	})
	if err != nil {
		return nil, fmt.Errorf("product request accounts: %w", err)
	}
	by := map[string][]asking{}
	for _, v := range out {
		by[v.requestID] = append(by[v.requestID], v.asking)
	}
	return by, nil
}

// arrOf computes the ARR of each account at instant at.
func arrOf(ctx context.Context, q store.Querier, ids []string, at time.Time) (map[string]float64, error) {
	out := map[string]float64{}
	if len(ids) == 0 {
		return out, nil
	}
	r, err := snapshot.NewReader(ctx, q, at)
	if err != nil {
		return nil, fmt.Errorf("ARR of requesting accounts: %w", err)
	}
	for part := range slices.Chunk(ids, store.MaxInList) {
		snaps, err := r.IDs(ctx, q, part)
		if err != nil {
			return nil, fmt.Errorf("ARR of requesting accounts: %w", err)
		}
		for _, s := range snaps {
			out[s.AccountID] = s.ARR
		}
	}
	return out, nil
}

// fill sets the requests' counts and ARR.
func fill(ctx context.Context, q store.Querier, list []Request, only string, at time.Time) error {
	by, err := requestAccounts(ctx, q, only)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var ids []string
	for _, as := range by {
		for _, a := range as {
			if a.accountID != "" && !seen[a.accountID] {
				seen[a.accountID] = true
				ids = append(ids, a.accountID)
			}
		}
	}
	slices.Sort(ids)
	arr, err := arrOf(ctx, q, ids, at)
	if err != nil {
		return err
	}
	for i := range list {
		r := &list[i]
		r.Items, r.AccountIDs, r.ARR = 0, nil, 0
		for _, a := range by[r.ID] {
			r.Items += a.items
			if a.accountID != "" {
				r.AccountIDs = append(r.AccountIDs, a.accountID)
				r.ARR += arr[a.accountID]
			}
		}
		r.Accounts = len(r.AccountIDs)
		r.ARR = roundCents(r.ARR)
	}
	return nil
}

func roundCents(v float64) float64 {
	return float64(int64(v*100+0.5*sign(v))) / 100
}

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

// Rank returns the live (not merged) product requests with their item and
// account counts and ARR, by item count (ties: ARR) or by ARR (ties: item
// count), then id.
func Rank(ctx context.Context, q store.Querier, o RankOptions) ([]Request, error) {
	if o.Sort == "" {
		o.Sort = "count"
	}
	if o.Sort != "count" && o.Sort != "arr" {
		return nil, invalid("sort", "%q is not count or arr", o.Sort)
	}
	if o.At.IsZero() {
		o.At = time.Now()
	}
	rows, err := q.QueryContext(ctx, `SELECT `+requestColumns+` FROM product_requests
		WHERE merged_into IS NULL AND ($1 = '' OR status = $1) ORDER BY request_id`, o.Status)
	if err != nil {
		return nil, fmt.Errorf("rank product requests: %w", err)
	}
	list, err := store.Collect(rows, scanRequest)
	if err != nil {
		return nil, fmt.Errorf("rank product requests: %w", err)
	}
	if err := fill(ctx, q, list, "", o.At); err != nil {
		return nil, err
	}
	slices.SortStableFunc(list, func(a, b Request) int {
		byCount, byARR := cmp.Compare(b.Items, a.Items), cmp.Compare(b.ARR, a.ARR)
		if o.Sort == "arr" {
			byCount, byARR = byARR, byCount
		}
		return cmp.Or(byCount, byARR, cmp.Compare(a.ID, b.ID))
	})
	if o.Limit > 0 && len(list) > o.Limit {
		list = list[:o.Limit]
	}
	return list, nil
}

// View returns one request with its counts and ARR at at, and its items.
func View(ctx context.Context, q store.Querier, id string, at time.Time) (Request, []Item, error) {
	r, err := GetRequest(ctx, q, id)
	if err != nil {
		return r, nil, err
	}
	list := []Request{r}
	if err := fill(ctx, q, list, id, at); err != nil {
		return r, nil, err
	}
	items, err := Search(ctx, q, Filter{RequestID: id, Limit: 1000})
	return list[0], items, err
}

// Loop is the close-the-loop notice a status change sent.
type Loop struct {
	Owners      []string `json:"owners" doc:"The CSMs emailed: owners of the accounts that asked."`
	Unowned     []string `json:"unowned,omitempty" doc:"Requesting accounts without an owner: nobody to tell."`
	DeliveryIDs []string `json:"delivery_ids,omitempty"`
}

// SetStatus changes a live request's status (note: why, for the email).
// Becoming shipped or declined closes the loop: one email per owner (CSM)
// of the requesting accounts, in the owner's language, listing their
// accounts, is queued (pending deliveries in q, for the job queue to send).
func SetStatus(ctx context.Context, q store.Querier, id, status, note string, now time.Time) (before, after Request, loop Loop, _ error) {
	before, err := liveRequest(ctx, q, id)
	if err != nil {
		return before, before, loop, err
	}
	if !slices.Contains(RequestStatuses, status) {
		return before, before, loop, invalid("status", "%q is not one of %s", status, strings.Join(RequestStatuses, ", "))
	}
	note = strings.TrimSpace(note)
	if _, err := q.ExecContext(ctx, `UPDATE product_requests SET status = $2, status_note = $3, updated_at = $4,
			status_changed_at = CASE WHEN status = $2 THEN status_changed_at ELSE $4 END WHERE request_id = $1`,
		id, status, note, now.Unix()); err != nil {
		return before, before, loop, fmt.Errorf("set status of product request %s: %w", id, err)
	}
	if after, err = GetRequest(ctx, q, id); err != nil {
		return before, after, loop, err
	}
	if status == before.Status || (status != StatusShipped && status != StatusDeclined) {
		return before, after, loop, nil
	}
	loop, err = closeLoop(ctx, q, after, now)
	return before, after, loop, err
}

type ownedAccount struct {
	name  string
	items int
}

// loopTexts are the close-the-loop email's wording: subject, opening, list
// heading, closing; %s is the request's title.
var loopTexts = map[string]map[string][4]string{
	"en": {
		StatusShipped: {"Shipped: %s", "The product request “%s” has shipped.", "Your accounts that asked for it:",
			"Let them know: it shows them their feedback was heard."},
		StatusDeclined: {"Declined: %s", "The product request “%s” was declined.", "Your accounts that asked for it:",
			"Let them know, with the reason: a clear answer keeps their trust."},
	},
	"ja": {
		StatusShipped: {"リリース済み: %s", "製品要望「%s」がリリースされました。", "この要望を挙げた担当アカウント:",
			"お客様にお知らせください。フィードバックが届いたことが伝わります。"},
		StatusDeclined: {"見送り: %s", "製品要望「%s」は見送りとなりました。", "この要望を挙げた担当アカウント:",
			"理由を添えてお客様にお知らせください。明確な回答が信頼につながります。"},
	},
}

func closeLoop(ctx context.Context, q store.Querier, r Request, now time.Time) (Loop, error) {
	var loop Loop
	by, err := requestAccounts(ctx, q, r.ID)
	if err != nil {
		return loop, err
	}
	byOwner := map[string][]ownedAccount{}
	for _, as := range by[r.ID] {
		if as.accountID == "" {
			continue
		}
		a, err := account.Get(ctx, q, as.accountID)
		if err != nil {
			return loop, fmt.Errorf("close the loop of %s: %w", r.ID, err)
		}
		owner := strings.ToLower(strings.TrimSpace(a.OwnerEmail))
		if owner == "" {
			loop.Unowned = append(loop.Unowned, as.accountID)
			continue
		}
		byOwner[owner] = append(byOwner[owner], ownedAccount{name: a.Name, items: as.items})
	}
	var ds []notify.Delivery
	for owner := range byOwner {
		loop.Owners = append(loop.Owners, owner)
	}
	slices.Sort(loop.Owners)
	for _, owner := range loop.Owners {
		lang := "en"
		if u, err := user.GetByEmail(ctx, q, owner); err == nil && u.Language == "ja" {
			lang = "ja"
		}
		t := loopTexts[lang][r.Status]
		var b strings.Builder
		fmt.Fprintf(&b, t[1]+"\n", r.Title)
		if r.StatusNote != "" {
			b.WriteString(r.StatusNote + "\n")
		}
		b.WriteString("\n" + t[2] + "\n")
		for _, a := range byOwner[owner] {
			fmt.Fprintf(&b, "- %s (%d)\n", a.name, a.items)
		}
		b.WriteString("\n" + t[3] + "\n")
		ds = append(ds, notify.Delivery{Kind: notify.KindEmail, Target: owner, Subject: fmt.Sprintf(t[0], r.Title), Body: b.String()})
	}
	if len(ds) == 0 {
		return loop, nil
	}
	loop.DeliveryIDs, err = notify.Enqueue(ctx, q, ds, now)
	if err != nil {
		return loop, fmt.Errorf("close the loop of %s: %w", r.ID, err)
	}
	return loop, nil
}

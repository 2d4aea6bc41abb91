// Package segment owns rule-defined segments: a named condition over the
// account snapshot (internal/rule) whose members the recompute keeps live.
//
// A segment's id is a slug ("at_risk") and is what the snapshot's segments
// field holds, so other rules (playbook triggers, health model choice) say
// `"at_risk" in segments`. A segment's own rule may use health_band and the
// other health fields (the health stage runs before this one) but not
// segments: every segment is evaluated on the same snapshot, so one segment
// cannot depend on another, and Compile refuses such a rule with the
// position of the name.
package segment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// ErrNotFound is returned for a segment that does not exist.
var ErrNotFound = errors.New("segment not found")

// ErrInvalid is returned for a bad segment id or name (a bad rule is a
// *rule.Error instead).
var ErrInvalid = errors.New("invalid segment")

// ErrExists is returned when creating a segment whose id is taken.
var ErrExists = errors.New("segment exists")

// Segment is one rule-defined segment.
type Segment struct {
	ID          string    `json:"segment_id" doc:"A slug: lower-case letters, digits and _, starting with a letter; what the snapshot's segments field holds."`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Rule        string    `json:"rule" doc:"A condition over the snapshot's fields; it may not use segments."`
	Members     int       `json:"members" doc:"Current stored members."`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

var slug = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// ValidID reports why id is not a valid segment id, or nil.
func ValidID(id string) error {
	if !slug.MatchString(id) {
		return fmt.Errorf("%w: id %q: want lower-case letters, digits and _, starting with a letter, at most 63 characters", ErrInvalid, id)
	}
	return nil
}

// Validate checks a segment's fields before it is saved: the id, a name,
// and the rule (a *rule.Error with the position when it does not compile).
func Validate(s Segment) error {
	if err := ValidID(s.ID); err != nil {
		return err
	}
	if strings.TrimSpace(s.Name) == "" {
		return fmt.Errorf("%w: %s: empty name", ErrInvalid, s.ID)
	}
	_, err := Compile(s.Rule)
	return err
}

// Compile compiles a segment rule: a condition that does not use the
// segments field (see the package documentation). The error is a *rule.Error.
func Compile(src string) (*rule.Rule, error) {
	r, err := rule.Compile(src, rule.Bool)
	if err != nil {
		return nil, err
	}
	tree, err := parser.Parse(src)
	if err != nil { // rule.Compile parsed it already; kept for safety
		return nil, &rule.Error{Line: 1, Column: 1, Message: err.Error()}
	}
	v := &findSegments{}
	ast.Walk(&tree.Node, v)
	if v.found {
		line, col := position(src, v.at)
		text := strings.Split(src, "\n")[line-1]
		return nil, &rule.Error{Line: line, Column: col, Snippet: " | " + text + "\n | " + strings.Repeat(".", col-1) + "^",
			Message: "a segment's rule cannot use segments: every segment is evaluated on the same snapshot, so membership of another segment is not known yet; repeat that segment's condition instead"}
	}
	return r, nil
}

type findSegments struct {
	found bool
	at    int
}

func (f *findSegments) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok && id.Value == "segments" && !f.found {
		f.found, f.at = true, id.Location().From
	}
}

// position turns a character offset of src into a 1-based line and column.
func position(src string, offset int) (line, col int) {
	line, col = 1, 1
	i := 0
	for _, r := range src {
		if i >= offset {
			break
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i++
	}
	return line, col
}

const columns = `s.segment_id, s.name, s.description, s.rule, s.created_at, s.updated_at,
	(SELECT COUNT(*) FROM segment_members m WHERE m.segment_id = s.segment_id)`

func scan(sc interface{ Scan(...any) error }) (Segment, error) {
	var s Segment
	var created, updated int64
	if err := sc.Scan(&s.ID, &s.Name, &s.Description, &s.Rule, &created, &updated, &s.Members); err != nil {
		return s, err
	}
	s.CreatedAt, s.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return s, nil
}

// Get returns one segment with its member count, or ErrNotFound.
func Get(ctx context.Context, q store.Querier, id string) (Segment, error) {
	s, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM segments s WHERE s.segment_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("segment %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("get segment %s: %w", id, err)
	}
	return s, nil
}

// List returns every segment in id order.
func List(ctx context.Context, q store.Querier) ([]Segment, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM segments s ORDER BY s.segment_id`)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	out, err := store.Collect(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	return out, nil
}

// Create stores a new segment (ErrExists when the id is taken) after
// validating it. It does not compute the membership: see [Refresh].
func Create(ctx context.Context, q store.Querier, s Segment, now time.Time) (Segment, error) {
	if err := Validate(s); err != nil {
		return s, err
	}
	res, err := q.ExecContext(ctx, `INSERT INTO segments (segment_id, name, description, rule, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (segment_id) DO NOTHING`, s.ID, s.Name, s.Description, s.Rule, now.Unix())
	if err != nil {
		return s, fmt.Errorf("create segment %s: %w", s.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s, fmt.Errorf("create segment %s: %w", s.ID, ErrExists)
	}
	return Get(ctx, q, s.ID)
}

// Update changes a segment's name, description and rule (ErrNotFound when
// it does not exist) after validating them.
func Update(ctx context.Context, q store.Querier, s Segment, now time.Time) (Segment, error) {
	if err := Validate(s); err != nil {
		return s, err
	}
	res, err := q.ExecContext(ctx, `UPDATE segments SET name = $2, description = $3, rule = $4, updated_at = $5
		WHERE segment_id = $1`, s.ID, s.Name, s.Description, s.Rule, now.Unix())
	if err != nil {
		return s, fmt.Errorf("update segment %s: %w", s.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s, fmt.Errorf("update segment %s: %w", s.ID, ErrNotFound)
	}
	return Get(ctx, q, s.ID)
}

// Delete removes a segment with its members and history.
func Delete(ctx context.Context, q store.Querier, id string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM segment_history WHERE segment_id = $1`, id); err != nil {
		return fmt.Errorf("delete segment %s: %w", id, err)
	}
	res, err := q.ExecContext(ctx, `DELETE FROM segments WHERE segment_id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete segment %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete segment %s: %w", id, ErrNotFound)
	}
	return nil
}

// Member is one stored membership.
type Member struct {
	AccountID string    `json:"account_id"`
	Name      string    `json:"name"`
	Since     time.Time `json:"since" doc:"When the account joined (the recompute or save that found it matching)."`
}

// Members returns a page of a segment's stored members in account id order,
// after the account id after ("" for the first page), at most limit.
func Members(ctx context.Context, q store.Querier, id, after string, limit int) ([]Member, error) {
	rows, err := q.QueryContext(ctx, `SELECT m.account_id, a.name, m.since FROM segment_members m
		JOIN accounts a ON a.account_id = m.account_id
		WHERE m.segment_id = $1 AND m.account_id > $2 ORDER BY m.account_id LIMIT $3`, id, after, store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("members of segment %s: %w", id, err)
	}
	out, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (Member, error) {
		var m Member
		var since int64
		err := sc.Scan(&m.AccountID, &m.Name, &since)
		m.Since = time.Unix(since, 0).UTC()
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("members of segment %s: %w", id, err)
	}
	return out, nil
}

// Event is one join or leave.
type Event struct {
	AccountID string    `json:"account_id"`
	At        time.Time `json:"at"`
	Event     string    `json:"event" enum:"joined,left"`
}

// HistoryFilter selects history events.
type HistoryFilter struct {
	From, To time.Time // From ≤ at < To; zero: unbounded
	Event    string    // joined, left or "" for both
	// AfterAt and AfterID are the cursor: the last event of the previous page.
	// AfterEvent breaks the tie of an account that joined and left in the
	// same second.
	AfterAt    int64
	AfterID    string
	AfterEvent string
	Limit      int
}

// History returns a segment's joins and leaves, newest first.
func History(ctx context.Context, q store.Querier, id string, f HistoryFilter) ([]Event, error) {
	from, to := int64(-1<<62), int64(1<<62)
	if !f.From.IsZero() {
		from = f.From.Unix()
	}
	if !f.To.IsZero() {
		to = f.To.Unix()
	}
	args := []any{id, from, to, f.Event}
	cond := "true"
	if f.AfterID != "" {
		args = append(args, f.AfterAt, f.AfterID, f.AfterEvent)
		cond = "(at, account_id, event) < ($5, $6, $7)"
	}
	args = append(args, store.PageLimit(f.Limit))
	rows, err := q.QueryContext(ctx, `SELECT account_id, at, event FROM segment_history
		WHERE segment_id = $1 AND at >= $2 AND at < $3 AND ($4 = '' OR event = $4) AND `+cond+`
		ORDER BY at DESC, account_id DESC, event DESC LIMIT $`+fmt.Sprint(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("history of segment %s: %w", id, err)
	}
	out, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (Event, error) {
		var e Event
		var at int64
		err := sc.Scan(&e.AccountID, &at, &e.Event)
		e.At = time.Unix(at, 0).UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("history of segment %s: %w", id, err)
	}
	return out, nil
}

// Save creates s (create true; ErrExists when the id is taken) or replaces
// an existing one (ErrNotFound otherwise) and brings its membership up to
// date with snaps at instant at, so it is live at once. It returns the
// stored segment before (nil when new) and after, with the accounts that
// joined and left.
func Save(ctx context.Context, q store.Querier, s Segment, create bool, at time.Time, snaps []snapshot.Snapshot) (before *Segment, after Segment, joined, left int, err error) {
	if create {
		_, err = Create(ctx, q, s, at)
	} else {
		var old Segment
		if old, err = Get(ctx, q, s.ID); err != nil {
			return nil, after, 0, 0, err
		}
		before = &old
		_, err = Update(ctx, q, s, at)
	}
	if err != nil {
		return before, after, 0, 0, err
	}
	if joined, left, err = Refresh(ctx, q, s.ID, at, snaps); err != nil {
		return before, after, 0, 0, err
	}
	after, err = Get(ctx, q, s.ID)
	return before, after, joined, left, err
}

// MemberIDs returns every segment's stored members, by segment id, in
// account id order: one read for a page that sums over the members.
func MemberIDs(ctx context.Context, q store.Querier) (map[string][]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT segment_id, account_id FROM segment_members ORDER BY segment_id, account_id`)
	if err != nil {
		return nil, fmt.Errorf("segment members: %w", err)
	}
	type pair struct{ segment, account string }
	ps, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (pair, error) {
		var p pair
		return p, sc.Scan(&p.segment, &p.account)
	})
	if err != nil {
		return nil, fmt.Errorf("segment members: %w", err)
	}
	out := map[string][]string{}
	for _, p := range ps {
		out[p.segment] = append(out[p.segment], p.account)
	}
	return out, nil
}

// Memberships returns the stored segments of every account that is in one
// (account id → segment ids in id order): MemberIDs turned around.
func Memberships(ctx context.Context, q store.Querier) (map[string][]string, error) {
	bySegment, err := MemberIDs(ctx, q)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for s, ids := range bySegment {
		for _, a := range ids {
			out[a] = append(out[a], s)
		}
	}
	for _, ss := range out {
		slices.Sort(ss)
	}
	return out, nil
}

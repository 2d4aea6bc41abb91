package metrics

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// source is the subscription data a table is computed from, interned.
type source struct {
	spans      []span
	unitGroup  []int
	groups     []string // breakdown values in name order; one "" without a breakdown
	currencies []string
	products   []string
	plans      []string // "" only, unless read with their plans
}

// periodDimensions are the breakdowns that split an account's MRR by a
// column of its periods; the others group whole accounts.
var periodDimensions = map[string]string{"plan": "plan", "product": "product", "currency": "currency"}

// periodsSQL reads the periods that start before the table's end ($1): the
// current ones, or (with an as-of time as $2) the versions Kizuna knew then.
// Currency codes have three letters, so currency and product travel as one
// value: every column read costs more than the concatenation. COLUMN adds
// the breakdown's period column; PART narrows the read to one part of the
// table.
const (
	periodsSQL = `SELECT account_id, start_at, end_at, mrr_minor, currency || product COLUMN
		FROM subscription_periods WHERE start_at < $1 PART`
	periodsAsOfSQL = `SELECT account_id, start_at, end_at, mrr_minor, currency || product COLUMN
		FROM subscription_period_versions WHERE start_at < $1 AND known_from <= $2 AND (known_to IS NULL OR known_to > $2) PART`
)

// part is what one reader of the periods collected, numbered on its own:
// span.unit is the part's account number, span.value its value number.
type part struct {
	accounts, curProducts, values, plans *interner
	spans                                []span
	iv                                   Interval
	to                                   int
}

func newPart(iv Interval, to int) *part {
	return &part{accounts: newInterner(math.MaxInt32), curProducts: newInterner(math.MaxUint16),
		values: newInterner(math.MaxUint16), plans: newInterner(math.MaxUint16), iv: iv, to: to}
}

// add takes one period; end < 0 means open; curProduct is the currency
// code followed by the product.
//
// It is generic over the text's type: database/sql hands SQLite's text over
// as strings and pgx as bytes, and converting either way would copy.
func add[T string | []byte](p *part, acct T, start, end, mrr int64, curProduct, value, plan T) error {
	a, _, err := index(p.accounts, acct)
	if err != nil {
		return err
	}
	s := span{unit: a, first: int32(p.iv.bucketOf(start)), last: int32(p.to), mrr: mrr}
	if end >= 0 {
		s.last = int32(p.iv.bucketOf(end) - 1)
	}
	if len(curProduct) < 3 {
		return fmt.Errorf("metrics: subscription period of %s: currency %q is not a 3-letter code", acct, curProduct)
	}
	cp, _, err := index(p.curProducts, curProduct)
	if err != nil {
		return err
	}
	v, _, err := index(p.values, value)
	if err != nil {
		return err
	}
	pl, _, err := index(p.plans, plan)
	if err != nil {
		return err
	}
	s.cur, s.value, s.plan = uint16(cp), uint16(v), uint16(pl)
	p.spans = append(p.spans, s)
	return nil
}

// parallelReaders is how many connections read a SQLite table at once: the
// read is CPU-bound in the driver, and the machines Kizuna is sized for have
// two cores or more.
const parallelReaders = 2

// load reads every period that starts before the end of bucket to, with
// its plan when withPlan (for gross margins by plan).
func load(ctx context.Context, q store.Querier, iv Interval, by string, asOf *time.Time, to int, withPlan bool) (*source, error) {
	dim, perPeriod := periodDimensions[by]
	var accountGroup map[string]string
	if by != "" && !perPeriod {
		var err error
		if accountGroup, err = accountGroups(ctx, q, by, asOf); err != nil {
			return nil, err
		}
	}
	column := ""
	switch {
	case withPlan && perPeriod:
		column = ", " + dim + ", plan"
	case withPlan:
		column = ", '', plan"
	case perPeriod:
		column = ", " + dim
	}
	query, args := periodsSQL, []any{iv.start(to + 1)}
	table := "subscription_periods"
	if asOf != nil {
		query, args, table = periodsAsOfSQL, append(args, asOf.Unix()), "subscription_period_versions"
	}
	query = strings.Replace(query, "COLUMN", column, 1)

	var parts []*part
	db, _ := q.(*store.DB)
	switch {
	case db != nil && db.Dialect == store.Postgres:
		p := newPart(iv, to)
		if err := db.RawRows(ctx, strings.Replace(query, "PART", "", 1), args, p.addRaw); err != nil {
			return nil, fmt.Errorf("metrics: read subscription periods: %w", err)
		}
		parts = append(parts, p)
	case db != nil && db.Dialect == store.SQLite:
		var lo, hi sql.NullInt64
		// Two subqueries: SQLite answers a lone MIN or MAX from the b-tree's
		// ends, but scans the table for both in one SELECT.
		if err := db.QueryRowContext(ctx, `SELECT (SELECT MIN(rowid) FROM `+table+`), (SELECT MAX(rowid) FROM `+table+`)`).Scan(&lo, &hi); err != nil {
			return nil, fmt.Errorf("metrics: read subscription periods: %w", err)
		}
		query = strings.Replace(query, "PART", fmt.Sprintf("AND rowid >= $%d AND rowid < $%d", len(args)+1, len(args)+2), 1)
		step := (hi.Int64-lo.Int64)/parallelReaders + 1
		parts = make([]*part, parallelReaders)
		errs := make(chan error, parallelReaders)
		for i := range parts {
			parts[i] = newPart(iv, to)
			from := lo.Int64 + int64(i)*step
			go func() { errs <- parts[i].scan(ctx, db, query, append(slices.Clone(args), from, from+step)) }()
		}
		for range parts {
			if err := <-errs; err != nil {
				return nil, err
			}
		}
	default: // a transaction: one reader
		p := newPart(iv, to)
		if err := p.scan(ctx, q, strings.Replace(query, "PART", "", 1), args); err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return merge(parts, perPeriod, accountGroup, by), nil
}

// scan reads the periods query returns through database/sql.
func (p *part) scan(ctx context.Context, q store.Querier, query string, args []any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("metrics: read subscription periods: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("metrics: read subscription periods: %w", err)
	}
	// Scanning into *any hands over the driver's values as they are, with
	// no conversion by reflection: a third of the time of a million rows.
	values := make([]any, len(cols))
	dest := make([]any, len(cols))
	for i := range values {
		dest[i] = &values[i]
	}
	text := func(i int) (string, error) {
		if i >= len(values) {
			return "", nil
		}
		switch v := values[i].(type) {
		case string:
			return v, nil
		case []byte:
			return string(v), nil
		case nil:
			return "", nil
		}
		return "", fmt.Errorf("metrics: read subscription periods: column %s is %T, not text", cols[i], values[i])
	}
	integer := func(i int) (int64, error) {
		switch v := values[i].(type) {
		case int64:
			return v, nil
		case nil:
			return -1, nil
		}
		return 0, fmt.Errorf("metrics: read subscription periods: column %s is %T, not an integer", cols[i], values[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("metrics: read subscription periods: %w", err)
		}
		var ints [3]int64
		for i := range ints {
			if ints[i], err = integer(i + 1); err != nil {
				return err
			}
		}
		var texts [4]string
		for i, col := range [4]int{0, 4, 5, 6} {
			if texts[i], err = text(col); err != nil {
				return err
			}
		}
		if err := add(p, texts[0], ints[0], ints[1], ints[2], texts[1], texts[2], texts[3]); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("metrics: read subscription periods: %w", err)
	}
	return nil
}

// addRaw takes one row of PostgreSQL's raw values.
func (p *part) addRaw(v [][]byte, formats []store.RawFormat) error {
	var ints [3]int64
	for i, col := range [3]int{1, 2, 3} { // start_at, end_at, mrr_minor
		b := v[col]
		switch {
		case b == nil:
			ints[i] = -1
		case formats[col] == store.RawBinary && len(b) == 8:
			ints[i] = int64(binary.BigEndian.Uint64(b))
		default:
			n, err := strconv.ParseInt(string(b), 10, 64)
			if err != nil {
				return fmt.Errorf("metrics: read subscription periods: column %d: %w", col+1, err)
			}
			ints[i] = n
		}
	}
	var value, plan []byte
	if len(v) > 5 {
		value = v[5]
	}
	if len(v) > 6 {
		plan = v[6]
	}
	return add(p, v[0], ints[0], ints[1], ints[2], v[4], value, plan)
}

// merge numbers the parts' accounts, currencies, products and breakdown
// values across parts (an account may be in two), and makes the units.
func merge(parts []*part, perPeriod bool, accountGroup map[string]string, by string) *source {
	src := &source{}
	groupIndex := map[string]int{}
	group := func(v string) int {
		g, ok := groupIndex[v]
		if !ok {
			g = len(groupIndex)
			groupIndex[v] = g
			src.groups = append(src.groups, v)
		}
		return g
	}
	if by == "" {
		group("")
	}
	// The first part's accounts keep their numbers; the others' are looked
	// up among them (parts split the table by rowid, so few are shared).
	accounts, currencies, products, plans := parts[0].accounts, newInterner(math.MaxUint16), newInterner(math.MaxUint16), newInterner(math.MaxUint16)
	remap := func(global *interner, local *interner) []int32 {
		out := make([]int32, len(local.values))
		for i, v := range local.values {
			if global == local {
				out[i] = int32(i)
				continue
			}
			out[i], _, _ = index(global, v) // limits were checked per part
		}
		return out
	}
	units := map[[2]int32]int32{} // (account, group) → unit, for period breakdowns
	n := 0
	for _, p := range parts {
		n += len(p.spans)
	}
	src.spans = make([]span, 0, n)
	for _, p := range parts {
		acct, plan := remap(accounts, p.accounts), remap(plans, p.plans)
		cur, prod := make([]int32, len(p.curProducts.values)), make([]int32, len(p.curProducts.values))
		for i, cp := range p.curProducts.values {
			cur[i], _, _ = index(currencies, cp[:3])
			prod[i], _, _ = index(products, cp[3:])
		}
		var vals []int
		if perPeriod {
			vals = make([]int, len(p.values.values))
			for i, v := range p.values.values {
				vals[i] = group(v)
			}
		}
		for len(src.unitGroup) < len(accounts.values) && !perPeriod {
			src.unitGroup = append(src.unitGroup, group(accountGroup[accounts.values[len(src.unitGroup)]]))
		}
		for _, s := range p.spans {
			s.unit, s.cur, s.product, s.plan = acct[s.unit], uint16(cur[s.cur]), uint16(prod[s.cur]), uint16(plan[s.plan])
			if perPeriod {
				key := [2]int32{s.unit, int32(vals[s.value])}
				u, ok := units[key]
				if !ok {
					u = int32(len(units))
					units[key] = u
					src.unitGroup = append(src.unitGroup, int(key[1]))
				}
				s.unit = u
			}
			src.spans = append(src.spans, s)
		}
		p.spans = nil // the merged copy is all that is needed now
	}
	src.currencies, src.products, src.plans = currencies.values, products.values, plans.values
	src.sortGroups()
	return src
}

// interner numbers distinct values in the order they are first seen. The
// periods of one account (and their currency and product) mostly come one
// after the other, so the last value is checked before the map.
type interner struct {
	ids    map[string]int32
	values []string
	last   []byte
	lastID int32
	limit  int
}

func newInterner(limit int) *interner {
	return &interner{ids: map[string]int32{}, lastID: -1, limit: limit}
}

// index returns b's number, and whether b was new.
func index[T string | []byte](in *interner, b T) (int32, bool, error) {
	if in.lastID >= 0 && string(b) == string(in.last) {
		return in.lastID, false, nil
	}
	id, ok := in.ids[string(b)]
	if !ok {
		if len(in.ids) >= in.limit {
			return 0, false, fmt.Errorf("metrics: more than %d distinct values", in.limit)
		}
		id = int32(len(in.values))
		v := string(b)
		in.ids[v] = id
		in.values = append(in.values, v)
	}
	in.last = append(in.last[:0], b...)
	in.lastID = id
	return id, !ok, nil
}

// sortGroups puts the groups in name order, renumbering the units' groups.
func (src *source) sortGroups() {
	order := make([]int, len(src.groups))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(src.groups[a], src.groups[b]) })
	newIndex := make([]int, len(order))
	sorted := make([]string, len(order))
	for n, old := range order {
		newIndex[old] = n
		sorted[n] = src.groups[old]
	}
	src.groups = sorted
	for u, g := range src.unitGroup {
		src.unitGroup[u] = newIndex[g]
	}
}

// accountGroups maps each account to its value of an account-level
// breakdown: its owner, tier or custom attribute.
func accountGroups(ctx context.Context, q store.Querier, by string, asOf *time.Time) (map[string]string, error) {
	var query string
	var args []any
	switch {
	case by == "owner":
		query = `SELECT account_id, COALESCE(owner_email, '') FROM accounts`
	case by == "tier" || strings.HasPrefix(by, "attr:"):
		name := strings.TrimPrefix(by, "attr:")
		if by == "tier" {
			var err error
			if name, err = TierAttribute(ctx, q); err != nil {
				return nil, err
			}
		}
		if name == "" {
			return nil, fmt.Errorf("%w: by attr: needs an attribute name (attr:segment)", ErrBadOptions)
		}
		query, args = `SELECT account_id, value FROM account_attributes WHERE name = $1`, []any{name}
	default:
		return nil, fmt.Errorf("%w: cannot break down by %q: want plan, product, currency, owner, tier or attr:NAME", ErrBadOptions, by)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("metrics: breakdown by %s: %w", by, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("metrics: breakdown by %s: %w", by, err)
		}
		out[id] = v
	}
	return out, rows.Err()
}

// TierAttribute is the custom account attribute that `by tier` groups on:
// the tier_attribute setting, default "segment" (what the demo sets).
func TierAttribute(ctx context.Context, q store.Querier) (string, error) {
	return setting(ctx, q, "tier_attribute", "segment")
}

func setting(ctx context.Context, q store.Querier, key, def string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if err == sql.ErrNoRows {
		return def, nil
	}
	if err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	return v, nil
}

// costs sums the costs of kind (acquisition or retention) of each month
// lo..to in minor units of the reporting currency (converted at the month's
// end), NaN for a month with none. With asOf, costs recorded after it are
// left out.
func costs(ctx context.Context, q store.Querier, kind string, conv *billing.Converter, repExp int, asOf *time.Time, lo, to int) ([]float64, error) {
	out := make([]float64, to-lo+1)
	for i := range out {
		out[i] = math.NaN()
	}
	var known int64 = math.MaxInt64
	if asOf != nil {
		known = asOf.Unix()
	}
	rows, err := q.QueryContext(ctx, `SELECT month, currency, amount_minor FROM costs WHERE kind = $1 AND recorded_at <= $2`, kind, known)
	if err != nil {
		return nil, fmt.Errorf("metrics: read costs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var month, cur string
		var amount int64
		if err := rows.Scan(&month, &cur, &amount); err != nil {
			return nil, fmt.Errorf("metrics: read costs: %w", err)
		}
		m, err := ParseMonth(month)
		if err != nil {
			return nil, fmt.Errorf("metrics: cost month: %w", err)
		}
		k := Month.bucketOf(m.Unix()) - lo
		if k < 0 || k >= len(out) {
			continue
		}
		v, err := conv.Convert(amount, cur, time.Unix(Month.end(lo+k), 0))
		if err != nil {
			return nil, fmt.Errorf("metrics: %s costs of %s: %w", kind, month, err)
		}
		if math.IsNaN(out[k]) {
			out[k] = 0
		}
		out[k] += v * math.Pow10(repExp)
	}
	return out, rows.Err()
}

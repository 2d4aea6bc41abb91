package metrics

import (
	"context"
	"database/sql"
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
	units      int
	unitGroup  []int
	groups     []string // breakdown values in name order; one "" without a breakdown
	currencies []string
	products   []string
}

// periodDimensions are the breakdowns that split an account's MRR by a
// column of its periods; the others group whole accounts.
var periodDimensions = map[string]string{"plan": "plan", "product": "product", "currency": "currency"}

// periodsSQL reads the periods that start before the table's end: the
// current ones, or (with an as-of time as $2) the versions Kizuna knew then.
const (
	periodsSQL     = `SELECT account_id, start_at, end_at, mrr_minor, currency, plan, product FROM subscription_periods WHERE start_at < $1`
	periodsAsOfSQL = `SELECT account_id, start_at, end_at, mrr_minor, currency, plan, product FROM subscription_period_versions
		WHERE start_at < $1 AND known_from <= $2 AND (known_to IS NULL OR known_to > $2)`
)

// load reads every period that starts before the end of bucket to.
func load(ctx context.Context, q store.Querier, iv Interval, by string, asOf *time.Time, to int) (*source, error) {
	dim, perPeriod := periodDimensions[by]
	var accountGroup map[string]string
	if by != "" && !perPeriod {
		var err error
		if accountGroup, err = accountGroups(ctx, q, by, asOf); err != nil {
			return nil, err
		}
	}
	query, args := periodsSQL, []any{iv.start(to + 1)}
	if asOf != nil {
		query, args = periodsAsOfSQL, append(args, asOf.Unix())
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("metrics: read subscription periods: %w", err)
	}
	defer rows.Close()

	src := &source{}
	accounts := map[string]int32{}
	units := map[[2]int32]int32{} // (account, group) → unit, for period breakdowns
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
	curIndex, productIndex := map[string]uint16{}, map[string]uint16{}
	intern := func(m map[string]uint16, list *[]string, b []byte) (uint16, error) {
		if i, ok := m[string(b)]; ok {
			return i, nil
		}
		if len(m) == math.MaxUint16 {
			return 0, fmt.Errorf("metrics: more than %d distinct values", math.MaxUint16)
		}
		s := string(b)
		m[s] = uint16(len(m))
		*list = append(*list, s)
		return m[s], nil
	}
	var (
		acct, cur, plan, product sql.RawBytes
		start                    int64
		end                      sql.NullInt64
		mrr                      int64
	)
	for rows.Next() {
		if err := rows.Scan(&acct, &start, &end, &mrr, &cur, &plan, &product); err != nil {
			return nil, fmt.Errorf("metrics: read subscription periods: %w", err)
		}
		a, ok := accounts[string(acct)]
		if !ok {
			a = int32(len(accounts))
			id := string(acct)
			accounts[id] = a
			if !perPeriod {
				src.unitGroup = append(src.unitGroup, group(accountGroup[id]))
			}
		}
		s := span{first: int32(iv.bucketOf(start)), last: int32(to), mrr: mrr}
		if end.Valid {
			s.last = int32(iv.bucketOf(end.Int64) - 1)
		}
		if s.cur, err = intern(curIndex, &src.currencies, cur); err != nil {
			return nil, err
		}
		if s.product, err = intern(productIndex, &src.products, product); err != nil {
			return nil, err
		}
		s.unit = a
		if perPeriod {
			v := cur
			switch dim {
			case "plan":
				v = plan
			case "product":
				v = product
			}
			key := [2]int32{a, int32(group(string(v)))}
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metrics: read subscription periods: %w", err)
	}
	src.units = len(src.unitGroup)
	if by == "" && src.units == 0 {
		src.unitGroup = nil
	}
	src.sortGroups()
	return src, nil
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

// GrossMargin is the gross margin LTV is multiplied by: the gross_margin
// setting (a fraction), default 1.
func GrossMargin(ctx context.Context, q store.Querier) (float64, error) {
	s, err := setting(ctx, q, "gross_margin", "1")
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || v > 1 {
		return 0, fmt.Errorf("setting gross_margin: %q is not a fraction in (0, 1]", s)
	}
	return v, nil
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

// acquisitionCosts sums the acquisition costs of each month lo..to in minor
// units of the reporting currency (converted at the month's end), NaN for a
// month with none. With asOf, costs recorded after it are left out.
func acquisitionCosts(ctx context.Context, q store.Querier, conv *billing.Converter, repExp int, asOf *time.Time, lo, to int) ([]float64, error) {
	out := make([]float64, to-lo+1)
	for i := range out {
		out[i] = math.NaN()
	}
	var known int64 = math.MaxInt64
	if asOf != nil {
		known = asOf.Unix()
	}
	rows, err := q.QueryContext(ctx, `SELECT month, currency, amount_minor FROM costs WHERE kind = 'acquisition' AND recorded_at <= $1`, known)
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
			return nil, fmt.Errorf("metrics: acquisition costs of %s: %w", month, err)
		}
		if math.IsNaN(out[k]) {
			out[k] = 0
		}
		out[k] += v * math.Pow10(repExp)
	}
	return out, rows.Err()
}

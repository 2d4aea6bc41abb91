package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// ErrNotFound is returned when a subscription period does not exist.
var ErrNotFound = errors.New("not found")

// PeriodSorts are the fields subscription periods can be listed by.
var PeriodSorts = []string{"start_date", "subscription_id"}

// PeriodFilter selects a page of subscription periods for [SearchPeriods].
type PeriodFilter struct {
	AccountID      string     // only this account's periods
	SubscriptionID string     // only this subscription's periods
	ActiveAt       *time.Time // only periods covering this instant

	Sort string // one of PeriodSorts; default start_date
	Desc bool
	// AfterSubscription and AfterStart are the key of the last period of
	// the previous page (which is also its sort value under either sort);
	// AfterSubscription is empty for the first page.
	AfterSubscription string
	AfterStart        time.Time
	Limit             int // default 100
}

const periodColumns = `subscription_id, account_id, start_at, end_at, mrr_minor, currency, plan, product, quantity`

func scanPeriod(sc interface{ Scan(...any) error }) (Period, error) {
	var p Period
	var start int64
	var end sql.NullInt64
	var qty sql.NullFloat64
	if err := sc.Scan(&p.SubscriptionID, &p.AccountID, &start, &end, &p.MRRMinor, &p.Currency, &p.Plan, &p.Product, &qty); err != nil {
		return p, err
	}
	p.Start = time.Unix(start, 0).UTC()
	if end.Valid {
		e := time.Unix(end.Int64, 0).UTC()
		p.End = &e
	}
	if qty.Valid {
		p.Quantity = &qty.Float64
	}
	return p, nil
}

// GetPeriod returns the period of a subscription that starts at start, or ErrNotFound.
func GetPeriod(ctx context.Context, q store.Querier, subscriptionID string, start time.Time) (Period, error) {
	p, err := scanPeriod(q.QueryRowContext(ctx, `SELECT `+periodColumns+` FROM subscription_periods
		WHERE subscription_id = $1 AND start_at = $2`, subscriptionID, start.Unix()))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("period of %s from %s: %w", subscriptionID, start.Format(time.RFC3339), ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("get period of %s from %s: %w", subscriptionID, start.Format(time.RFC3339), err)
	}
	return p, nil
}

// SearchPeriods returns a page of subscription periods.
func SearchPeriods(ctx context.Context, q store.Querier, f PeriodFilter) ([]Period, error) {
	var active any
	if f.ActiveAt != nil {
		active = f.ActiveAt.Unix()
	}
	args := []any{f.AccountID, f.SubscriptionID, active}
	// Both orders end in the primary key, so a cursor is always the last
	// period's key.
	var afterStart any
	if f.AfterSubscription != "" {
		afterStart = f.AfterStart.Unix()
	}
	var cond, order string
	switch f.Sort {
	case "", "start_date":
		cond, order, args = store.Keyset("start_at", "subscription_id", f.Desc, afterStart, f.AfterSubscription, args)
	case "subscription_id":
		var after any // the first page when there is no cursor
		if f.AfterSubscription != "" {
			after = afterStart
		}
		cond, order, args = store.Keyset("subscription_id", "start_at", f.Desc, f.AfterSubscription, after, args)
	default:
		return nil, fmt.Errorf("search periods: unknown sort field %q (one of start_date, subscription_id)", f.Sort)
	}
	args = append(args, store.PageLimit(f.Limit))
	rows, err := q.QueryContext(ctx, `SELECT `+periodColumns+` FROM subscription_periods
		WHERE ($1 = '' OR account_id = $1) AND ($2 = '' OR subscription_id = $2)
		AND (CAST($3 AS BIGINT) IS NULL OR (start_at <= CAST($3 AS BIGINT) AND (end_at IS NULL OR CAST($3 AS BIGINT) < end_at)))
		AND `+cond+`
		ORDER BY `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("search periods: %w", err)
	}
	out, err := store.Collect(rows, scanPeriod)
	if err != nil {
		return nil, fmt.Errorf("search periods: %w", err)
	}
	return out, nil
}

// DeletePeriod removes the period of a subscription that starts at start, or returns ErrNotFound.
func DeletePeriod(ctx context.Context, q store.Querier, subscriptionID string, start time.Time) error {
	res, err := q.ExecContext(ctx, `DELETE FROM subscription_periods WHERE subscription_id = $1 AND start_at = $2`,
		subscriptionID, start.Unix())
	if err != nil {
		return fmt.Errorf("delete period of %s from %s: %w", subscriptionID, start.Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete period of %s from %s: %w", subscriptionID, start.Format(time.RFC3339), err)
	}
	if n == 0 {
		return fmt.Errorf("period of %s from %s: %w", subscriptionID, start.Format(time.RFC3339), ErrNotFound)
	}
	return nil
}

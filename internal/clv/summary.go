// Package clv models customer lifetime value for purchase-based businesses:
// BG/NBD for the number of future purchases, Gamma-Gamma for their value, and
// the discounted value of both, fitted from a per-customer summary of the
// orders table.
package clv

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Customer is one customer's purchase summary at the calibration end, with
// times in a Unit counted from the first purchase.
type Customer struct {
	ID string
	// X is the number of repeat purchases (purchases after the first; several
	// orders on one day are one purchase).
	X int
	// Tx is the time of the last purchase, T the customer's age at the end of
	// the calibration period.
	Tx, T float64
	// Zbar is the mean value of the repeat purchases (0 when X = 0), in the
	// reporting currency.
	Zbar float64
}

func (c Customer) validate() error {
	switch {
	case c.X < 0:
		return fmt.Errorf("negative purchase count %d", c.X)
	case c.T < 0 || c.Tx < 0 || math.IsNaN(c.T) || math.IsNaN(c.Tx):
		return fmt.Errorf("negative or missing time (t_x=%v, T=%v)", c.Tx, c.T)
	case c.Tx > c.T:
		return fmt.Errorf("last purchase t_x=%v after the end T=%v", c.Tx, c.T)
	case c.X == 0 && c.Tx != 0:
		return fmt.Errorf("t_x=%v without repeat purchases", c.Tx)
	}
	return nil
}

// Unit is the time unit of a summary.
type Unit string

// The units a summary can be made in. A month is 365.25/12 days.
const (
	Day   Unit = "day"
	Week  Unit = "week"
	Month Unit = "month"
)

// Days is the length of the unit in days.
func (u Unit) Days() (float64, error) {
	switch u {
	case Day:
		return 1, nil
	case Week:
		return 7, nil
	case Month:
		return 365.25 / 12, nil
	}
	return 0, fmt.Errorf("unknown unit %q (want day, week or month)", string(u))
}

// Purchase is one order of a customer: its day number (store.Day) and value.
type Purchase struct {
	Customer string
	Day      int64
	Value    float64
}

// Summarize turns purchases into customer summaries at the end of day
// calEnd (inclusive): orders of one customer on one day are merged into one
// purchase (values added), the first purchase starts the customer's clock and
// is not counted in X nor in Zbar, and customers whose first purchase is after
// calEnd are left out. The result is in customer id order.
func Summarize(ps []Purchase, calEnd int64, unit Unit) ([]Customer, error) {
	days, err := unit.Days()
	if err != nil {
		return nil, err
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Customer != ps[j].Customer {
			return ps[i].Customer < ps[j].Customer
		}
		return ps[i].Day < ps[j].Day
	})
	var out []Customer
	for i := 0; i < len(ps); {
		j := i
		for j < len(ps) && ps[j].Customer == ps[i].Customer {
			j++
		}
		first, last := ps[i].Day, ps[i].Day
		if first <= calEnd {
			x, sum := 0, 0.0
			for k := i; k < j && ps[k].Day <= calEnd; k++ {
				if ps[k].Day == first {
					continue
				}
				if ps[k].Day != last {
					x++
					last = ps[k].Day
				}
				sum += ps[k].Value
			}
			c := Customer{ID: ps[i].Customer, X: x, Tx: float64(last-first) / days, T: float64(calEnd-first) / days}
			if x > 0 {
				c.Zbar = sum / float64(x)
			}
			out = append(out, c)
		}
		i = j
	}
	return out, nil
}

// ErrNoOrders is returned when no order is on or before the calibration end.
var ErrNoOrders = errors.New("no orders on or before the calibration end")

// FromOrders summarises the orders table per account up to the end of day
// calEnd, with amounts converted into the reporting currency at each order's
// date.
func FromOrders(ctx context.Context, q store.Querier, calEnd time.Time, unit Unit) ([]Customer, error) {
	conv, err := billing.LoadConverter(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("clv summary: %w", err)
	}
	end := store.Day(calEnd.Unix())
	rows, err := q.QueryContext(ctx, `SELECT account_id, ordered_at, amount_minor, currency FROM orders
		WHERE ordered_at < $1 ORDER BY account_id, ordered_at`, (end+1)*86400)
	if err != nil {
		return nil, fmt.Errorf("clv summary: read orders: %w", err)
	}
	defer rows.Close()
	var ps []Purchase
	for rows.Next() {
		var p Purchase
		var at, minor int64
		var cur string
		if err := rows.Scan(&p.Customer, &at, &minor, &cur); err != nil {
			return nil, fmt.Errorf("clv summary: read orders: %w", err)
		}
		if p.Value, err = conv.Convert(minor, cur, time.Unix(at, 0)); err != nil {
			return nil, fmt.Errorf("clv summary: order of %s: %w", p.Customer, err)
		}
		p.Day = store.Day(at)
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clv summary: read orders: %w", err)
	}
	if len(ps) == 0 {
		return nil, ErrNoOrders
	}
	return Summarize(ps, end, unit)
}

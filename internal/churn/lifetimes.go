package churn

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/survival"
)

// LifetimeOptions select the lifetimes Survival estimates.
type LifetimeOptions struct {
	// At is the end of observation (zero: now). Periods starting after it
	// are ignored; accounts still paying at At are censored there.
	At time.Time
	// By groups the curves: "" (one curve), "plan" (the plan of the first
	// paid period), "cohort" (the year it started) or "attr:NAME" (the
	// custom attribute's stored value; "(none)" when missing).
	By string
	// Unit is "day" (default) or "month": whole calendar months, so that
	// a period from Jan 15 to Apr 15 lasts exactly 3.
	Unit string
	// Where keeps only the accounts matching every filter, each
	// "attr:NAME=VALUE" or "attr:NAME!=VALUE" on the stored attribute
	// value (a missing attribute is the empty value).
	Where []string
}

type filter struct {
	name, value string
	not         bool
}

func parseFilter(s string) (filter, error) {
	rest, ok := strings.CutPrefix(s, "attr:")
	if ok {
		if name, value, found := strings.Cut(rest, "!="); found && name != "" {
			return filter{name: name, value: value, not: true}, nil
		}
		if name, value, found := strings.Cut(rest, "="); found && name != "" {
			return filter{name: name, value: value}, nil
		}
	}
	return filter{}, fmt.Errorf("filter %q: want attr:NAME=VALUE or attr:NAME!=VALUE", s)
}

// attribute loads one custom attribute's stored values by account.
func attribute(ctx context.Context, q store.Querier, name string) (map[string]string, error) {
	values := map[string]string{}
	rows, err := q.QueryContext(ctx, `SELECT account_id, value FROM account_attributes WHERE name = $1`, name)
	if err != nil {
		return nil, fmt.Errorf("attribute %q: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		values[id] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("attribute %q: %w", name, err)
	}
	return values, nil
}

// lifetimes are the accounts' times as paying customers: from the start of
// each one's first paid subscription period to the end of its last one. A gap
// between periods does not end the lifetime; paying again later does not
// start a new one.
func lifetimes(ctx context.Context, q store.Querier, opt LifetimeOptions) ([]survival.Observation, error) {
	at := opt.At.Unix()
	type life struct {
		start, end int64
		open       bool
		plan       string
	}
	var order []string
	lives := map[string]*life{}
	rows, err := q.QueryContext(ctx, `SELECT account_id, start_at, end_at, plan FROM subscription_periods
		WHERE mrr_minor > 0 AND start_at <= $1 ORDER BY account_id, start_at`, at)
	if err != nil {
		return nil, fmt.Errorf("customer lifetimes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, plan string
		var start int64
		var end sql.NullInt64
		if err := rows.Scan(&id, &start, &end, &plan); err != nil {
			return nil, fmt.Errorf("customer lifetimes: %w", err)
		}
		l := lives[id]
		if l == nil {
			l = &life{start: start, plan: plan}
			lives[id] = l
			order = append(order, id)
		}
		if !end.Valid || end.Int64 > at {
			l.open = true
		} else if end.Int64 > l.end {
			l.end = end.Int64
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("customer lifetimes: %w", err)
	}
	var attr map[string]string
	if name, ok := strings.CutPrefix(opt.By, "attr:"); ok {
		if name == "" {
			return nil, OptionError{fmt.Errorf("customer lifetimes: --by attr:NAME needs an attribute name")}
		}
		if attr, err = attribute(ctx, q, name); err != nil {
			return nil, fmt.Errorf("customer lifetimes: %w", err)
		}
	} else if opt.By != "" && opt.By != "plan" && opt.By != "cohort" {
		return nil, OptionError{fmt.Errorf("customer lifetimes: group by %q: want plan, cohort or attr:NAME", opt.By)}
	}
	for _, w := range opt.Where {
		f, err := parseFilter(w)
		if err != nil {
			return nil, OptionError{fmt.Errorf("customer lifetimes: %w", err)}
		}
		values, err := attribute(ctx, q, f.name)
		if err != nil {
			return nil, fmt.Errorf("customer lifetimes: %w", err)
		}
		kept := order[:0]
		for _, id := range order {
			if (values[id] == f.value) != f.not {
				kept = append(kept, id)
			}
		}
		order = kept
	}
	obs := make([]survival.Observation, 0, len(order))
	for _, id := range order {
		l := lives[id]
		end := l.end
		if l.open {
			end = at
		}
		o := survival.Observation{Event: !l.open}
		switch opt.Unit {
		case "", "day":
			o.Duration = float64(end-l.start) / 86400
		case "month":
			o.Duration = float64(months(time.Unix(l.start, 0).UTC(), time.Unix(end, 0).UTC()))
		default:
			return nil, OptionError{fmt.Errorf("customer lifetimes: unit %q: want day or month", opt.Unit)}
		}
		switch {
		case opt.By == "plan":
			o.Group = l.plan
		case opt.By == "cohort":
			o.Group = time.Unix(l.start, 0).UTC().Format("2006")
		case attr != nil:
			o.Group = attr[id]
			if o.Group == "" {
				o.Group = "(none)"
			}
		}
		obs = append(obs, o)
	}
	return obs, nil
}

// months is the number of whole calendar months from a to b.
func months(a, b time.Time) int {
	n := (b.Year()-a.Year())*12 + int(b.Month()-a.Month())
	if n > 0 && a.AddDate(0, n, 0).After(b) {
		n--
	}
	return n
}

// Survival estimates Kaplan–Meier curves of customer lifetime from the
// stored subscription periods.
func Survival(ctx context.Context, q store.Querier, opt LifetimeOptions) ([]survival.Curve, error) {
	if opt.At.IsZero() {
		opt.At = time.Now()
	}
	obs, err := lifetimes(ctx, q, opt)
	if err != nil {
		return nil, err
	}
	curves, err := survival.ByGroup(obs)
	if err != nil {
		return nil, fmt.Errorf("customer survival: %w", err)
	}
	return curves, nil
}

// OptionError is an error in what the caller asked for (a bad option, too
// little data for it), as opposed to a failure reading the database.
type OptionError struct{ Err error }

// Error is the underlying error's message.
func (e OptionError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e OptionError) Unwrap() error { return e.Err }

// Package billing owns what customers pay: subscription periods with their
// MRR, one-off orders, acquisition and retention costs, the reporting
// currency and the exchange rates into it.
package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/money"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Period is one subscription period at one price. End is exclusive; nil while open.
type Period struct {
	SubscriptionID string     `json:"subscription_id"`
	AccountID      string     `json:"account_id"`
	Start          time.Time  `json:"start"`
	End            *time.Time `json:"end,omitempty"`
	MRRMinor       int64      `json:"mrr_minor"`
	Currency       string     `json:"currency"`
	Plan           string     `json:"plan,omitempty"`
	Product        string     `json:"product,omitempty"`
	Quantity       *float64   `json:"quantity,omitempty"`
}

// ActiveAt reports whether the period covers instant t (start ≤ t < end).
func (p Period) ActiveAt(t time.Time) bool {
	return !t.Before(p.Start) && (p.End == nil || t.Before(*p.End))
}

// ErrOverlap is returned when two periods of one subscription overlap.
var ErrOverlap = errors.New("periods of one subscription overlap")

// UpsertPeriod stores one period (keyed by subscription and start), refusing
// one that overlaps another period of the same subscription.
func UpsertPeriod(ctx context.Context, q store.Querier, p Period) error {
	if p.SubscriptionID == "" || p.AccountID == "" {
		return errors.New("upsert period: subscription_id and account_id are required")
	}
	if p.End != nil && !p.End.After(p.Start) {
		return fmt.Errorf("upsert period %s: end %s is not after start %s", p.SubscriptionID, p.End.Format(time.RFC3339), p.Start.Format(time.RFC3339))
	}
	cur := strings.ToUpper(p.Currency)
	if _, err := money.Currency(cur); err != nil {
		return fmt.Errorf("upsert period %s: %w", p.SubscriptionID, err)
	}
	var end any
	if p.End != nil {
		end = p.End.Unix()
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM subscription_periods WHERE subscription_id = $1 AND start_at <> $2
		AND start_at < COALESCE(CAST($3 AS BIGINT), 9223372036854775807) AND $2 < COALESCE(end_at, 9223372036854775807)`,
		p.SubscriptionID, p.Start.Unix(), end).Scan(&n); err != nil {
		return fmt.Errorf("upsert period %s: %w", p.SubscriptionID, err)
	}
	if n > 0 {
		return fmt.Errorf("upsert period %s from %s: %w", p.SubscriptionID, p.Start.Format("2006-01-02"), ErrOverlap)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO subscription_periods (subscription_id, start_at, end_at, account_id, mrr_minor,
			currency, plan, product, quantity, recorded_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
		ON CONFLICT (subscription_id, start_at) DO UPDATE SET end_at = excluded.end_at, account_id = excluded.account_id,
			mrr_minor = excluded.mrr_minor, currency = excluded.currency, plan = excluded.plan, product = excluded.product,
			quantity = excluded.quantity, updated_at = excluded.updated_at
		WHERE subscription_periods.end_at IS DISTINCT FROM excluded.end_at OR subscription_periods.account_id <> excluded.account_id
			OR subscription_periods.mrr_minor <> excluded.mrr_minor OR subscription_periods.currency <> excluded.currency
			OR subscription_periods.plan <> excluded.plan OR subscription_periods.product <> excluded.product
			OR subscription_periods.quantity IS DISTINCT FROM excluded.quantity`,
		p.SubscriptionID, p.Start.Unix(), end, p.AccountID, p.MRRMinor, cur, p.Plan, p.Product, p.Quantity, store.Now())
	if err != nil {
		return fmt.Errorf("upsert period %s: %w", p.SubscriptionID, err)
	}
	return nil
}

// Periods returns an account's subscription periods in start order.
func Periods(ctx context.Context, q store.Querier, accountID string) ([]Period, error) {
	rows, err := q.QueryContext(ctx, `SELECT subscription_id, account_id, start_at, end_at, mrr_minor, currency, plan, product, quantity
		FROM subscription_periods WHERE account_id = $1 ORDER BY start_at, subscription_id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("periods of %s: %w", accountID, err)
	}
	defer rows.Close()
	var out []Period
	for rows.Next() {
		var p Period
		var start int64
		var end sql.NullInt64
		var qty sql.NullFloat64
		if err := rows.Scan(&p.SubscriptionID, &p.AccountID, &start, &end, &p.MRRMinor, &p.Currency, &p.Plan, &p.Product, &qty); err != nil {
			return nil, err
		}
		p.Start = time.Unix(start, 0).UTC()
		if end.Valid {
			e := time.Unix(end.Int64, 0).UTC()
			p.End = &e
		}
		if qty.Valid {
			p.Quantity = &qty.Float64
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// StagePeriods is the staging layout MergePeriods reads (after the line column).
const StagePeriods = `subscription_id TEXT NOT NULL, start_at BIGINT NOT NULL, end_at BIGINT, account_id TEXT NOT NULL,
	mrr_minor BIGINT NOT NULL, currency TEXT NOT NULL, plan TEXT NOT NULL, product TEXT NOT NULL, quantity DOUBLE PRECISION`

// StagePeriodsColumns are StagePeriods' column names, in order.
var StagePeriodsColumns = []string{"subscription_id", "start_at", "end_at", "account_id", "mrr_minor", "currency", "plan", "product", "quantity"}

// OverlapsSQL lists staged periods that overlap another staged period of the
// same subscription (the earlier line wins) or a stored one that the file does
// not replace; rows of (line, subscription_id, other_line, other_start), one
// per overlapping line, naming the first period it overlaps (stored ones
// first, then by line) and that period's start. other_line is 0 for a stored period.
func OverlapsSQL(stage string) string {
	const inf = "9223372036854775807"
	return `WITH eff AS (
		SELECT line, subscription_id, start_at, end_at FROM ` + stage + `
		UNION ALL
		SELECT 0, p.subscription_id, p.start_at, p.end_at FROM subscription_periods p
		WHERE p.subscription_id IN (SELECT subscription_id FROM ` + stage + `)
		AND NOT EXISTS (SELECT 1 FROM ` + stage + ` s WHERE s.subscription_id = p.subscription_id AND s.start_at = p.start_at))
	SELECT line, subscription_id, other_line, other_start FROM (
		SELECT a.line, a.subscription_id, b.line AS other_line, b.start_at AS other_start,
			ROW_NUMBER() OVER (PARTITION BY a.line, a.subscription_id ORDER BY b.line, b.start_at) AS n
		FROM eff a JOIN eff b
		ON a.subscription_id = b.subscription_id AND a.line > b.line
		AND a.start_at < COALESCE(b.end_at, ` + inf + `) AND b.start_at < COALESCE(a.end_at, ` + inf + `)) o
	WHERE n = 1`
}

// MergePeriods upserts the staged periods.
func MergePeriods(ctx context.Context, q store.Querier, stage string, now int64) (int64, error) {
	return store.MergeStaged(ctx, q, store.Merge{Stage: stage, Target: "subscription_periods",
		Key: []string{"subscription_id", "start_at"}, Now: now,
		Columns: []string{"end_at", "account_id", "mrr_minor", "currency", "plan", "product", "quantity"}})
}

// ReportingCurrency is the currency every amount is converted into for metrics.
func ReportingCurrency(ctx context.Context, q store.Querier) (string, error) {
	var c string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'reporting_currency'`).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "USD", nil
	}
	if err != nil {
		return "", fmt.Errorf("reporting currency: %w", err)
	}
	return c, nil
}

// SetReportingCurrency changes the reporting currency.
func SetReportingCurrency(ctx context.Context, q store.Querier, code string) error {
	code = strings.ToUpper(code)
	if _, err := money.Currency(code); err != nil {
		return fmt.Errorf("set reporting currency: %w", err)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('reporting_currency', $1)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, code)
	return err
}

// SetFXRate records that from day on, one unit of currency is worth rate units of the reporting currency.
func SetFXRate(ctx context.Context, q store.Querier, currency string, from time.Time, rate float64) error {
	currency = strings.ToUpper(currency)
	if _, err := money.Currency(currency); err != nil {
		return fmt.Errorf("set fx rate: %w", err)
	}
	if !(rate > 0) {
		return fmt.Errorf("set fx rate %s: rate %v must be positive", currency, rate)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO fx_rates (currency, day, rate) VALUES ($1, $2, $3)
		ON CONFLICT (currency, day) DO UPDATE SET rate = excluded.rate`, currency, store.Day(from.Unix()), rate)
	if err != nil {
		return fmt.Errorf("set fx rate %s: %w", currency, err)
	}
	return nil
}

// Converter turns amounts in any currency into the reporting currency.
type Converter struct {
	Reporting string
	rates     map[string][]fxRate // by currency, in day order
}

type fxRate struct {
	day  int64
	rate float64
}

// ErrNoRate is returned when a currency has no exchange rate into the reporting currency.
var ErrNoRate = errors.New("no exchange rate")

// LoadConverter reads the reporting currency and every exchange rate.
func LoadConverter(ctx context.Context, q store.Querier) (*Converter, error) {
	return LoadConverterAsOf(ctx, q, nil)
}

// LoadConverterAsOf reads the reporting currency and the exchange rates as
// Kizuna knew them at asOf (nil: now), so a corrected rate does not change a
// report made before the correction.
func LoadConverterAsOf(ctx context.Context, q store.Querier, asOf *time.Time) (*Converter, error) {
	rep, err := ReportingCurrency(ctx, q)
	if err != nil {
		return nil, err
	}
	c := &Converter{Reporting: rep, rates: map[string][]fxRate{}}
	query, args := `SELECT currency, day, rate FROM fx_rates ORDER BY currency, day`, []any(nil)
	if asOf != nil {
		query = `SELECT currency, day, rate FROM fx_rate_versions WHERE known_from <= $1 AND (known_to IS NULL OR known_to > $1)
			ORDER BY currency, day`
		args = []any{asOf.Unix()}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("load fx rates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cur string
		var r fxRate
		if err := rows.Scan(&cur, &r.day, &r.rate); err != nil {
			return nil, err
		}
		c.rates[cur] = append(c.rates[cur], r)
	}
	return c, rows.Err()
}

// Rate is the rate of currency on the day of t: the latest rate set on or
// before that day, else the earliest one known.
func (c *Converter) Rate(currency string, t time.Time) (float64, error) {
	currency = strings.ToUpper(currency)
	if currency == c.Reporting {
		return 1, nil
	}
	rs := c.rates[currency]
	if len(rs) == 0 {
		return 0, fmt.Errorf("%w from %s to %s", ErrNoRate, currency, c.Reporting)
	}
	day := store.Day(t.Unix())
	i := sort.Search(len(rs), func(i int) bool { return rs[i].day > day })
	if i == 0 {
		return rs[0].rate, nil
	}
	return rs[i-1].rate, nil
}

// Convert returns minor units of currency as major units of the reporting currency at t.
func (c *Converter) Convert(minor int64, currency string, t time.Time) (float64, error) {
	r, err := c.Rate(currency, t)
	if err != nil {
		return 0, err
	}
	return money.Major(minor, currency) * r, nil
}

// MRR returns the MRR of periods at instant t in the reporting currency.
func (c *Converter) MRR(periods []Period, t time.Time) (float64, error) {
	var sum float64
	for _, p := range periods {
		if !p.ActiveAt(t) {
			continue
		}
		v, err := c.Convert(p.MRRMinor, p.Currency, t)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// FXRate is an exchange rate into the reporting currency, in force from a day on.
type FXRate struct {
	Currency string    `json:"currency"`
	From     time.Time `json:"from"`
	Rate     float64   `json:"rate" doc:"Units of the reporting currency for one unit of currency."`
}

// FXRates lists every exchange rate by currency and day.
func FXRates(ctx context.Context, q store.Querier) ([]FXRate, error) {
	rows, err := q.QueryContext(ctx, `SELECT currency, day, rate FROM fx_rates ORDER BY currency, day`)
	if err != nil {
		return nil, fmt.Errorf("list fx rates: %w", err)
	}
	defer rows.Close()
	var out []FXRate
	for rows.Next() {
		var r FXRate
		var day int64
		if err := rows.Scan(&r.Currency, &day, &r.Rate); err != nil {
			return nil, fmt.Errorf("list fx rates: %w", err)
		}
		r.From = time.Unix(day*86400, 0).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

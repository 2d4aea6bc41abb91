// Package coverage is how the CS team covers its book of business: touch
// tiers (high, low and tech touch) by ARR or LTV, accounts ranked by revenue
// contribution, CSM assignment by hand or automatically, and the workload of
// each CSM.
//
// ARR is the snapshot's: 12 × the MRR of the periods current at the moment,
// in the reporting currency. It is computed here with one query over
// subscription_periods (summed per account and currency in SQL, converted
// with billing's Converter) rather than with full snapshots, so the ranking
// of the whole book answers in well under a second.
package coverage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// The touch tiers, from most to least CSM time.
const (
	TierHigh = "high"
	TierLow  = "low"
	TierTech = "tech"
)

// Tiers lists the tiers in order.
var Tiers = []string{TierHigh, TierLow, TierTech}

// The settings of the touch tiers.
const (
	SettingBasis = "touch_tier.basis" // arr (default) or ltv
	SettingHigh  = "touch_tier.high"  // value ≥ high → high touch
	SettingLow   = "touch_tier.low"   // value ≥ low → low touch; below → tech touch
)

// Default thresholds, in the reporting currency. ARR: 100,000 a year and
// more is high touch, 10,000 to 100,000 low touch. LTV (a lifetime value,
// so larger): 300,000 and 30,000.
const (
	DefaultHighARR = 100000
	DefaultLowARR  = 10000
	DefaultHighLTV = 300000
	DefaultLowLTV  = 30000
)

// ErrBadSetting is returned for an unknown or invalid touch-tier setting.
var ErrBadSetting = errors.New("bad touch tier setting")

// Settings are the touch-tier thresholds in effect.
type Settings struct {
	Basis string  `json:"basis" enum:"arr,ltv" doc:"What the thresholds compare: arr or ltv."`
	High  float64 `json:"high" doc:"A customer with basis ≥ high is high touch."`
	Low   float64 `json:"low" doc:"A customer with low ≤ basis < high is low touch; below low, tech touch."`
}

// IsSetting reports whether key is a touch-tier setting.
func IsSetting(key string) bool {
	return key == SettingBasis || key == SettingHigh || key == SettingLow
}

// LoadSettings reads the touch-tier settings, with the defaults of the
// basis for thresholds not set.
func LoadSettings(ctx context.Context, q store.Querier) (Settings, error) {
	vals := map[string]string{}
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM settings WHERE key IN ($1, $2, $3)`, SettingBasis, SettingHigh, SettingLow)
	if err != nil {
		return Settings{}, fmt.Errorf("touch tier settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return Settings{}, fmt.Errorf("touch tier settings: %w", err)
		}
		vals[k] = v
	}
	if err := rows.Err(); err != nil {
		return Settings{}, fmt.Errorf("touch tier settings: %w", err)
	}
	s := Settings{Basis: "arr", High: DefaultHighARR, Low: DefaultLowARR}
	if v, ok := vals[SettingBasis]; ok {
		if err := checkSetting(SettingBasis, v); err != nil {
			return s, err
		}
		s.Basis = strings.TrimSpace(v)
	}
	if s.Basis == "ltv" {
		s.High, s.Low = DefaultHighLTV, DefaultLowLTV
	}
	for key, dst := range map[string]*float64{SettingHigh: &s.High, SettingLow: &s.Low} {
		if v, ok := vals[key]; ok {
			if err := checkSetting(key, v); err != nil {
				return s, err
			}
			*dst, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if s.Low > s.High {
		return s, fmt.Errorf("%w: %s (%g) is above %s (%g)", ErrBadSetting, SettingLow, s.Low, SettingHigh, s.High)
	}
	return s, nil
}

func checkSetting(key, value string) error {
	v := strings.TrimSpace(value)
	switch key {
	case SettingBasis:
		if v != "arr" && v != "ltv" {
			return fmt.Errorf("%w: %s = %q: want arr or ltv", ErrBadSetting, key, value)
		}
	case SettingHigh, SettingLow:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("%w: %s = %q: want a number ≥ 0 in the reporting currency", ErrBadSetting, key, value)
		}
	default:
		return fmt.Errorf("%w: unknown key %q: want %s, %s or %s", ErrBadSetting, key, SettingBasis, SettingHigh, SettingLow)
	}
	return nil
}

// SetSetting validates and stores one touch-tier setting and returns the
// value before ("" when unset).
func SetSetting(ctx context.Context, q store.Querier, key, value string) (string, error) {
	if err := checkSetting(key, value); err != nil {
		return "", err
	}
	return store.PutSetting(ctx, q, key, strings.TrimSpace(value))
}

// Account is one account of the book, with its tier.
type Account struct {
	AccountID string   `json:"account_id"`
	Name      string   `json:"name"`
	Owner     string   `json:"owner" doc:"The owning CSM's email; empty when unassigned."`
	MRR       float64  `json:"mrr"`
	ARR       float64  `json:"arr"`
	LTV       *float64 `json:"ltv" doc:"MRR × gross margin ÷ the monthly logo churn rate; null when the churn rate is unknown or 0."`
	Tier      string   `json:"tier" doc:"high, low or tech; empty for an account that is not a customer (ARR 0)."`
}

// Book is every account at one moment, in account id order, with what
// their tiers were computed from.
type Book struct {
	At       time.Time `json:"at"`
	Currency string    `json:"currency"`
	Settings
	// EffectiveBasis is the basis the tiers use: the setting, except that
	// ltv falls back to arr when the churn rate is unknown or 0 (LTV would
	// be infinite), and Note says so.
	EffectiveBasis string `json:"effective_basis"`
	Note           string `json:"note,omitempty"`
	// LogoChurnRate is the business's monthly logo churn rate: the mean of
	// the metrics' logo_churn_rate over the 12 calendar months before the
	// month of At (months without customers skipped); null when none.
	LogoChurnRate *float64  `json:"logo_churn_rate"`
	GrossMargin   float64   `json:"gross_margin" doc:"The gross_margin setting (default 1)."`
	Accounts      []Account `json:"-"`
}

// LoadBook reads every account's owner and ARR at instant at and assigns
// the tiers.
func LoadBook(ctx context.Context, q store.Querier, at time.Time) (*Book, error) {
	settings, err := LoadSettings(ctx, q)
	if err != nil {
		return nil, err
	}
	conv, err := billing.LoadConverter(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("coverage: %w", err)
	}
	b := &Book{At: at, Settings: settings, EffectiveBasis: settings.Basis, GrossMargin: 1}
	b.Currency, err = billing.ReportingCurrency(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("coverage: %w", err)
	}
	if b.Accounts, err = readAccounts(ctx, q, conv, at); err != nil {
		return nil, err
	}
	if err := b.loadLTVInputs(ctx, q); err != nil {
		return nil, err
	}
	for i := range b.Accounts {
		a := &b.Accounts[i]
		a.ARR = 12 * a.MRR
		if b.LogoChurnRate != nil && *b.LogoChurnRate > 0 && a.MRR > 0 {
			ltv := a.MRR * b.GrossMargin / *b.LogoChurnRate
			a.LTV = &ltv
		}
		if a.MRR <= 0 {
			continue
		}
		v := a.ARR
		if b.EffectiveBasis == "ltv" {
			v = *a.LTV
		}
		switch {
		case v >= b.High:
			a.Tier = TierHigh
		case v >= b.Low:
			a.Tier = TierLow
		default:
			a.Tier = TierTech
		}
	}
	return b, nil
}

// readAccounts reads every account with its owner and its MRR at instant
// at (in the reporting currency), in account id order. Two plain scans,
// the accounts and the current periods, summed here: grouping them in SQL
// by account and currency sorted every account twice (two temporary
// B-trees on SQLite), 0.4 s at 100,000 accounts. Each period is converted
// on its own, as the snapshot converts it.
func readAccounts(ctx context.Context, q store.Querier, conv *billing.Converter, at time.Time) ([]Account, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, name, COALESCE(owner_email, '') FROM accounts ORDER BY account_id`)
	if err != nil {
		return nil, fmt.Errorf("coverage: read accounts: %w", err)
	}
	out, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (Account, error) {
		var a Account
		return a, sc.Scan(&a.AccountID, &a.Name, &a.Owner)
	})
	if err != nil {
		return nil, fmt.Errorf("coverage: read accounts: %w", err)
	}
	index := make(map[string]int, len(out))
	for i, a := range out {
		index[a.AccountID] = i
	}
	rows, err = q.QueryContext(ctx, `SELECT account_id, currency, mrr_minor FROM subscription_periods
		WHERE start_at <= $1 AND (end_at IS NULL OR end_at > $1) AND mrr_minor <> 0`, at.Unix())
	if err != nil {
		return nil, fmt.Errorf("coverage: read MRR: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, cur string
		var minor int64
		if err := rows.Scan(&id, &cur, &minor); err != nil {
			return nil, fmt.Errorf("coverage: read MRR: %w", err)
		}
		i, ok := index[id]
		if !ok {
			continue
		}
		v, err := conv.Convert(minor, cur, at)
		if err != nil {
			return nil, fmt.Errorf("coverage: account %s: %w", id, err)
		}
		out[i].MRR += v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("coverage: read MRR: %w", err)
	}
	return out, nil
}

// loadLTVInputs reads the gross margin and the monthly logo churn rate.
// The churn rate is only computed when the tiers use LTV: it costs a pass
// of the metrics engine over the subscription history.
func (b *Book) loadLTVInputs(ctx context.Context, q store.Querier) error {
	var margin string
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(value), '') FROM settings WHERE key = $1`, metrics.SettingGrossMargin).Scan(&margin); err != nil {
		return fmt.Errorf("coverage: gross margin: %w", err)
	}
	if margin != "" {
		m, err := metrics.ParseMargin(margin)
		if err != nil {
			return fmt.Errorf("coverage: setting %s: %w", metrics.SettingGrossMargin, err)
		}
		b.GrossMargin = m
	}
	if b.Basis != "ltv" {
		return nil
	}
	rate, err := MonthlyLogoChurn(ctx, q, b.At)
	if err != nil {
		return err
	}
	b.LogoChurnRate = rate
	if rate == nil || *rate == 0 {
		b.EffectiveBasis = "arr"
		b.High, b.Low = DefaultHighARR, DefaultLowARR
		b.Note = "touch_tier.basis is ltv, but the logo churn rate of the last 12 months is unknown or 0, so LTV is undefined: tiers use ARR with its default thresholds"
	}
	return nil
}

// MonthlyLogoChurn is the mean of the monthly logo churn rate (churned
// customers ÷ customers at the end of the month before) over the 12
// calendar months before the month of at, skipping months with no
// customers before them; nil when every month is skipped.
func MonthlyLogoChurn(ctx context.Context, q store.Querier, at time.Time) (*float64, error) {
	first := time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, time.UTC)
	t, err := metrics.Compute(ctx, q, metrics.Options{From: first.AddDate(0, -12, 0), To: first.AddDate(0, -1, 0), Interval: metrics.Month})
	if err != nil {
		return nil, fmt.Errorf("coverage: logo churn rate: %w", err)
	}
	var sum float64
	var n int
	for _, r := range t.Rows {
		if r.LogoChurnRate != nil {
			sum += *r.LogoChurnRate
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	mean := sum / float64(n)
	return &mean, nil
}

package clv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Options say how to fit the models from the orders table.
type Options struct {
	// CalibrationEnd is the last day (inclusive) whose orders are used.
	CalibrationEnd time.Time
	Unit           Unit
	// Horizon is the number of future periods (of Unit) valued; Discount the
	// discount rate per period; Margin the gross margin applied to spend
	// (negative: the gross_margin setting, else 1).
	Horizon  int
	Discount float64
	Margin   float64
	// Top is how many customers of highest CLV the result lists.
	Top int
}

// Report is the result of a fit on the orders table.
type Report struct {
	CalibrationEnd string  `json:"calibration_end"`
	Unit           Unit    `json:"unit"`
	Horizon        int     `json:"horizon"`
	Discount       float64 `json:"discount"`
	Margin         float64 `json:"margin"`
	Currency       string  `json:"currency"`
	Customers      int     `json:"customers"`
	Repeaters      int     `json:"repeaters"`
	// SpendCustomers are the repeaters the spend model was fitted on: those
	// whose repeat orders have a positive mean value.
	SpendCustomers int     `json:"spend_customers"`
	R              float64 `json:"r"`
	Alpha          float64 `json:"alpha"`
	A              float64 `json:"a"`
	B              float64 `json:"b"`
	LogLikelihood  float64 `json:"log_likelihood"`
	P              float64 `json:"p"`
	Q              float64 `json:"q"`
	Gamma          float64 `json:"gamma"`
	// SpendLogLikelihood is the Gamma-Gamma fit's log-likelihood.
	SpendLogLikelihood float64 `json:"spend_log_likelihood"`
	// TotalCLV is the sum over every customer.
	TotalCLV float64 `json:"total_clv"`
	// BGNBD and GammaGamma are the two models' parameters grouped as
	// CONTRACT.md names them (the flat fields above are the same values).
	BGNBD      BGNBDParams      `json:"bgnbd"`
	GammaGamma GammaGammaParams `json:"gamma_gamma"`
	// Seconds is the time of the two fits (not of reading the orders).
	Seconds float64    `json:"seconds"`
	Top     []TopValue `json:"top"`
}

// BGNBDParams are the fitted BG/NBD parameters and log-likelihood.
type BGNBDParams struct {
	R             float64 `json:"r"`
	Alpha         float64 `json:"alpha"`
	A             float64 `json:"a"`
	B             float64 `json:"b"`
	LogLikelihood float64 `json:"log_likelihood"`
}

// GammaGammaParams are the fitted Gamma-Gamma parameters and log-likelihood.
type GammaGammaParams struct {
	P             float64 `json:"p"`
	Q             float64 `json:"q"`
	Gamma         float64 `json:"gamma"`
	LogLikelihood float64 `json:"log_likelihood"`
}

// TopValue is one customer of the report's top list.
type TopValue struct {
	AccountID         string  `json:"account_id"`
	X                 int     `json:"x"`
	Tx                float64 `json:"t_x"`
	T                 float64 `json:"T"`
	Zbar              float64 `json:"zbar"`
	PAlive            float64 `json:"p_alive"`
	ExpectedPurchases float64 `json:"expected_purchases"`
	ExpectedSpend     float64 `json:"expected_spend"`
	CLV               float64 `json:"clv"`
}

// ErrBadOptions marks options that cannot be used.
var ErrBadOptions = errors.New("bad clv options")

// ErrCannotFit marks orders the models cannot be fitted to (too few
// customers or repeat purchases, a likelihood without an interior optimum).
var ErrCannotFit = errors.New("cannot fit")

// Fit summarises the orders up to the calibration end, fits BG/NBD and
// Gamma-Gamma, and values every customer over the horizon.
func Fit(ctx context.Context, q store.Querier, o Options) (*Report, error) {
	if _, err := o.Unit.Days(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	if o.Horizon < 1 || o.Discount < 0 || o.Top < 0 {
		return nil, fmt.Errorf("%w: horizon %d must be ≥ 1, discount %v and top %d ≥ 0", ErrBadOptions, o.Horizon, o.Discount, o.Top)
	}
	if o.Margin > 1 {
		return nil, fmt.Errorf("%w: margin %v is above 1", ErrBadOptions, o.Margin)
	}
	if o.Margin < 0 {
		m, err := grossMargin(ctx, q)
		if err != nil {
			return nil, err
		}
		o.Margin = m
	}
	cur, err := billing.ReportingCurrency(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("clv fit: %w", err)
	}
	cs, err := FromOrders(ctx, q, o.CalibrationEnd, o.Unit)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	bg, err := FitBGNBD(cs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCannotFit, err)
	}
	gg, err := FitGammaGamma(cs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCannotFit, err)
	}
	rep := &Report{CalibrationEnd: o.CalibrationEnd.UTC().Format(time.DateOnly), Unit: o.Unit, Horizon: o.Horizon,
		Discount: o.Discount, Margin: o.Margin, Currency: cur, Customers: len(cs), SpendCustomers: gg.Repeaters,
		R: bg.R, Alpha: bg.Alpha, A: bg.A, B: bg.B, LogLikelihood: bg.LogLikelihood,
		P: gg.P, Q: gg.Q, Gamma: gg.Gamma, SpendLogLikelihood: gg.LogLikelihood,
		BGNBD:      BGNBDParams{R: bg.R, Alpha: bg.Alpha, A: bg.A, B: bg.B, LogLikelihood: bg.LogLikelihood},
		GammaGamma: GammaGammaParams{P: gg.P, Q: gg.Q, Gamma: gg.Gamma, LogLikelihood: gg.LogLikelihood},
		Seconds:    time.Since(start).Seconds()}
	for _, c := range cs {
		if c.X > 0 {
			rep.Repeaters++
		}
	}
	vs, err := lifetimes(bg.BGNBD, gg.GammaGamma, cs, o)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		rep.TotalCLV += v.CLV
	}
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].CLV > vs[j].CLV })
	rep.Top = []TopValue{}
	for _, v := range vs[:min(o.Top, len(vs))] {
		rep.Top = append(rep.Top, TopValue{AccountID: v.ID, X: v.X, Tx: v.Tx, T: v.T, Zbar: v.Zbar, PAlive: v.PAlive,
			ExpectedPurchases: v.ExpectedPurchases, ExpectedSpend: v.ExpectedSpend, CLV: v.CLV})
	}
	return rep, nil
}

// lifetimes values every customer, split over the cores: each takes horizon
// evaluations of 2F1, the bulk of the time for many accounts.
func lifetimes(bg BGNBD, gg GammaGamma, cs []Customer, o Options) ([]Value, error) {
	vs := make([]Value, len(cs))
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(cs) + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, len(cs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				v, err := Lifetime(bg, gg, cs[i], o.Horizon, o.Discount, o.Margin)
				if err != nil {
					errs[w] = err
					return
				}
				vs[i] = v
			}
		}()
	}
	wg.Wait()
	return vs, errors.Join(errs...)
}

// grossMargin is the gross_margin setting, or 1 (value = revenue) without it.
func grossMargin(ctx context.Context, q store.Querier) (float64, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'gross_margin'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("clv fit: read gross_margin: %w", err)
	}
	m, err := strconv.ParseFloat(v, 64)
	if err != nil || m < 0 || m > 1 {
		return 0, fmt.Errorf("clv fit: setting gross_margin %q is not a fraction between 0 and 1", v)
	}
	return m, nil
}

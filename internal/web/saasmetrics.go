package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/metrics"
)

// MetricsRange are the query parameters of every metrics endpoint (exported
// because huma fills the fields of embedded structs only when they are).
type MetricsRange struct {
	From string `query:"from" required:"true" pattern:"^[0-9]{4}-[0-9]{2}$" doc:"First month (YYYY-MM)." example:"2024-01"`
	To   string `query:"to" required:"true" pattern:"^[0-9]{4}-[0-9]{2}$" doc:"Last month (YYYY-MM)." example:"2024-12"`
	AsOf string `query:"as_of" doc:"Compute from the data as Kizuna knew it at this moment: a date (00:00 UTC) or an RFC 3339 time. Default: now."`
}

// parse turns the query into times, or a 400 naming the parameter.
func (in MetricsRange) parse() (from, to time.Time, asOf *time.Time, err error) {
	bad := func(param, value string, err error) error {
		return huma.Error400BadRequest("query parameter "+param+": "+err.Error(),
			&huma.ErrorDetail{Message: err.Error(), Location: "query." + param, Value: value})
	}
	if from, err = metrics.ParseMonth(in.From); err != nil {
		return from, to, nil, bad("from", in.From, err)
	}
	if to, err = metrics.ParseMonth(in.To); err != nil {
		return from, to, nil, bad("to", in.To, err)
	}
	if to.Before(from) {
		return from, to, nil, bad("to", in.To, errors.New("is before from"))
	}
	if in.AsOf != "" {
		t, err := instantParam("as_of", in.AsOf)
		if err != nil {
			return from, to, nil, err
		}
		asOf = &t
	}
	return from, to, asOf, nil
}

// instantParam parses the query parameter name (a date or an RFC 3339
// time), now when it is empty, or answers 400 naming it.
func instantParam(name, value string) (time.Time, error) {
	if value == "" {
		return time.Now().UTC().Truncate(time.Second), nil
	}
	t, err := metrics.ParseInstant(value)
	if err != nil {
		return t, huma.Error400BadRequest("query parameter "+name+": "+err.Error(),
			&huma.ErrorDetail{Message: err.Error(), Location: "query." + name, Value: value})
	}
	return t, nil
}

type monthlyInput struct {
	MetricsRange
	Interval string `query:"interval" enum:"month,week,day" default:"month" doc:"Bucket length: month, week (ISO, Monday first) or day. Finer tables name each bucket by its first day in period instead of month, and leave ltv, cac and ltv_to_cac null."`
	By       string `query:"by" doc:"Break every figure down by plan, product, currency, owner, tier or attr:NAME; each row then carries its group."`
	Extended bool   `query:"extended" doc:"Add the figures beyond CONTRACT.md's table: revenue_churn_rate, arpa_growth, gross_profit_mrr, gross_profit_arpa, gross_profit_arpa_growth, retention_cost_per_customer, cost_aware_ltv, order_value, orders_per_year, order_lifetime_years, order_ltv."`
}

type monthlyOutput struct {
	Body []metrics.Row
}

type cohortsOutput struct {
	Body []metrics.Cohort
}

type surveysInput struct {
	MetricsRange
	By string `query:"by" doc:"Break down by survey, owner, tier or attr:NAME; each row then carries its group."`
}

type surveysOutput struct {
	Body []metrics.SurveyRow
}

type renewalsInput struct {
	Days int    `query:"days" minimum:"1" maximum:"3660" default:"90" doc:"How many days ahead to look."`
	At   string `query:"at" doc:"Look ahead from this date or RFC 3339 time instead of now."`
}

type renewalsOutput struct {
	Body []metrics.Renewal
}

func registerSaaSMetrics(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "metrics-monthly", Method: http.MethodGet, Path: "/metrics/monthly", Tags: []string{"Metrics"},
		Summary: "The monthly SaaS metrics table",
		Description: "One object per month with the keys and definitions of CONTRACT.md: MRR and its movements, " +
			"customers, logo and MRR churn, quick ratio, ARPA, LTV, NRR and GRR over 12 months, upsell and cross-sell " +
			"rates, CAC. Amounts are in the reporting currency (major units); rates are fractions, null where a " +
			"denominator is 0. The same objects as `kizuna metrics monthly --format json`.",
	}, func(ctx context.Context, in *monthlyInput) (*monthlyOutput, error) {
		from, to, asOf, err := in.parse()
		if err != nil {
			return nil, err
		}
		t, err := metrics.Compute(ctx, s.db, metrics.Options{From: from, To: to, AsOf: asOf,
			Interval: metrics.Interval(in.Interval), By: in.By, Extended: in.Extended})
		if errors.Is(err, metrics.ErrBadOptions) {
			return nil, huma.Error400BadRequest(err.Error())
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		if t.Rows == nil {
			t.Rows = []metrics.Row{}
		}
		return &monthlyOutput{Body: t.Rows}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "metrics-cohorts", Method: http.MethodGet, Path: "/metrics/cohorts", Tags: []string{"Metrics"},
		Summary: "Cohort retention",
		Description: "Accounts grouped by the month of their first month-end with MRR > 0; for each month after, " +
			"the share still paying (logo_retention) and their MRR over the first month's (revenue_retention). " +
			"The same objects as `kizuna metrics cohorts --format json`.",
	}, func(ctx context.Context, in *MetricsRange) (*cohortsOutput, error) {
		from, to, asOf, err := in.parse()
		if err != nil {
			return nil, err
		}
		t, err := metrics.Cohorts(ctx, s.db, from, to, asOf)
		if errors.Is(err, metrics.ErrBadOptions) {
			return nil, huma.Error400BadRequest(err.Error())
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &cohortsOutput{Body: t.Cohorts}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "metrics-surveys", Method: http.MethodGet, Path: "/metrics/surveys", Tags: []string{"Metrics"},
		Summary: "NPS, CSAT and CES by month",
		Description: "By month of the answer: NPS (100 × (promoters − detractors) / responses, promoters 9–10, " +
			"detractors 0–6), CSAT (share of 4 and 5 among 1–5 answers) and CES (mean score, 1–7), with their counts. " +
			"The same objects as `kizuna metrics surveys --format json`.",
	}, func(ctx context.Context, in *surveysInput) (*surveysOutput, error) {
		from, to, asOf, err := in.parse()
		if err != nil {
			return nil, err
		}
		rows, err := metrics.Surveys(ctx, s.db, from, to, in.By, asOf)
		if errors.Is(err, metrics.ErrBadOptions) {
			return nil, huma.Error400BadRequest(err.Error())
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		if rows == nil {
			rows = []metrics.SurveyRow{}
		}
		return &surveysOutput{Body: rows}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "metrics-renewals", Method: http.MethodGet, Path: "/metrics/renewals", Tags: []string{"Metrics"},
		Summary: "Renewals due",
		Description: "Subscriptions whose current period ends in the next days with no period after it, and accounts " +
			"whose renewal_date attribute falls in them, in date order, with MRR and ARR in the reporting currency.",
	}, func(ctx context.Context, in *renewalsInput) (*renewalsOutput, error) {
		at, err := instantParam("at", in.At)
		if err != nil {
			return nil, err
		}
		rows, err := metrics.Renewals(ctx, s.db, at, in.Days)
		if errors.Is(err, metrics.ErrBadOptions) {
			return nil, huma.Error400BadRequest(err.Error())
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		if rows == nil {
			rows = []metrics.Renewal{}
		}
		return &renewalsOutput{Body: rows}, nil
	})
}

package snapshot

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Settings that change how snapshots read usage.
const (
	SettingKeyFeatures = "key_features" // comma-separated event names
	SettingLoginEvent  = "login_event"
	SettingSetupEvent  = "setup_event"
	// SettingOnboardingDays is how many days after signup onboarding is
	// overdue when the setup event has not been seen (default 30).
	SettingOnboardingDays = "onboarding_days"
)

// ErrNotFound is returned by [Get] for an unknown account.
var ErrNotFound = errors.New("account not found")

// Get computes one account's snapshot at instant at.
func Get(ctx context.Context, q store.Querier, accountID string, at time.Time) (Snapshot, error) {
	s, err := compute(ctx, q, at, accountID)
	if err != nil {
		return Snapshot{}, err
	}
	if len(s) == 0 {
		return Snapshot{}, fmt.Errorf("snapshot of %s: %w", accountID, ErrNotFound)
	}
	return s[0], nil
}

// All computes every account's snapshot at instant at, in account order,
// with one query per source table.
func All(ctx context.Context, q store.Querier, at time.Time) ([]Snapshot, error) {
	return compute(ctx, q, at, "")
}

const day = 86400

// compute builds the snapshots of every account, or of one when only is set.
func compute(ctx context.Context, q store.Querier, at time.Time, only string) ([]Snapshot, error) {
	t := at.Unix()
	today := store.Day(t)
	cfg, err := loadConfig(ctx, q)
	if err != nil {
		return nil, err
	}
	conv, err := billing.LoadConverter(ctx, q)
	if err != nil {
		return nil, err
	}
	// Every query has its account condition as its first argument: '' for all.
	each := func(what, query string, args []any, scan func(rows *sql.Rows) error) error {
		rows, err := q.QueryContext(ctx, query, append([]any{only}, args...)...)
		if err != nil {
			return fmt.Errorf("snapshot: %s: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("snapshot: %s: %w", what, err)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("snapshot: %s: %w", what, err)
		}
		return nil
	}

	var out []Snapshot
	index := map[string]int{}
	signup := map[string]int64{}
	err = each("accounts", `SELECT account_id, name, COALESCE(owner_email, ''), signup_at FROM accounts
		WHERE ($1 = '' OR account_id = $1) ORDER BY account_id`, nil, func(rows *sql.Rows) error {
		var s Snapshot
		var sign sql.NullInt64
		if err := rows.Scan(&s.AccountID, &s.Name, &s.Owner, &sign); err != nil {
			return err
		}
		if sign.Valid {
			signup[s.AccountID] = sign.Int64
		}
		s.At = at.UTC()
		s.DaysToRenewal, s.DaysSinceActivity, s.DaysToSetup = -1, -1, -1
		s.CSMSentimentScore, s.HealthScore = -1, -1
		s.Usage30d, s.OpenTicketsBy, s.Attributes = map[string]float64{}, map[string]int{}, map[string]any{}
		s.Products, s.FeaturesUsed30d, s.Segments = []string{}, []string{}, []string{}
		index[s.AccountID] = len(out)
		out = append(out, s)
		return nil
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	get := func(id string) *Snapshot {
		if i, ok := index[id]; ok {
			return &out[i]
		}
		return nil
	}

	// Current periods: MRR, plan, products, seats by quantity, renewal.
	largest := map[string]float64{}
	quantity := map[string]float64{}
	err = each("subscription periods", `SELECT p.account_id, p.mrr_minor, p.currency, p.plan, p.product, p.quantity, p.end_at,
			EXISTS (SELECT 1 FROM subscription_periods n WHERE n.subscription_id = p.subscription_id AND n.start_at = p.end_at)
		FROM subscription_periods p
		WHERE ($1 = '' OR p.account_id = $1) AND p.start_at <= $2 AND (p.end_at IS NULL OR p.end_at > $2)
		ORDER BY p.account_id, p.subscription_id, p.start_at`, []any{t}, func(rows *sql.Rows) error {
		var id, cur, plan, product string
		var minor int64
		var qty sql.NullFloat64
		var end sql.NullInt64
		var next bool
		if err := rows.Scan(&id, &minor, &cur, &plan, &product, &qty, &end, &next); err != nil {
			return err
		}
		s := get(id)
		if s == nil {
			return nil
		}
		v, err := conv.Convert(minor, cur, at)
		if err != nil {
			return fmt.Errorf("account %s: %w", id, err)
		}
		s.MRR += v
		if v > largest[id] || s.Plan == "" {
			largest[id], s.Plan = v, plan
		}
		if minor > 0 && product != "" && !slices.Contains(s.Products, product) {
			s.Products = append(s.Products, product)
		}
		if qty.Valid {
			quantity[id] += qty.Float64
		}
		if end.Valid && !next {
			if d := int(math.Ceil(float64(end.Int64-t) / day)); s.DaysToRenewal < 0 || d < s.DaysToRenewal {
				s.DaysToRenewal = d
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each("tenure", `SELECT account_id, MIN(start_at) FROM subscription_periods
		WHERE ($1 = '' OR account_id = $1) AND start_at <= $2 GROUP BY account_id`, []any{t}, func(rows *sql.Rows) error {
		var id string
		var first int64
		if err := rows.Scan(&id, &first); err != nil {
			return err
		}
		if s := get(id); s != nil {
			s.TenureDays = int((t - first) / day)
			if _, ok := signup[id]; !ok {
				signup[id] = first
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Usage of the last 60 days from the daily rollups.
	prior := map[string]float64{}
	logins := map[string]float64{}
	err = each("usage", `SELECT account_id, event,
			SUM(CASE WHEN day > $2 - 30 THEN count ELSE 0 END), SUM(CASE WHEN day <= $2 - 30 THEN count ELSE 0 END),
			SUM(CASE WHEN day > $2 - 28 THEN count ELSE 0 END)
		FROM usage_daily WHERE ($1 = '' OR account_id = $1) AND day > $2 - 60 AND day <= $2
		GROUP BY account_id, event ORDER BY account_id, event`, []any{today}, func(rows *sql.Rows) error {
		var id, event string
		var recent, before, last28 float64
		if err := rows.Scan(&id, &event, &recent, &before, &last28); err != nil {
			return err
		}
		s := get(id)
		if s == nil {
			return nil
		}
		if recent > 0 {
			s.Usage30d[event] = recent
			s.FeaturesUsed30d = append(s.FeaturesUsed30d, event)
			s.Events30d += recent
		}
		prior[id] += before
		if event == cfg.login {
			logins[id] = last28
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// One index seek per account (the rollup's key starts with account and
	// day) instead of a pass over the whole history.
	err = each("last activity", `SELECT a.account_id,
			(SELECT MAX(u.day) FROM usage_daily u WHERE u.account_id = a.account_id AND u.day <= $2),
			(SELECT u.day FROM usage_daily u WHERE u.account_id = a.account_id AND u.event = $3 AND u.day <= $2 ORDER BY u.day LIMIT 1)
		FROM accounts a WHERE ($1 = '' OR a.account_id = $1)`, []any{today, cfg.setup}, func(rows *sql.Rows) error {
		var id string
		var last, setup sql.NullInt64
		if err := rows.Scan(&id, &last, &setup); err != nil {
			return err
		}
		s := get(id)
		if s == nil {
			return nil
		}
		if last.Valid {
			s.DaysSinceActivity = int(today - last.Int64)
		}
		if setup.Valid {
			s.SetupDone = true
			s.DaysToSetup = max(0, int(setup.Int64-store.Day(signup[id])))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each("active users", `SELECT account_id, COUNT(DISTINCT CASE WHEN day > $2 - 7 THEN user_id END), COUNT(DISTINCT user_id)
		FROM usage_daily_users WHERE ($1 = '' OR account_id = $1) AND day > $2 - 30 AND day <= $2 GROUP BY account_id`,
		[]any{today}, func(rows *sql.Rows) error {
			var id string
			var a7, a30 int
			if err := rows.Scan(&id, &a7, &a30); err != nil {
				return err
			}
			if s := get(id); s != nil {
				s.ActiveUsers7d, s.ActiveUsers30d = a7, a30
			}
			return nil
		})
	if err != nil {
		return nil, err
	}

	// Inquiries, surveys, payments.
	err = each("tickets", `SELECT account_id, priority, opened_at, closed_at FROM tickets
		WHERE ($1 = '' OR account_id = $1) AND opened_at <= $2 AND (closed_at IS NULL OR closed_at > $2 OR opened_at > $2 - $3)`,
		[]any{t, 90 * day}, func(rows *sql.Rows) error {
			var id, priority string
			var opened int64
			var closed sql.NullInt64
			if err := rows.Scan(&id, &priority, &opened, &closed); err != nil {
				return err
			}
			s := get(id)
			if s == nil {
				return nil
			}
			if !closed.Valid || closed.Int64 > t {
				s.OpenTickets++
				s.OpenTicketsBy[priority]++
			}
			if opened > t-90*day {
				s.Tickets90d++
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = each("survey answers", `SELECT account_id, kind, score FROM survey_responses
		WHERE ($1 = '' OR account_id = $1) AND answered_at <= $2 AND kind IN ('nps', 'csat')
		ORDER BY account_id, answered_at, response_id`, []any{t}, func(rows *sql.Rows) error {
		var id, kind string
		var score int
		if err := rows.Scan(&id, &kind, &score); err != nil {
			return err
		}
		if s := get(id); s != nil {
			// Rows come oldest first, so the last one wins.
			if kind == "nps" {
				s.HasNPS, s.LastNPS = true, score
			} else {
				s.HasCSAT, s.LastCSAT = true, score
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each("payment failures", `SELECT account_id, COUNT(*) FROM payment_events
		WHERE ($1 = '' OR account_id = $1) AND kind = 'failed' AND at <= $2 AND at > $2 - $3 GROUP BY account_id`,
		[]any{t, 90 * day}, func(rows *sql.Rows) error {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			if s := get(id); s != nil {
				s.PaymentFailures90d = n
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = each("csm sentiment", `SELECT account_id, sentiment FROM csm_sentiments
		WHERE ($1 = '' OR account_id = $1) AND set_at <= $2 ORDER BY account_id, set_at`, []any{t}, func(rows *sql.Rows) error {
		var id, sentiment string
		if err := rows.Scan(&id, &sentiment); err != nil {
			return err
		}
		if s := get(id); s != nil {
			// Oldest first: the last one wins.
			s.CSMSentiment, s.CSMSentimentScore = sentiment, sentimentScore[sentiment]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	types, err := account.AttributeTypes(ctx, q, account.ObjectAccount)
	if err != nil {
		return nil, err
	}
	err = each("attributes", `SELECT account_id, name, value FROM account_attributes WHERE ($1 = '' OR account_id = $1)`, nil,
		func(rows *sql.Rows) error {
			var id, name, value string
			if err := rows.Scan(&id, &name, &value); err != nil {
				return err
			}
			if s := get(id); s != nil {
				s.Attributes[name] = account.Value(types[name], value)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}

	keys := cfg.keyFeatures
	if len(keys) == 0 {
		if keys, err = defaultKeyFeatures(ctx, q, cfg); err != nil {
			return nil, err
		}
	}
	for i := range out {
		s := &out[i]
		s.ARR = 12 * s.MRR
		s.Customer = s.MRR > 0
		if sign, ok := signup[s.AccountID]; ok && sign <= t {
			s.SignupDays = int((t - sign) / day)
		}
		s.Seats = quantity[s.AccountID]
		if v, ok := s.Attributes["seats"].(float64); ok {
			s.Seats = v
		}
		if s.Seats > 0 {
			s.SeatUtilization = float64(s.ActiveUsers30d) / s.Seats
		}
		if s.ActiveUsers30d > 0 {
			s.LoginsPerUserWeek = logins[s.AccountID] / 4 / float64(s.ActiveUsers30d)
		}
		if len(keys) > 0 {
			used := 0
			for _, k := range keys {
				if s.Usage30d[k] > 0 {
					used++
				}
			}
			s.AdoptionBreadth = float64(used) / float64(len(keys))
		}
		switch {
		case s.SetupDone:
			s.OnboardingStatus = "done"
		case s.SignupDays > cfg.onboardingDays:
			s.OnboardingStatus = "overdue"
		default:
			s.OnboardingStatus = "in_progress"
		}
		switch before := prior[s.AccountID]; {
		case before > 0:
			s.UsageTrend = s.Events30d/before - 1
		case s.Events30d > 0:
			s.UsageTrend = 1
		}
	}
	return out, nil
}

// sentimentScore maps a CSM sentiment to a number health measures can use.
var sentimentScore = map[string]float64{"green": 100, "yellow": 50, "red": 0}

// config are the settings snapshots read.
type config struct {
	keyFeatures    []string
	login, setup   string
	onboardingDays int
}

func loadConfig(ctx context.Context, q store.Querier) (config, error) {
	c := config{login: "login", setup: "setup_completed", onboardingDays: 30}
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM settings WHERE key IN ($1, $2, $3, $4)`,
		SettingKeyFeatures, SettingLoginEvent, SettingSetupEvent, SettingOnboardingDays)
	if err != nil {
		return c, fmt.Errorf("snapshot: settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return c, fmt.Errorf("snapshot: settings: %w", err)
		}
		switch k {
		case SettingKeyFeatures:
			c.keyFeatures = splitList(v)
		case SettingLoginEvent:
			c.login = strings.TrimSpace(v)
		case SettingSetupEvent:
			c.setup = strings.TrimSpace(v)
		case SettingOnboardingDays:
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				return c, fmt.Errorf("snapshot: setting %s=%q: want a whole number of days", k, v)
			}
			c.onboardingDays = n
		}
	}
	return c, rows.Err()
}

// splitList splits a comma-separated setting, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// defaultKeyFeatures are every event seen in the rollups but the login and
// setup events, when no key_features setting names them.
func defaultKeyFeatures(ctx context.Context, q store.Querier, cfg config) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT event FROM usage_daily WHERE event <> $1 AND event <> $2 ORDER BY event`, cfg.login, cfg.setup)
	if err != nil {
		return nil, fmt.Errorf("snapshot: key features: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

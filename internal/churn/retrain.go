package churn

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// SettingRetrainDays is how many days the scheduled retraining waits after
// the latest stored scoring (default 7; 0 turns it off).
const SettingRetrainDays = "churn.retrain_days"

// DefaultRetrainDays is the retraining interval when the setting is unset.
const DefaultRetrainDays = 7

// SettingHistoryDays is how many days of runs churn_score_history keeps
// before the newest (default 400; 0 keeps every run). See [StoreScores].
const SettingHistoryDays = "churn.history_days"

// DefaultHistoryDays keeps a year of runs and a month more, so that a
// snapshot a year back (a year-over-year comparison, a model's as-of
// date) still sees the churn_risk it had.
const DefaultHistoryDays = 400

// ErrBadSetting is returned by [SetSetting] for a value it cannot use.
var ErrBadSetting = errors.New("bad churn setting")

// IsSetting reports whether key is one of the churn settings.
func IsSetting(key string) bool { return key == SettingRetrainDays || key == SettingHistoryDays }

// SetSetting validates and stores a churn setting and returns the value
// before ("" when unset).
func SetSetting(ctx context.Context, q store.Querier, key, value string) (string, error) {
	if !IsSetting(key) {
		return "", fmt.Errorf("%w: unknown key %q: want %s or %s", ErrBadSetting, key, SettingRetrainDays, SettingHistoryDays)
	}
	v := strings.TrimSpace(value)
	if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 3650 {
		what := "0 (off)"
		if key == SettingHistoryDays {
			what = "0 (keep every run)"
		}
		return "", fmt.Errorf("%w: %s = %q: want a whole number of days from %s to 3650", ErrBadSetting, key, value, what)
	}
	return store.PutSetting(ctx, q, key, v)
}

// RetrainDays reads the retraining interval in days (0: off).
func RetrainDays(ctx context.Context, q store.Querier) (int, error) {
	return daysSetting(ctx, q, SettingRetrainDays, DefaultRetrainDays)
}

// HistoryDays reads how many days of runs the history keeps (0: all).
func HistoryDays(ctx context.Context, q store.Querier) (int, error) {
	return daysSetting(ctx, q, SettingHistoryDays, DefaultHistoryDays)
}

// daysSetting reads a setting of whole days, def when unset.
func daysSetting(ctx context.Context, q store.Querier, key string, def int) (int, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	if err != nil {
		return 0, fmt.Errorf("churn setting %s: %w", key, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("churn setting %s = %q: want a whole number of days", key, v)
	}
	return n, nil
}

// LastScored is when the latest stored scoring ran; zero when none has.
func LastScored(ctx context.Context, q store.Querier) (time.Time, error) {
	var last sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(scored_at) FROM churn_score_history`).Scan(&last); err != nil {
		return time.Time{}, fmt.Errorf("last churn scoring: %w", err)
	}
	if !last.Valid {
		return time.Time{}, nil
	}
	return time.Unix(last.Int64, 0).UTC(), nil
}

// RetrainResult is what a [Retrain] did.
type RetrainResult struct {
	// Skipped says why nothing was trained (too little history); the
	// stored scores are then left as they were.
	Skipped string  `json:"skipped,omitempty"`
	AsOf    string  `json:"as_of,omitempty"`
	AUC     float64 `json:"auc,omitempty"`
	Rows    int     `json:"rows,omitempty"`
	Churned int     `json:"churned,omitempty"`
	Stored  int     `json:"stored"`
}

// Retrain trains the model with the default options as of now minus the
// horizon, scores every paying account at now and stores the scores (one
// audit entry by actor). Too little history to train on (fewer churned or
// staying accounts than folds, no outcome known yet) is not an error: the
// result says why it was skipped.
func Retrain(ctx context.Context, db *store.DB, now time.Time, actor string) (RetrainResult, error) {
	rep, err := Train(ctx, db, Options{Now: now})
	var oe OptionError
	if errors.As(err, &oe) {
		return RetrainResult{Skipped: err.Error()}, nil
	}
	if err != nil {
		return RetrainResult{}, err
	}
	res := RetrainResult{AsOf: rep.AsOf, AUC: rep.AUC, Rows: rep.Accounts, Churned: rep.Churned}
	risks, err := Score(ctx, db, rep.Model, now, 3)
	if err != nil {
		return res, err
	}
	asOf, err := time.Parse(time.DateOnly, rep.AsOf)
	if err != nil {
		return res, fmt.Errorf("retrain churn model: as-of %q: %w", rep.AsOf, err)
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		n, err := StoreScores(ctx, tx, risks, asOf, now)
		if err != nil {
			return err
		}
		res.Stored = n
		return audit.Record(ctx, tx, actor, audit.ActionUpdate, "churn_scores", rep.AsOf, nil,
			map[string]any{"as_of": rep.AsOf, "horizon_days": rep.HorizonDays, "accounts": n, "auc": rep.AUC})
	})
	return res, err
}

package churn

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// scoreChunk rows per INSERT: 5 parameters each, well under PostgreSQL's
// 65,535 and SQLite's 32,766 limits.
const scoreChunk = 1000

// StoreScores replaces the stored churn scores with risks (accounts not in
// risks, i.e. no longer paying, lose theirs), scored at scoredAt by a model
// as of asOf, and adds them to the history as the run of scoredAt (a run
// stored again in the same second replaces that run). It returns how many
// rows it wrote. Snapshots read the history: an account's churn_risk at an
// instant is its probability in the latest run at or before it.
//
// It then prunes the history, which otherwise grows by every paying
// account each run: runs older than churn.history_days (default 400)
// before scoredAt go, except the latest of them, which snapshots inside the
// window read until the first run in it. So a snapshot of any instant in
// the last churn.history_days sees what it saw before the pruning; an older
// one sees churn_risk -1 (unscored).
func StoreScores(ctx context.Context, q store.Querier, risks []Risk, asOf, scoredAt time.Time) (int, error) {
	if _, err := q.ExecContext(ctx, `DELETE FROM churn_scores`); err != nil {
		return 0, fmt.Errorf("store churn scores: %w", err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM churn_score_history WHERE scored_at = $1`, scoredAt.Unix()); err != nil {
		return 0, fmt.Errorf("store churn scores: history: %w", err)
	}
	for start := 0; start < len(risks); start += scoreChunk {
		chunk := risks[start:min(start+scoreChunk, len(risks))]
		values := ""
		args := make([]any, 0, 5*len(chunk))
		for i, r := range chunk {
			if i > 0 {
				values += ", "
			}
			values += "(" + store.Placeholders(len(args)+1, 5) + ")"
			reasons := r.Reasons
			if reasons == nil {
				reasons = []Reason{}
			}
			js, err := json.Marshal(reasons)
			if err != nil {
				return 0, fmt.Errorf("store churn scores: account %s: %w", r.AccountID, err)
			}
			args = append(args, r.AccountID, r.Probability, string(js), asOf.Unix(), scoredAt.Unix())
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO churn_scores (account_id, probability, reasons, as_of, scored_at) VALUES "+values, args...); err != nil {
			return 0, fmt.Errorf("store churn scores: %w", err)
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO churn_score_history (account_id, probability, reasons, as_of, scored_at) VALUES "+values, args...); err != nil {
			return 0, fmt.Errorf("store churn scores: history: %w", err)
		}
	}
	if err := pruneHistory(ctx, q, scoredAt); err != nil {
		return 0, err
	}
	return len(risks), nil
}

// pruneHistory deletes the runs before the latest one at or before
// churn.history_days before now (none when the setting is 0, or no run is
// that old).
func pruneHistory(ctx context.Context, q store.Querier, now time.Time) error {
	days, err := HistoryDays(ctx, q)
	if err != nil || days == 0 {
		return err
	}
	cutoff := now.Unix() - int64(days)*86400
	if _, err := q.ExecContext(ctx, `DELETE FROM churn_score_history
		WHERE scored_at < (SELECT MAX(scored_at) FROM churn_score_history WHERE scored_at <= $1)`, cutoff); err != nil {
		return fmt.Errorf("store churn scores: prune the history: %w", err)
	}
	return nil
}

// StoredScore is one account's stored churn score.
type StoredScore struct {
	Risk
	AsOf     time.Time `json:"as_of"`
	ScoredAt time.Time `json:"scored_at"`
}

// Scores reads the stored scores, riskiest first (ties by account id).
func Scores(ctx context.Context, q store.Querier) ([]StoredScore, error) {
	rows, err := q.QueryContext(ctx, `SELECT s.account_id, a.name, s.probability, s.reasons, s.as_of, s.scored_at
		FROM churn_scores s JOIN accounts a ON a.account_id = s.account_id ORDER BY s.probability DESC, s.account_id`)
	if err != nil {
		return nil, fmt.Errorf("churn scores: %w", err)
	}
	defer rows.Close()
	out := []StoredScore{}
	for rows.Next() {
		var s StoredScore
		var reasons string
		var asOf, scored int64
		if err := rows.Scan(&s.AccountID, &s.Name, &s.Probability, &reasons, &asOf, &scored); err != nil {
			return nil, fmt.Errorf("churn scores: %w", err)
		}
		if err := json.Unmarshal([]byte(reasons), &s.Reasons); err != nil {
			return nil, fmt.Errorf("churn scores: account %s: reasons: %w", s.AccountID, err)
		}
		s.AsOf, s.ScoredAt = time.Unix(asOf, 0).UTC(), time.Unix(scored, 0).UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

// CurrentRisk is an account's stored churn risk as the account API shows it.
type CurrentRisk struct {
	Probability float64   `json:"probability" doc:"Churn probability within the model's horizon, 0–1."`
	Reasons     []Reason  `json:"reasons" doc:"The features that raise it most: each one's value and contribution to the log-odds."`
	AsOf        time.Time `json:"as_of" doc:"The as-of date of the model that scored it (its training data end a horizon later)."`
	ScoredAt    time.Time `json:"scored_at" doc:"When it was scored."`
}

// Current returns the latest stored churn risk of the accounts that have
// one (paying at the latest run), by account id, in one query per
// store.MaxInList ids.
func Current(ctx context.Context, q store.Querier, ids []string) (map[string]CurrentRisk, error) {
	out := make(map[string]CurrentRisk, len(ids))
	for first := 0; first < len(ids); first += store.MaxInList {
		chunk := ids[first:min(first+store.MaxInList, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT account_id, probability, reasons, as_of, scored_at FROM churn_scores
			WHERE account_id IN (`+store.Placeholders(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("current churn risk: %w", err)
		}
		for rows.Next() {
			var id, reasons string
			var asOf, scored int64
			var r CurrentRisk
			if err := rows.Scan(&id, &r.Probability, &reasons, &asOf, &scored); err != nil {
				rows.Close()
				return nil, fmt.Errorf("current churn risk: %w", err)
			}
			if err := json.Unmarshal([]byte(reasons), &r.Reasons); err != nil {
				rows.Close()
				return nil, fmt.Errorf("current churn risk of %s: reasons: %w", id, err)
			}
			if r.Reasons == nil {
				r.Reasons = []Reason{}
			}
			r.AsOf, r.ScoredAt = time.Unix(asOf, 0).UTC(), time.Unix(scored, 0).UTC()
			out[id] = r
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("current churn risk: %w", err)
		}
	}
	return out, nil
}

// Probabilities returns the latest stored churn probability of every scored
// account, from one read of churn_scores (without the reasons).
func Probabilities(ctx context.Context, q store.Querier) (map[string]float64, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, probability FROM churn_scores`)
	if err != nil {
		return nil, fmt.Errorf("churn probabilities: %w", err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var id string
		var p float64
		if err := rows.Scan(&id, &p); err != nil {
			return nil, fmt.Errorf("churn probabilities: %w", err)
		}
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("churn probabilities: %w", err)
	}
	return out, nil
}

package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Sentiments a CSM can record, best first.
var Sentiments = []string{"green", "yellow", "red"}

// Sentiment is one recorded CSM sentiment of an account.
type Sentiment struct {
	AccountID string    `json:"account_id"`
	SetAt     time.Time `json:"set_at"`
	Sentiment string    `json:"sentiment" enum:"green,yellow,red"`
	Note      string    `json:"note"`
	SetBy     string    `json:"set_by"`
}

// ErrBadSentiment is returned for a sentiment other than green, yellow or red.
var ErrBadSentiment = errors.New("sentiment must be green, yellow or red")

// SetSentiment records s; a second record in the same second replaces the
// first, so a quick correction does not leave two.
func SetSentiment(ctx context.Context, q store.Querier, s Sentiment) error {
	switch s.Sentiment {
	case "green", "yellow", "red":
	default:
		return fmt.Errorf("sentiment %q: %w", s.Sentiment, ErrBadSentiment)
	}
	at := s.SetAt.Unix()
	if s.SetAt.IsZero() {
		at = store.Now()
	}
	_, err := q.ExecContext(ctx, `INSERT INTO csm_sentiments (account_id, set_at, sentiment, note, set_by) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (account_id, set_at) DO UPDATE SET sentiment = excluded.sentiment, note = excluded.note, set_by = excluded.set_by`,
		s.AccountID, at, s.Sentiment, s.Note, s.SetBy)
	if err != nil {
		return fmt.Errorf("set sentiment of %s: %w", s.AccountID, err)
	}
	return nil
}

// SentimentHistory lists an account's recorded sentiments, newest first.
func SentimentHistory(ctx context.Context, q store.Querier, accountID string) ([]Sentiment, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, set_at, sentiment, note, set_by FROM csm_sentiments
		WHERE account_id = $1 ORDER BY set_at DESC`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sentiments of %s: %w", accountID, err)
	}
	return store.Collect(rows, func(sc interface{ Scan(...any) error }) (Sentiment, error) {
		var s Sentiment
		var at int64
		err := sc.Scan(&s.AccountID, &at, &s.Sentiment, &s.Note, &s.SetBy)
		s.SetAt = time.Unix(at, 0).UTC()
		return s, err
	})
}

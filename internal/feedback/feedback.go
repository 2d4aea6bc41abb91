// Package feedback owns feedback items: what customers ask of the product,
// by category (feature, UI/UX, performance, support), from any source.
package feedback

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Categories are the feedback categories of the four jobs of CS (plus other).
var Categories = []string{"feature", "ui_ux", "performance", "support", "other"}

// Item is one piece of feedback.
type Item struct {
	ID        string    `json:"feedback_id"`
	AccountID string    `json:"account_id,omitempty"`
	Category  string    `json:"category"`
	Text      string    `json:"text"`
	Source    string    `json:"source,omitempty" doc:"Where it came from: survey, ticket, csm, api, or an import's own word."`
	RequestID string    `json:"request_id,omitempty" doc:"The product request it belongs to, if grouped."`
	CreatedAt time.Time `json:"created_at"`
}

// StageItems is the staging layout MergeItems reads (after the line column).
const StageItems = `feedback_id TEXT NOT NULL, account_id TEXT, category TEXT NOT NULL, text TEXT NOT NULL, source TEXT NOT NULL, created_at BIGINT`

// StageItemsColumns are StageItems' column names, in order.
var StageItemsColumns = []string{"feedback_id", "account_id", "category", "text", "source", "created_at"}

// MergeItems upserts the staged feedback items. An item staged without
// created_at keeps the one it has, or gets now when new, so that re-importing
// a file without dates changes nothing.
func MergeItems(ctx context.Context, q store.Querier, stage string, now int64) (int64, error) {
	if _, err := q.ExecContext(ctx, `UPDATE `+stage+` SET created_at = COALESCE(
		(SELECT f.created_at FROM feedback f WHERE f.feedback_id = `+stage+`.feedback_id), CAST($1 AS BIGINT))
		WHERE created_at IS NULL`, now); err != nil {
		return 0, fmt.Errorf("merge feedback: %w", err)
	}
	return store.MergeStaged(ctx, q, store.Merge{Stage: stage, Target: "feedback", Key: []string{"feedback_id"}, Now: now,
		Columns: []string{"account_id", "category", "text", "source", "created_at"}})
}

// List returns feedback items, newest first (ties by id); an empty
// accountID lists all.
func List(ctx context.Context, q store.Querier, accountID string, limit int) ([]Item, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+itemColumns+` FROM feedback
		WHERE $1 = '' OR account_id = $1 ORDER BY created_at DESC, feedback_id LIMIT $2`, accountID, store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list feedback: %w", err)
	}
	out, err := store.Collect(rows, scanItem)
	if err != nil {
		return nil, fmt.Errorf("list feedback: %w", err)
	}
	return out, nil
}

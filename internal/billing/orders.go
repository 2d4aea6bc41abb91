package billing

import (
	"context"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// StageOrders is the staging layout MergeOrders reads (after the line column).
// An order without an id in the source gets a hash of its fields as id.
const StageOrders = `order_id TEXT NOT NULL, account_id TEXT NOT NULL, ordered_at BIGINT NOT NULL, amount_minor BIGINT NOT NULL, currency TEXT NOT NULL`

// StageOrdersColumns are StageOrders' column names, in order.
var StageOrdersColumns = []string{"order_id", "account_id", "ordered_at", "amount_minor", "currency"}

// MergeOrders upserts the staged orders.
func MergeOrders(ctx context.Context, q store.Querier, stage string, now int64) (int64, error) {
	return store.MergeStaged(ctx, q, store.Merge{Stage: stage, Target: "orders", Key: []string{"order_id"},
		Columns: []string{"account_id", "ordered_at", "amount_minor", "currency"}, Now: now})
}

// StageCosts is the staging layout MergeCosts reads (after the line column).
const StageCosts = `month TEXT NOT NULL, kind TEXT NOT NULL, currency TEXT NOT NULL, amount_minor BIGINT NOT NULL`

// StageCostsColumns are StageCosts' column names, in order.
var StageCostsColumns = []string{"month", "kind", "currency", "amount_minor"}

// MergeCosts upserts the staged monthly costs (one amount per month, kind and currency).
func MergeCosts(ctx context.Context, q store.Querier, stage string, now int64) (int64, error) {
	return store.MergeStaged(ctx, q, store.Merge{Stage: stage, Target: "costs", Key: []string{"month", "kind", "currency"},
		Columns: []string{"amount_minor"}, Now: now})
}

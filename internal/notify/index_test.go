package notify_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// explainer runs a query's plan instead of the query (SQLite), keeps its
// text, and fails the query so the caller stops there.
type explainer struct {
	store.Querier
	plan string
}

var errExplained = errors.New("explained")

func (e *explainer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := e.Querier.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		e.plan += detail + "\n"
	}
	return nil, errExplained
}

// TestListByAccountUsesTheIndex: an account's deliveries (the account
// page's timeline) are read through deliveries_account, not by scanning
// every delivery.
func TestListByAccountUsesTheIndex(t *testing.T) {
	e := &explainer{Querier: storetest.SQLite(t)}
	_, err := notify.List(context.Background(), e, notify.Filter{AccountID: "acc_1", Limit: 20})
	if !errors.Is(err, errExplained) {
		t.Fatalf("List = %v", err)
	}
	if !strings.Contains(e.plan, "deliveries_account") || strings.Contains(e.plan, "SCAN deliveries") {
		t.Fatalf("the plan does not use deliveries_account:\n%s", e.plan)
	}
}

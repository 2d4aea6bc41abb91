package demo

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	segmentpkg "github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// demoSegments are the segments a demo database starts with, so the UI and
// the playbooks have some to show. Their rules use the demo's attributes
// (segment: smb, mid-market, enterprise) and events.
var demoSegments = []segmentpkg.Segment{
	{ID: "at_risk", Name: "At risk", Description: "Customers whose health is red, or whose usage fell by more than 30% or stopped two weeks ago.",
		Rule: `customer && (health_band == "red" || usage_trend < -0.3 || days_since_activity > 14)`},
	{ID: "enterprise", Name: "Enterprise", Description: "Enterprise customers: high touch.",
		Rule: `customer && attr["segment"] == "enterprise"`},
	{ID: "onboarding", Name: "Onboarding", Description: "Customers who have not completed setup yet.",
		Rule: `customer && !setup_done`},
	{ID: "champions", Name: "Champions", Description: "Promoters (last NPS 9 or 10) whose usage is steady or growing: references and case studies.",
		Rule: `customer && has_nps && last_nps >= 9 && usage_trend >= 0`},
}

// writeSegments creates the demo segments and computes their membership
// at the demo's anchor day, so they have members before the first
// recompute (and the same ones for the same seed).
func writeSegments(ctx context.Context, db *store.DB, now time.Time) error {
	snaps, err := snapshot.All(ctx, db, now)
	if err != nil {
		return fmt.Errorf("demo segments: %w", err)
	}
	return db.InTx(ctx, func(tx *sql.Tx) error {
		for _, s := range demoSegments {
			if _, err := segmentpkg.Create(ctx, tx, s, now); err != nil {
				return fmt.Errorf("demo segments: %w", err)
			}
			if _, _, err := segmentpkg.Refresh(ctx, tx, s.ID, now, snaps); err != nil {
				return fmt.Errorf("demo segments: %w", err)
			}
		}
		return nil
	})
}

package snapshot

import (
	"database/sql"
	"time"
)

// storedStage fills Stage and DaysInStage from the stage history
// (internal/lifecycle owns it) as of instant at: the latest change on or
// before at. It runs in a recompute too, unlike [storedResults], so that
// the health stage, which runs before the lifecycle stage, can choose a
// model by the stage the account was in before the run. One seek per
// account (stage_history is keyed by account and time).
func storedStage(each eachFunc, at time.Time, get func(id string) *Snapshot) error {
	t := at.Unix()
	return each("stored stage", `SELECT h.account_id, h.stage_id, h.at FROM stage_history h
		WHERE %[1]s AND h.at = (SELECT MAX(m.at) FROM stage_history m WHERE m.account_id = h.account_id AND m.at <= $1)`,
		"h.account_id", []any{t}, func(rows *sql.Rows) error {
			var id, stage string
			var entered int64
			if err := rows.Scan(&id, &stage, &entered); err != nil {
				return err
			}
			if s := get(id); s != nil && stage != "" {
				s.Stage, s.DaysInStage = stage, int((t-entered)/day)
			}
			return nil
		})
}

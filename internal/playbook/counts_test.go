package playbook_test

import (
	"context"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestCountsByPlaybook: four red accounts fire three playbooks' rule, one
// treating every firing, one holding every firing out; one of the tasks is
// done; a fourth playbook never fires.
func TestCountsByPlaybook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db, map[string]string{"a": "kei@example.com", "b": "kei@example.com", "c": "", "d": "kei@example.com"})
		low := playbook.Trigger{Type: "rule", Condition: "health_score < 40"}
		save(t, db, playbook.Playbook{ID: "treat", Name: "Treat", Trigger: low, Actions: []playbook.Action{callTask}})
		save(t, db, playbook.Playbook{ID: "hold", Name: "Hold", HoldoutShare: 1, Trigger: low, Actions: []playbook.Action{callTask}})
		save(t, db, playbook.Playbook{ID: "never", Name: "Never", Trigger: playbook.Trigger{Type: "rule", Condition: "health_score > 90"},
			Actions: []playbook.Action{callTask}})
		run(t, db, t0, snap("a", "kei@example.com", 10), snap("b", "kei@example.com", 20), snap("c", "", 30), snap("d", "kei@example.com", 39))
		ts := tasksOf(t, db, "treat")
		if len(ts) != 4 {
			t.Fatalf("%d tasks, want 4", len(ts))
		}
		finish(t, db, ts[0].ID)
		got, err := playbook.CountsByPlaybook(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]playbook.Counts{"treat": {ActedOn: 4, OpenTasks: 3}, "hold": {HeldOut: 4}}
		if len(got) != len(want) || got["treat"] != want["treat"] || got["hold"] != want["hold"] {
			t.Errorf("counts = %+v, want %+v", got, want)
		}
	})
}

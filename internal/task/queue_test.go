package task_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/task"
)

func TestQueueOf(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "A"}); err != nil {
			t.Fatal(err)
		}
		kei, mia := "kei@example.com", "mia@example.com"
		err := task.Insert(ctx, db, []task.Task{
			{ID: "q1", AccountID: "a", Title: "no due date", Assignee: kei, CreatedAt: day(1)},
			{ID: "q2", AccountID: "a", Title: "due 20, from p1", Assignee: kei, DueAt: ptr(day(20)), PlaybookID: "p1", CreatedAt: day(2)},
			{ID: "q3", AccountID: "a", Title: "due 5, in progress", Assignee: kei, DueAt: ptr(day(5)), Status: task.InProgress, CreatedAt: day(3)},
			{ID: "q4", AccountID: "a", Title: "done", Assignee: kei, DueAt: ptr(day(1)), Status: task.Done, Outcome: "success", CreatedAt: day(4)},
			{ID: "q5", AccountID: "a", Title: "Mia's, from p1", Assignee: mia, DueAt: ptr(day(8)), PlaybookID: "p1", CreatedAt: day(5)},
			{ID: "q6", AccountID: "a", Title: "unassigned", DueAt: ptr(day(3)), CreatedAt: day(6)},
			{ID: "q7", AccountID: "a", Title: "cancelled", Assignee: mia, Status: task.Cancelled, CreatedAt: day(7)},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			f    task.QueueFilter
			want []string
		}{
			{"kei's", task.QueueFilter{Assignee: kei}, []string{"q3", "q2", "q1"}},
			{"everyone's, done and cancelled left out", task.QueueFilter{}, []string{"q6", "q3", "q5", "q2", "q1"}},
			{"in progress", task.QueueFilter{Status: task.InProgress}, []string{"q3"}},
			{"open, Kei's", task.QueueFilter{Assignee: kei, Status: task.Open}, []string{"q2", "q1"}},
			{"playbook p1", task.QueueFilter{PlaybookID: "p1"}, []string{"q5", "q2"}},
			{"due before the 10th", task.QueueFilter{DueBefore: day(10)}, []string{"q6", "q3", "q5"}},
			{"limit", task.QueueFilter{Limit: 2}, []string{"q6", "q3"}},
		} {
			got, err := task.QueueOf(ctx, db, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, ids(got), tc.want)
			}
		}
	})
}

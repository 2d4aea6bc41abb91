package task_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/task"
)

func ptr[T any](v T) *T { return &v }

func day(d int) time.Time { return time.Date(2024, 6, d, 0, 0, 0, 0, time.UTC) }

func TestTransitions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "A"}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name    string
			from    string
			change  task.Change
			wantErr bool
			want    string
		}{
			{"open to in progress", task.Open, task.Change{Status: ptr(task.InProgress)}, false, task.InProgress},
			{"back to open", task.InProgress, task.Change{Status: ptr(task.Open)}, false, task.Open},
			{"done without an outcome", task.Open, task.Change{Status: ptr(task.Done)}, true, ""},
			{"done with a bad outcome", task.Open, task.Change{Status: ptr(task.Done), Outcome: ptr("great")}, true, ""},
			{"done with an outcome", task.InProgress, task.Change{Status: ptr(task.Done), Outcome: ptr("success")}, false, task.Done},
			{"cancelled without an outcome", task.Open, task.Change{Status: ptr(task.Cancelled)}, false, task.Cancelled},
			{"done is final", task.Done, task.Change{Status: ptr(task.Open)}, true, ""},
			{"cancelled is final", task.Cancelled, task.Change{Status: ptr(task.InProgress)}, true, ""},
			{"an outcome on an open task", task.Open, task.Change{Outcome: ptr("success")}, true, ""},
			{"unknown status", task.Open, task.Change{Status: ptr("waiting")}, true, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				start := task.Task{AccountID: "a", Title: "Call", Status: tc.from}
				if tc.from == task.Done {
					start.Outcome = "success"
				}
				created, err := task.Create(ctx, db, start)
				if err != nil {
					t.Fatal(err)
				}
				_, after, err := task.Update(ctx, db, created.ID, tc.change, day(10))
				var ve *task.ValidationError
				if tc.wantErr {
					if !errors.As(err, &ve) {
						t.Fatalf("err = %v, want a validation error", err)
					}
					stored, _ := task.Get(ctx, db, created.ID)
					if stored.Status != tc.from {
						t.Errorf("stored status %s after a refused change, want %s", stored.Status, tc.from)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				stored, err := task.Get(ctx, db, created.ID)
				if err != nil {
					t.Fatal(err)
				}
				if stored.Status != tc.want || !reflect.DeepEqual(stored, after) {
					t.Errorf("stored %+v, returned %+v, want status %s", stored, after, tc.want)
				}
				finished := tc.want == task.Done || tc.want == task.Cancelled
				if finished != (stored.CompletedAt != nil) || (finished && !stored.CompletedAt.Equal(day(10))) {
					t.Errorf("completed_at = %v for %s", stored.CompletedAt, tc.want)
				}
			})
		}
	})
}

func TestQueueAndList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a", "b"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
		}
		kei, mia := "kei@example.com", "mia@example.com"
		tasks := []task.Task{
			{ID: "t1", AccountID: "a", Title: "no due date", Assignee: kei, CreatedAt: day(1)},
			{ID: "t2", AccountID: "a", Title: "due 20", Assignee: kei, DueAt: ptr(day(20)), CreatedAt: day(2)},
			{ID: "t3", AccountID: "b", Title: "overdue 5", Assignee: kei, DueAt: ptr(day(5)), CreatedAt: day(3), Status: task.InProgress},
			{ID: "t4", AccountID: "b", Title: "due 20, urgent", Assignee: kei, DueAt: ptr(day(20)), Priority: "urgent", CreatedAt: day(4)},
			{ID: "t5", AccountID: "b", Title: "done", Assignee: kei, DueAt: ptr(day(1)), Status: task.Done, Outcome: "success", CreatedAt: day(5)},
			{ID: "t6", AccountID: "a", Title: "Mia's", Assignee: mia, DueAt: ptr(day(2)), CreatedAt: day(6)},
			{ID: "t7", AccountID: "a", Title: "unassigned", DueAt: ptr(day(3)), CreatedAt: day(7)},
		}
		if err := task.Insert(ctx, db, tasks); err != nil {
			t.Fatal(err)
		}
		q, err := task.Queue(ctx, db, kei, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(q), []string{"t3", "t4", "t2", "t1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("queue = %v, want %v", got, want)
		}
		now := day(10)
		for _, tc := range []struct {
			name string
			f    task.Filter
			want []string
		}{
			{"all, newest first", task.Filter{Desc: true}, []string{"t7", "t6", "t5", "t4", "t3", "t2", "t1"}},
			{"kei's", task.Filter{Assignee: kei}, []string{"t1", "t2", "t3", "t4", "t5"}},
			{"account b, open", task.Filter{AccountID: "b", Status: task.Open}, []string{"t4"}},
			{"overdue", task.Filter{OverdueAt: now}, []string{"t3", "t6", "t7"}},
			{"second page", task.Filter{AfterKey: day(2).Unix(), AfterID: "t2", Limit: 2}, []string{"t3", "t4"}},
		} {
			got, err := task.List(ctx, db, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, ids(got), tc.want)
			}
		}
		if !tasks[2].Overdue(now) || tasks[4].Overdue(now) || tasks[0].Overdue(now) {
			t.Error("Overdue: t3 is, t5 (done) and t1 (no due date) are not")
		}
	})
}

func ids(ts []task.Task) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

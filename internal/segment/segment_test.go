package segment_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src    string
		line, column int
		contains     string
	}{
		{"typo", `arr > 1000 && helth_band == "red"`, 1, 15, "health_band"},
		{"segments", `arr > 1 && "at_risk" in segments`, 1, 25, "cannot use segments"},
		{"segments on line 2", "arr > 1 &&\n  (\"a\" in segments)", 2, 11, "cannot use segments"},
		{"number", `arr * 2`, 1, 1, "bool"},
		{"empty", `  `, 1, 1, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := segment.Compile(tc.src)
			var re *rule.Error
			if !errors.As(err, &re) {
				t.Fatalf("Compile(%q) = %v, want a *rule.Error", tc.src, err)
			}
			if re.Line != tc.line || re.Column != tc.column {
				t.Errorf("position = %d:%d, want %d:%d (%s)", re.Line, re.Column, tc.line, tc.column, re.Message)
			}
			if tc.name == "segments" && re.Snippet != " | "+tc.src+"\n | "+strings.Repeat(".", 24)+"^" {
				t.Errorf("snippet %q", re.Snippet)
			}
			if !contains(re.Message, tc.contains) {
				t.Errorf("message %q lacks %q", re.Message, tc.contains)
			}
		})
	}
	if _, err := segment.Compile(`health_band == "red" && arr >= 10000`); err != nil {
		t.Errorf("a valid rule: %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestValidate(t *testing.T) {
	for _, s := range []segment.Segment{
		{ID: "At-Risk", Name: "x", Rule: "true"},
		{ID: "9lives", Name: "x", Rule: "true"},
		{ID: "ok", Name: " ", Rule: "true"},
		{ID: "ok", Name: "x", Rule: "arr >"},
	} {
		if err := segment.Validate(s); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", s)
		}
	}
}

// TestStageTwoRuns runs the stage twice over hand-made snapshots and checks
// the joins, leaves, since times and history worked out in the comments.
func TestStageTwoRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a", "b", "c", "d"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: "Acct " + id}); err != nil {
				t.Fatal(err)
			}
		}
		t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		for _, s := range []segment.Segment{
			{ID: "big", Name: "Big", Rule: `arr >= 100000`},
			{ID: "red", Name: "Red", Rule: `health_band == "red"`},
		} {
			if _, err := segment.Create(ctx, db, s, t0); err != nil {
				t.Fatal(err)
			}
		}
		snap := func(id string, arr float64, band string) snapshot.Snapshot {
			return snapshot.Snapshot{AccountID: id, ARR: arr, HealthBand: band}
		}
		run := func(at time.Time, batches ...[]snapshot.Snapshot) (*segment.Stage, [][]snapshot.Snapshot) {
			t.Helper()
			st, err := segment.NewStage(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range batches {
				if err := st.Apply(ctx, db, at, b); err != nil {
					t.Fatal(err)
				}
			}
			return st, batches
		}
		t1 := t0.Add(24 * time.Hour)
		// Run 1: big = a, c; red = b, c.
		st, out := run(t1, []snapshot.Snapshot{snap("a", 200000, "green"), snap("b", 50000, "red")},
			[]snapshot.Snapshot{snap("c", 150000, "red")})
		if st.Joined != 4 || st.Left != 0 {
			t.Errorf("run 1: joined %d left %d, want 4 and 0", st.Joined, st.Left)
		}
		if got := out[1][0].Segments; !reflect.DeepEqual(got, []string{"big", "red"}) {
			t.Errorf("c's segments = %v", got)
		}
		if got := out[0][1].Segments; !reflect.DeepEqual(got, []string{"red"}) {
			t.Errorf("b's segments = %v", got)
		}
		// Run 2, a week later: a drops to 50k (leaves big), b turns green
		// (leaves red), c is unchanged, d appears at exactly 100k (joins big).
		t2 := t1.Add(7 * 24 * time.Hour)
		st, _ = run(t2, []snapshot.Snapshot{snap("a", 50000, "green"), snap("b", 50000, "green"),
			snap("c", 150000, "red"), snap("d", 100000, "yellow")})
		if st.Joined != 1 || st.Left != 2 {
			t.Errorf("run 2: joined %d left %d, want 1 and 2", st.Joined, st.Left)
		}
		members, err := segment.Members(ctx, db, "big", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []segment.Member{{AccountID: "c", Name: "Acct c", Since: t1}, {AccountID: "d", Name: "Acct d", Since: t2}}
		if !reflect.DeepEqual(members, want) {
			t.Errorf("big members = %+v, want %+v", members, want)
		}
		// Paging: after c, only d.
		if page, _ := segment.Members(ctx, db, "big", "c", 1); len(page) != 1 || page[0].AccountID != "d" {
			t.Errorf("page after c = %+v", page)
		}
		hist, err := segment.History(ctx, db, "big", segment.HistoryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		wantHist := []segment.Event{{"d", t2, "joined"}, {"a", t2, "left"}, {"c", t1, "joined"}, {"a", t1, "joined"}}
		if !reflect.DeepEqual(hist, wantHist) {
			t.Errorf("big history = %+v, want %+v", hist, wantHist)
		}
		// Who entered this week: joins from t2 − 7 days + 1 s on.
		week, err := segment.History(ctx, db, "big", segment.HistoryFilter{From: t2.Add(-7*24*time.Hour + time.Second), Event: "joined"})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(week, []segment.Event{{"d", t2, "joined"}}) {
			t.Errorf("joined this week = %+v", week)
		}
		// Cursor: the page after the second event.
		rest, err := segment.History(ctx, db, "big", segment.HistoryFilter{AfterAt: t2.Unix(), AfterID: "a", AfterEvent: "left"})
		if err != nil {
			t.Fatal(err)
		}
		if len(rest) != 2 || rest[0].AccountID != "c" {
			t.Errorf("history after (t2, a) = %+v", rest)
		}
		red, err := segment.Get(ctx, db, "red")
		if err != nil {
			t.Fatal(err)
		}
		if red.Members != 1 {
			t.Errorf("red has %d members, want 1 (c)", red.Members)
		}
		// Fill reads the stored membership back into fresh snapshots.
		fresh := []snapshot.Snapshot{{AccountID: "a"}, {AccountID: "c"}}
		if err := segment.Fill(ctx, db, fresh); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fresh[0].Segments, []string{}) || !reflect.DeepEqual(fresh[1].Segments, []string{"big", "red"}) {
			t.Errorf("Fill = %v, %v", fresh[0].Segments, fresh[1].Segments)
		}
		// A third run with nothing changed writes nothing.
		st, _ = run(t2.Add(time.Hour), []snapshot.Snapshot{snap("a", 50000, "green"), snap("b", 50000, "green"),
			snap("c", 150000, "red"), snap("d", 100000, "yellow")})
		if st.Joined != 0 || st.Left != 0 {
			t.Errorf("run 3: joined %d left %d, want none", st.Joined, st.Left)
		}
		// Deleting a segment removes its members and history.
		if err := segment.Delete(ctx, db, "big"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM segment_history WHERE segment_id = 'big'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("history after delete: %d rows, %v", n, err)
		}
		if err := segment.Delete(ctx, db, "big"); !errors.Is(err, segment.ErrNotFound) {
			t.Errorf("second delete = %v, want ErrNotFound", err)
		}
	})
}

// TestStageLargeBatch checks the id-range read of a batch over
// store.MaxInList accounts, next to another account outside the batch.
func TestStageLargeBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := store.MaxInList + 5
		var snaps []snapshot.Snapshot
		for i := range n + 1 {
			id := fmt.Sprintf("acc%05d", i)
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
			if i < n {
				// Every third account is big: 0, 3, ..., 1002 → 335 members.
				snaps = append(snaps, snapshot.Snapshot{AccountID: id, ARR: float64(1 - min(i%3, 1))})
			}
		}
		at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		if _, err := segment.Create(ctx, db, segment.Segment{ID: "big", Name: "Big", Rule: "arr > 0"}, at); err != nil {
			t.Fatal(err)
		}
		// The account outside the batch is a member already and must stay one.
		if _, err := db.ExecContext(ctx, `INSERT INTO segment_members (segment_id, account_id, since) VALUES ('big', $1, 1)`,
			fmt.Sprintf("acc%05d", n)); err != nil {
			t.Fatal(err)
		}
		for round := range 2 {
			st, err := segment.NewStage(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Apply(ctx, db, at, snaps); err != nil {
				t.Fatal(err)
			}
			wantJoined := []int{335, 0}[round]
			if st.Joined != wantJoined || st.Left != 0 {
				t.Errorf("round %d: joined %d left %d, want %d and 0", round, st.Joined, st.Left, wantJoined)
			}
		}
		s, err := segment.Get(ctx, db, "big")
		if err != nil {
			t.Fatal(err)
		}
		if s.Members != 336 {
			t.Errorf("members = %d, want 336", s.Members)
		}
	})
}

func TestRefreshAndCRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a", "b", "c"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		snaps := []snapshot.Snapshot{{AccountID: "a", MRR: 10}, {AccountID: "b", MRR: 0}, {AccountID: "c", MRR: 30}}
		s := segment.Segment{ID: "paying", Name: "Paying", Rule: "mrr > 0"}
		if _, err := segment.Create(ctx, db, s, at); err != nil {
			t.Fatal(err)
		}
		if _, err := segment.Create(ctx, db, s, at); !errors.Is(err, segment.ErrExists) {
			t.Errorf("second create = %v, want ErrExists", err)
		}
		j, l, err := segment.Refresh(ctx, db, "paying", at, snaps)
		if err != nil || j != 2 || l != 0 {
			t.Fatalf("refresh = %d, %d, %v; want 2 joined", j, l, err)
		}
		// Tighten the rule: a leaves, c stays.
		s.Rule = "mrr > 20"
		later := at.Add(time.Hour)
		if _, err := segment.Update(ctx, db, s, later); err != nil {
			t.Fatal(err)
		}
		j, l, err = segment.Refresh(ctx, db, "paying", later, snaps)
		if err != nil || j != 0 || l != 1 {
			t.Fatalf("refresh after update = %d, %d, %v; want 1 left", j, l, err)
		}
		live, err := segment.Evaluate(segment.Segment{ID: "x", Rule: "mrr < 20"}, snaps)
		if err != nil || !reflect.DeepEqual(live, []string{"a", "b"}) {
			t.Errorf("Evaluate = %v, %v", live, err)
		}
		if _, err := segment.Update(ctx, db, segment.Segment{ID: "nope", Name: "N", Rule: "true"}, at); !errors.Is(err, segment.ErrNotFound) {
			t.Errorf("update of a missing segment = %v", err)
		}
		list, err := segment.List(ctx, db)
		if err != nil || len(list) != 1 || list[0].Members != 1 || list[0].Rule != "mrr > 20" || !list[0].UpdatedAt.Equal(later) {
			t.Errorf("List = %+v, %v", list, err)
		}
	})
}

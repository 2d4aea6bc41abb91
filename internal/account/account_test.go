package account_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func ids(as []account.Account) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func TestUpsertGet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		signup := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
		if err := account.Upsert(ctx, db, account.Account{ID: "acme", Name: "Acme", SignupAt: &signup,
			OwnerEmail: "csm@example.com", ParentID: "acme-group"}); err != nil {
			t.Fatal(err)
		}
		a, err := account.Get(ctx, db, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != "acme" || a.Name != "Acme" || a.SignupAt == nil || !a.SignupAt.Equal(signup) ||
			a.OwnerEmail != "csm@example.com" || a.ParentID != "acme-group" || a.Attributes != nil {
			t.Fatalf("Get = %+v", a)
		}
		if a.RecordedAt.IsZero() || a.UpdatedAt.Before(a.RecordedAt) || time.Since(a.RecordedAt) > time.Minute {
			t.Fatalf("recorded_at %v, updated_at %v", a.RecordedAt, a.UpdatedAt)
		}

		// Clearing optional fields stores NULLs that read back empty.
		if err := account.Upsert(ctx, db, account.Account{ID: "acme", Name: "Acme Inc."}); err != nil {
			t.Fatal(err)
		}
		a, err = account.Get(ctx, db, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != "Acme Inc." || a.SignupAt != nil || a.OwnerEmail != "" || a.ParentID != "" {
			t.Fatalf("after clearing: %+v", a)
		}
		var nulls int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE account_id = 'acme'
			AND signup_at IS NULL AND owner_email IS NULL AND parent_account_id IS NULL`).Scan(&nulls); err != nil || nulls != 1 {
			t.Fatalf("cleared fields are not NULL: %d, %v", nulls, err)
		}

		if _, err := account.Get(ctx, db, "nope"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("Get(nope): err = %v, want ErrNotFound", err)
		}
		if err := account.Upsert(ctx, db, account.Account{Name: "no id"}); err == nil {
			t.Fatal("Upsert without an id succeeded")
		}
		if n, err := account.Count(ctx, db); err != nil || n != 1 {
			t.Fatalf("Count = %d, %v; want 1", n, err)
		}
	})
}

// TestUpsertUnchangedKeepsUpdatedAt: upserting the same values does not touch updated_at.
func TestUpsertUnchangedKeepsUpdatedAt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "A", OwnerEmail: "o@example.com"}); err != nil {
			t.Fatal(err)
		}
		// Backdate so that a new updated_at would be visible.
		if _, err := db.ExecContext(ctx, `UPDATE accounts SET recorded_at = 1000, updated_at = 1000`); err != nil {
			t.Fatal(err)
		}
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "A", OwnerEmail: "o@example.com"}); err != nil {
			t.Fatal(err)
		}
		a, _ := account.Get(ctx, db, "a")
		if a.UpdatedAt.Unix() != 1000 {
			t.Fatalf("same values: updated_at = %d, want 1000", a.UpdatedAt.Unix())
		}
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "A2", OwnerEmail: "o@example.com"}); err != nil {
			t.Fatal(err)
		}
		a, _ = account.Get(ctx, db, "a")
		if a.UpdatedAt.Unix() <= 1000 || a.RecordedAt.Unix() != 1000 || a.Name != "A2" {
			t.Fatalf("changed name: %+v, want updated_at moved and recorded_at kept", a)
		}
	})
}

func TestList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := 1; i <= 25; i++ {
			owner := "ann@example.com"
			if i%3 == 0 {
				owner = "bob@example.com"
			}
			if i == 25 {
				owner = ""
			}
			// Insert out of order, so that the order must come from the query.
			id := fmt.Sprintf("a%02d", 26-i)
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: "n" + id, OwnerEmail: owner}); err != nil {
				t.Fatal(err)
			}
		}
		seq := func(from, to int) []string {
			var out []string
			for i := from; i <= to; i++ {
				out = append(out, fmt.Sprintf("a%02d", i))
			}
			return out
		}
		// ids 26-i with i%3 == 0 → i = 3, 6, …, 24 → ids 23, 20, …, 2.
		bob := []string{"a02", "a05", "a08", "a11", "a14", "a17", "a20", "a23"}
		for _, c := range []struct {
			name string
			opts account.ListOptions
			want []string
		}{
			{"first page", account.ListOptions{Limit: 10}, seq(1, 10)},
			{"second page", account.ListOptions{After: "a10", Limit: 10}, seq(11, 20)},
			{"last page", account.ListOptions{After: "a20", Limit: 10}, seq(21, 25)},
			{"after the end", account.ListOptions{After: "a25", Limit: 10}, []string{}},
			{"cursor between ids", account.ListOptions{After: "a10x", Limit: 3}, seq(11, 13)},
			{"default limit", account.ListOptions{}, seq(1, 25)},
			{"negative limit is the default", account.ListOptions{Limit: -5}, seq(1, 25)},
			{"owner", account.ListOptions{Owner: "bob@example.com"}, bob},
			{"owner paged", account.ListOptions{Owner: "bob@example.com", After: "a08", Limit: 2}, []string{"a11", "a14"}},
			{"unknown owner", account.ListOptions{Owner: "zed@example.com"}, []string{}},
		} {
			got, err := account.List(ctx, db, c.opts)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !reflect.DeepEqual(ids(got), c.want) {
				t.Errorf("%s: List(%+v) = %v, want %v", c.name, c.opts, ids(got), c.want)
			}
		}
		// Walking the cursor visits every account once, in order.
		var walked []string
		after := ""
		for {
			page, err := account.List(ctx, db, account.ListOptions{After: after, Limit: 7})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			walked = append(walked, ids(page)...)
			after = page[len(page)-1].ID
		}
		if !reflect.DeepEqual(walked, seq(1, 25)) {
			t.Fatalf("walk = %v", walked)
		}
		// List carries the fields but not the attributes.
		got, _ := account.List(ctx, db, account.ListOptions{After: "a01", Limit: 1})
		if len(got) != 1 || got[0].Name != "na02" || got[0].OwnerEmail != "bob@example.com" {
			t.Fatalf("List row = %+v", got)
		}
	})
}

// TestListLimitCap loads 1005 accounts through a staging table and checks
// that a page holds at most 1000.
func TestListLimitCap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rows [][]any
		for i := 0; i < 1005; i++ {
			rows = append(rows, []any{fmt.Sprintf("acct-%04d", i), "", nil, nil, nil})
		}
		storetest.WithStage(t, db, "stage_accounts", account.StageAccounts, account.StageAccountsColumns, rows, func(tx *sql.Tx) {
			if n, err := account.MergeAccounts(ctx, tx, "stage_accounts", 1); err != nil || n != 1005 {
				t.Fatalf("MergeAccounts = %d, %v; want 1005", n, err)
			}
		})
		if n, err := account.Count(ctx, db); err != nil || n != 1005 {
			t.Fatalf("Count = %d, %v; want 1005", n, err)
		}
		for _, c := range []struct{ limit, want int }{{5000, 1000}, {1000, 1000}, {1001, 1000}, {999, 999}, {0, 100}} {
			got, err := account.List(ctx, db, account.ListOptions{Limit: c.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != c.want {
				t.Errorf("List(Limit %d) returned %d accounts, want %d", c.limit, len(got), c.want)
			}
			if len(got) > 0 && (got[0].ID != "acct-0000" || got[len(got)-1].ID != fmt.Sprintf("acct-%04d", c.want-1)) {
				t.Errorf("List(Limit %d) = %s … %s", c.limit, got[0].ID, got[len(got)-1].ID)
			}
		}
		rest, err := account.List(ctx, db, account.ListOptions{After: "acct-0999", Limit: 5000})
		if err != nil || len(rest) != 5 || rest[4].ID != "acct-1004" {
			t.Fatalf("last page = %v, %v", ids(rest), err)
		}
	})
}

func TestMergeAccountsAndMissing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "p1", Name: "Parent"}); err != nil {
			t.Fatal(err)
		}
		signup := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC).Unix()
		rows := [][]any{
			{"a1", "One", signup, "ann@example.com", "p1"}, // line 2: parent in the database
			{"a2", "Two", nil, nil, "a1"},                  // line 3: parent in the same file
			{"a3", "Three", nil, nil, "ghost"},             // line 4: parent nowhere
			{"a4", "Four", nil, nil, nil},                  // line 5: no parent
			{"a5", "Five", nil, nil, "ghost"},              // line 6: parent nowhere
		}
		storetest.WithStage(t, db, "stage_accounts", account.StageAccounts, account.StageAccountsColumns, rows, func(tx *sql.Tx) {
			got := queryLineValues(t, tx, account.MissingParentsSQL("stage_accounts"))
			want := []lineValue{{4, "ghost"}, {6, "ghost"}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("MissingParentsSQL = %v, want %v", got, want)
			}
			if n, err := account.MergeAccounts(ctx, tx, "stage_accounts", 500); err != nil || n != 5 {
				t.Fatalf("MergeAccounts = %d, %v; want 5", n, err)
			}
		})
		a1, err := account.Get(ctx, db, "a1")
		if err != nil {
			t.Fatal(err)
		}
		if a1.Name != "One" || a1.SignupAt == nil || a1.SignupAt.Unix() != signup || a1.OwnerEmail != "ann@example.com" ||
			a1.ParentID != "p1" || a1.RecordedAt.Unix() != 500 || a1.UpdatedAt.Unix() != 500 {
			t.Fatalf("a1 = %+v", a1)
		}
		// The same file again changes nothing; one edited row changes one.
		storetest.WithStage(t, db, "stage_accounts", account.StageAccounts, account.StageAccountsColumns, rows, func(tx *sql.Tx) {
			if n, err := account.MergeAccounts(ctx, tx, "stage_accounts", 600); err != nil || n != 0 {
				t.Fatalf("re-merge = %d, %v; want 0", n, err)
			}
		})
		rows[3] = []any{"a4", "Four", nil, "bob@example.com", nil}
		storetest.WithStage(t, db, "stage_accounts", account.StageAccounts, account.StageAccountsColumns, rows, func(tx *sql.Tx) {
			if n, err := account.MergeAccounts(ctx, tx, "stage_accounts", 700); err != nil || n != 1 {
				t.Fatalf("merge with one edit = %d, %v; want 1", n, err)
			}
		})
		a4, _ := account.Get(ctx, db, "a4")
		a1, _ = account.Get(ctx, db, "a1")
		if a4.OwnerEmail != "bob@example.com" || a4.UpdatedAt.Unix() != 700 || a4.RecordedAt.Unix() != 500 || a1.UpdatedAt.Unix() != 500 {
			t.Fatalf("after edit: a4 = %+v, a1 updated %d", a4, a1.UpdatedAt.Unix())
		}
		// Parents are looked up among stored accounts too: a3 is stored now, nobody is not.
		storetest.WithStage(t, db, "stage_kids", account.StageAccounts, account.StageAccountsColumns,
			[][]any{{"k1", "", nil, nil, "a3"}, {"k2", "", nil, nil, "nobody"}}, func(tx *sql.Tx) {
				got := queryLineValues(t, tx, account.MissingParentsSQL("stage_kids"))
				if want := []lineValue{{3, "nobody"}}; !reflect.DeepEqual(got, want) {
					t.Fatalf("MissingParentsSQL = %v, want %v", got, want)
				}
			})

		// A contacts-like staging table naming accounts.
		ddl := `contact_id TEXT NOT NULL, account_id TEXT`
		cols := []string{"contact_id", "account_id"}
		crows := [][]any{{"c1", "a1"}, {"c2", "new-1"}, {"c3", nil}, {"c4", "new-1"}, {"c5", "new-2"}, {"c6", "p1"}}
		before, _ := account.Count(ctx, db)
		storetest.WithStage(t, db, "stage_refs", ddl, cols, crows, func(tx *sql.Tx) {
			got := queryLineValues(t, tx, account.MissingSQL("stage_refs", "account_id"))
			want := []lineValue{{3, "new-1"}, {5, "new-1"}, {6, "new-2"}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("MissingSQL = %v, want %v", got, want)
			}
			n, err := account.CreateMissing(ctx, tx, "stage_refs", "account_id", 800)
			if err != nil || n != 2 {
				t.Fatalf("CreateMissing = %d, %v; want 2", n, err)
			}
			if got := queryLineValues(t, tx, account.MissingSQL("stage_refs", "account_id")); len(got) != 0 {
				t.Fatalf("MissingSQL after CreateMissing = %v", got)
			}
			if n, err := account.CreateMissing(ctx, tx, "stage_refs", "account_id", 900); err != nil || n != 0 {
				t.Fatalf("second CreateMissing = %d, %v; want 0", n, err)
			}
		})
		after, _ := account.Count(ctx, db)
		if after != before+2 {
			t.Fatalf("Count %d → %d, want +2", before, after)
		}
		n1, err := account.Get(ctx, db, "new-1")
		if err != nil || n1.Name != "" || n1.RecordedAt.Unix() != 800 || n1.SignupAt != nil {
			t.Fatalf("created account = %+v, %v", n1, err)
		}
	})
}

func TestHandoff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "A"}); err != nil {
			t.Fatal(err)
		}
		if _, err := account.GetHandoff(ctx, db, "a"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("GetHandoff before any: err = %v, want ErrNotFound", err)
		}
		h := account.Handoff{AccountID: "a", WhyBought: "faster onboarding", Challenges: "spreadsheets",
			Proposed: "pro plan", Promised: "SSO by Q3", SuccessCriteria: "80% weekly active",
			DecisionMakers: "CTO", AuthorEmail: "sales@example.com"}
		if err := account.SetHandoff(ctx, db, h); err != nil {
			t.Fatal(err)
		}
		got, err := account.GetHandoff(ctx, db, "a")
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(got.UpdatedAt) > time.Minute {
			t.Fatalf("updated_at = %v", got.UpdatedAt)
		}
		got.UpdatedAt = time.Time{}
		if got != h {
			t.Fatalf("GetHandoff = %+v, want %+v", got, h)
		}
		// Replacing overwrites every field, including emptied ones.
		h2 := account.Handoff{AccountID: "a", WhyBought: "cost", AuthorEmail: "ae@example.com"}
		if err := account.SetHandoff(ctx, db, h2); err != nil {
			t.Fatal(err)
		}
		got, _ = account.GetHandoff(ctx, db, "a")
		got.UpdatedAt = time.Time{}
		if got != h2 {
			t.Fatalf("after replace: %+v, want %+v", got, h2)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM handoffs`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("handoff rows = %d, %v; want 1", n, err)
		}
		if err := account.SetHandoff(ctx, db, account.Handoff{WhyBought: "x"}); err == nil {
			t.Fatal("SetHandoff without an account succeeded")
		}
		if err := account.SetHandoff(ctx, db, account.Handoff{AccountID: "ghost"}); err == nil {
			t.Fatal("SetHandoff for an unknown account succeeded")
		}
		if _, err := account.GetHandoff(ctx, db, "ghost"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("GetHandoff(ghost): err = %v, want ErrNotFound", err)
		}
	})
}

func TestNotes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "A"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			note account.Note
		}{
			{"bad kind", account.Note{AccountID: "a", Kind: "tweet", Body: "hi"}},
			{"upper-case kind", account.Note{AccountID: "a", Kind: "Call", Body: "hi"}},
			{"empty body", account.Note{AccountID: "a", Kind: "call", Body: ""}},
			{"blank body", account.Note{AccountID: "a", Body: " \n\t "}},
			{"no account", account.Note{Body: "hi"}},
			{"unknown account", account.Note{AccountID: "ghost", Body: "hi"}},
		} {
			if _, err := account.AddNote(ctx, db, c.note); err == nil {
				t.Errorf("AddNote(%s) succeeded", c.name)
			}
		}
		base := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
		var added []account.Note
		for i, c := range []struct {
			kind string
			at   time.Time
		}{
			{"", base.Add(time.Hour)},             // kind defaults to note
			{"call", base},                        // oldest
			{"meeting", base.Add(48 * time.Hour)}, // newest
			{"email", base.Add(time.Hour)},        // same time as the first
		} {
			n, err := account.AddNote(ctx, db, account.Note{AccountID: "a", Kind: c.kind, Body: fmt.Sprintf("body %d", i),
				AuthorEmail: "csm@example.com", OccurredAt: c.at})
			if err != nil {
				t.Fatal(err)
			}
			if len(n.ID) != 18 || n.ID[:2] != "n_" {
				t.Fatalf("note id = %q", n.ID)
			}
			added = append(added, n)
		}
		if added[0].Kind != "note" {
			t.Fatalf("default kind = %q, want note", added[0].Kind)
		}
		got, err := account.Notes(ctx, db, "a", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 {
			t.Fatalf("Notes = %d entries, want 4", len(got))
		}
		// Newest first; the two at the same time by note id.
		tied := []account.Note{added[0], added[3]}
		if tied[1].ID < tied[0].ID {
			tied[0], tied[1] = tied[1], tied[0]
		}
		want := []account.Note{added[2], tied[0], tied[1], added[1]}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Notes =\n%+v\nwant\n%+v", got, want)
		}
		if got, _ := account.Notes(ctx, db, "a", 2); len(got) != 2 || got[0].ID != added[2].ID {
			t.Fatalf("Notes(limit 2) = %+v", got)
		}
		if got, err := account.Notes(ctx, db, "other", 0); err != nil || len(got) != 0 {
			t.Fatalf("Notes(other) = %+v, %v", got, err)
		}
		// A note without a time gets now; an explicit id is kept.
		n, err := account.AddNote(ctx, db, account.Note{ID: "n_mine", AccountID: "a", Kind: "email", Body: "x"})
		if err != nil || n.ID != "n_mine" || time.Since(n.OccurredAt) > time.Minute {
			t.Fatalf("AddNote without time = %+v, %v", n, err)
		}
		if _, err := account.AddNote(ctx, db, account.Note{ID: "n_mine", AccountID: "a", Body: "dup"}); err == nil {
			t.Fatal("AddNote with a duplicate id succeeded")
		}
	})
}

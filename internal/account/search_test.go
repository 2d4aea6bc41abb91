package account_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, a := range []account.Account{
			{ID: "a1", Name: "Delta", OwnerEmail: "ann@example.com"},
			{ID: "a2", Name: "Alpha", OwnerEmail: "bob@example.com", ParentID: "a1"},
			{ID: "a3", Name: "Alpha", OwnerEmail: "ann@example.com", ParentID: "a1"},
			{ID: "a4", Name: "Charlie"},
		} {
			if err := account.Upsert(ctx, db, a); err != nil {
				t.Fatal(err)
			}
		}
		// Pages of two in every order, following the cursor as the API does.
		for _, tt := range []struct {
			f    account.Filter
			want []string
		}{
			{account.Filter{}, []string{"a1", "a2", "a3", "a4"}},
			{account.Filter{Desc: true}, []string{"a4", "a3", "a2", "a1"}},
			{account.Filter{Sort: "name"}, []string{"a2", "a3", "a4", "a1"}},
			{account.Filter{Sort: "name", Desc: true}, []string{"a1", "a4", "a3", "a2"}},
			{account.Filter{Owner: "ann@example.com"}, []string{"a1", "a3"}},
			{account.Filter{Owner: " Ann@Example.COM"}, []string{"a1", "a3"}},
			{account.Filter{Parent: "a1", Sort: "name"}, []string{"a2", "a3"}},
			{account.Filter{Sort: "updated_at"}, []string{"a1", "a2", "a3", "a4"}},
		} {
			var got []string
			f := tt.f
			f.Limit = 2
			for {
				page, err := account.Search(ctx, db, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range page {
					got = append(got, a.ID)
				}
				if len(page) < f.Limit {
					break
				}
				last := page[len(page)-1]
				f.AfterKey, f.AfterID = last.SortKey(f.Sort), last.ID
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Search(%+v) = %v, want %v", tt.f, got, tt.want)
			}
		}
		if _, err := account.Search(ctx, db, account.Filter{Sort: "mrr"}); !errors.Is(err, account.ErrUnknownSort) {
			t.Errorf("unknown sort: %v", err)
		}

		found, err := account.Existing(ctx, db, []string{"a1", "zz", "a4"})
		if err != nil || !reflect.DeepEqual(found, map[string]bool{"a1": true, "a4": true}) {
			t.Errorf("Existing = %v, %v", found, err)
		}
	})
}

func TestReplaceAndDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "p", Name: "Parent", Attributes: map[string]any{"tier": "gold", "seats": 5}}); err != nil {
			t.Fatal(err)
		}
		// Replace keeps only the attributes it names.
		if err := account.Replace(ctx, db, account.Account{ID: "p", Name: "Parent", Attributes: map[string]any{"seats": 6, "gone": ""}}); err != nil {
			t.Fatal(err)
		}
		a, err := account.Get(ctx, db, "p")
		if err != nil || !reflect.DeepEqual(a.Attributes, map[string]any{"seats": 6.0}) {
			t.Fatalf("after Replace: %+v, %v", a.Attributes, err)
		}
		if err := account.Replace(ctx, db, account.Account{ID: "p", Name: "Parent"}); err != nil {
			t.Fatal(err)
		}
		if a, _ := account.Get(ctx, db, "p"); a.Attributes != nil {
			t.Errorf("Replace without attributes left %v", a.Attributes)
		}

		// Delete cascades to the account's records and orphans its children.
		if err := account.Upsert(ctx, db, account.Account{ID: "c", ParentID: "p"}); err != nil {
			t.Fatal(err)
		}
		if err := account.UpsertContact(ctx, db, account.Contact{ID: "k", AccountID: "p"}); err != nil {
			t.Fatal(err)
		}
		if _, err := account.AddNote(ctx, db, account.Note{AccountID: "p", Body: "hi"}); err != nil {
			t.Fatal(err)
		}
		if err := account.Delete(ctx, db, "p"); err != nil {
			t.Fatal(err)
		}
		if _, err := account.Get(ctx, db, "p"); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("deleted account: %v", err)
		}
		if _, err := account.GetContact(ctx, db, "k"); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("contact of a deleted account: %v", err)
		}
		if c, _ := account.Get(ctx, db, "c"); c.ParentID != "" {
			t.Errorf("child still names the deleted parent %q", c.ParentID)
		}
		if err := account.Delete(ctx, db, "p"); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
	})
}

func TestContactsCRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a1", "a2"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []account.Contact{
			{ID: "c1", AccountID: "a1", Email: "z@example.com", Name: "Zed", Attributes: map[string]any{"lang": "ja", "old": "x"}},
			{ID: "c2", AccountID: "a1", Email: "a@example.com", Name: "Amy"},
			{ID: "c3", AccountID: "a2", Email: "m@example.com", Name: "Max"},
		} {
			if err := account.UpsertContact(ctx, db, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := account.ReplaceContact(ctx, db, account.Contact{ID: "c1", AccountID: "a1", Email: "z@example.com", Name: "Zed",
			Attributes: map[string]any{"lang": "en"}}); err != nil {
			t.Fatal(err)
		}
		c, err := account.GetContact(ctx, db, "c1")
		if err != nil || !reflect.DeepEqual(c.Attributes, map[string]any{"lang": "en"}) {
			t.Fatalf("GetContact = %+v, %v", c, err)
		}
		page, err := account.SearchContacts(ctx, db, account.ContactFilter{AccountID: "a1", Sort: "email"})
		if err != nil || len(page) != 2 || page[0].ID != "c2" || page[1].Attributes["lang"] != "en" {
			t.Fatalf("SearchContacts = %+v, %v", page, err)
		}
		page, err = account.SearchContacts(ctx, db, account.ContactFilter{Sort: "name", AfterKey: "Max", AfterID: "c3"})
		if err != nil || len(page) != 1 || page[0].ID != "c1" {
			t.Errorf("after Max = %+v, %v", page, err)
		}
		if err := account.DeleteContact(ctx, db, "c1"); err != nil {
			t.Fatal(err)
		}
		if err := account.DeleteContact(ctx, db, "c1"); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
	})
}

func TestNotesCRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "a1"}); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)
		for i, n := range []account.Note{
			{ID: "n1", AccountID: "a1", Kind: "call", Body: "first", OccurredAt: at},
			{ID: "n2", AccountID: "a1", Body: "second", AuthorEmail: "ann@example.com", OccurredAt: at.Add(time.Hour)},
			{ID: "n3", AccountID: "a1", Kind: "email", Body: "same time", OccurredAt: at},
		} {
			got, err := account.UpsertNote(ctx, db, n)
			if err != nil {
				t.Fatalf("note %d: %v", i, err)
			}
			if i == 1 && got.Kind != "note" {
				t.Errorf("default kind = %q", got.Kind)
			}
		}
		if _, err := account.UpsertNote(ctx, db, account.Note{ID: "n1", AccountID: "a1", Kind: "call", Body: "first, edited", OccurredAt: at}); err != nil {
			t.Fatal(err)
		}
		if n, err := account.GetNote(ctx, db, "n1"); err != nil || n.Body != "first, edited" || !n.OccurredAt.Equal(at) {
			t.Errorf("GetNote = %+v, %v", n, err)
		}
		for _, bad := range []account.Note{
			{AccountID: "a1", Body: "no id"},
			{ID: "x", AccountID: "a1", Kind: "fax", Body: "b"},
			{ID: "x", AccountID: "a1", Body: " "},
			{ID: "x", Body: "no account"},
		} {
			if _, err := account.UpsertNote(ctx, db, bad); err == nil {
				t.Errorf("UpsertNote(%+v) succeeded", bad)
			}
		}
		list, err := account.SearchNotes(ctx, db, account.NoteFilter{AccountID: "a1", Desc: true})
		if err != nil || len(list) != 3 || list[0].ID != "n2" || list[1].ID != "n3" || list[2].ID != "n1" {
			t.Fatalf("newest first = %+v, %v", list, err)
		}
		list, err = account.SearchNotes(ctx, db, account.NoteFilter{Desc: true, AfterKey: at.Unix(), AfterID: "n3"})
		if err != nil || len(list) != 1 || list[0].ID != "n1" {
			t.Errorf("after n3 = %+v, %v", list, err)
		}
		if list, _ := account.SearchNotes(ctx, db, account.NoteFilter{AuthorEmail: "ann@example.com"}); len(list) != 1 {
			t.Errorf("by author = %+v", list)
		}
		if err := account.DeleteNote(ctx, db, "n1"); err != nil {
			t.Fatal(err)
		}
		if _, err := account.GetNote(ctx, db, "n1"); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("deleted note: %v", err)
		}
	})
}

func TestHandoffsSearchDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a1", "a2", "a3"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
			if err := account.SetHandoff(ctx, db, account.Handoff{AccountID: id, WhyBought: "because " + id, AuthorEmail: "s@example.com"}); err != nil {
				t.Fatal(err)
			}
		}
		list, err := account.SearchHandoffs(ctx, db, account.HandoffFilter{AfterID: "a1", Limit: 1})
		if err != nil || len(list) != 1 || list[0].AccountID != "a2" || list[0].WhyBought != "because a2" {
			t.Fatalf("SearchHandoffs = %+v, %v", list, err)
		}
		if list, _ := account.SearchHandoffs(ctx, db, account.HandoffFilter{AuthorEmail: "x@example.com"}); len(list) != 0 {
			t.Errorf("by another author = %+v", list)
		}
		if err := account.DeleteHandoff(ctx, db, "a2"); err != nil {
			t.Fatal(err)
		}
		if err := account.DeleteHandoff(ctx, db, "a2"); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
	})
}

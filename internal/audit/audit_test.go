package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestRecordAndList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		type obj struct {
			Name string `json:"name"`
		}
		steps := []struct {
			actor, action, typ, id string
			before, after          any
		}{
			{"user:a@example.com", audit.ActionCreate, "account", "A1", nil, obj{"Acme"}},
			{"apikey:key_1", audit.ActionUpdate, "account", "A1", obj{"Acme"}, obj{"Acme KK"}},
			{"cli:ops", audit.ActionCreate, "account", "A2", nil, json.RawMessage(`{"name":"Beta"}`)},
			{"user:a@example.com", audit.ActionDelete, "account", "A1", obj{"Acme KK"}, nil},
		}
		for _, s := range steps {
			if err := audit.Record(ctx, db, s.actor, s.action, s.typ, s.id, s.before, s.after); err != nil {
				t.Fatal(err)
			}
		}
		all, err := audit.List(ctx, db, audit.Filter{})
		if err != nil || len(all) != 4 {
			t.Fatalf("List = %d entries, %v", len(all), err)
		}
		if all[0].Action != audit.ActionDelete || all[3].ObjectID != "A1" || all[3].Action != audit.ActionCreate {
			t.Errorf("newest first: %+v", all)
		}
		a1, err := audit.List(ctx, db, audit.Filter{ObjectType: "account", ObjectID: "A1", Oldest: true})
		if err != nil || len(a1) != 3 {
			t.Fatalf("A1 = %+v, %v", a1, err)
		}
		for i, want := range []struct{ before, after string }{
			{"null", `{"name":"Acme"}`},
			{`{"name":"Acme"}`, `{"name":"Acme KK"}`},
			{`{"name":"Acme KK"}`, "null"},
		} {
			if string(a1[i].Before) != want.before || string(a1[i].After) != want.after {
				t.Errorf("entry %d before %s after %s, want %s %s", i, a1[i].Before, a1[i].After, want.before, want.after)
			}
		}
		if by, _ := audit.List(ctx, db, audit.Filter{Actor: "cli:ops"}); len(by) != 1 || by[0].ObjectID != "A2" {
			t.Errorf("by actor = %+v", by)
		}

		// Paging by cursor visits every entry once, in order.
		var ids []string
		f := audit.Filter{Limit: 3}
		for {
			page, err := audit.List(ctx, db, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				ids = append(ids, e.ID)
			}
			if len(page) < f.Limit {
				break
			}
			f.After = page[len(page)-1].ID
		}
		if len(ids) != 4 || ids[0] != all[0].ID || ids[3] != all[3].ID {
			t.Errorf("paged ids %v, want %v...", ids, all)
		}
		if _, err := audit.List(ctx, db, audit.Filter{After: "x"}); !errors.Is(err, audit.ErrBadCursor) {
			t.Errorf("bad cursor: %v", err)
		}
	})
}

func TestRecordImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		type result struct { // the fields of csvimport.Result it reads
			Kind      string `json:"kind"`
			File      string `json:"file"`
			Rows      int64  `json:"rows"`
			Inserted  int64  `json:"inserted"`
			Committed bool   `json:"committed"`
			Errors    []int  `json:"errors"`
		}
		if err := audit.RecordImport(ctx, db, "cli:ops", &result{Kind: "tickets", File: "t.csv", Rows: 3, Inserted: 3, Committed: true, Errors: []int{1, 2}}); err != nil {
			t.Fatal(err)
		}
		for _, skipped := range []any{nil, &result{Kind: "tickets", Rows: 3}} {
			if err := audit.RecordImport(ctx, db, "cli:ops", skipped); err != nil {
				t.Fatal(err)
			}
		}
		es, err := audit.List(ctx, db, audit.Filter{ObjectType: "import"})
		if err != nil || len(es) != 1 {
			t.Fatalf("entries = %+v, %v; want the committed import only", es, err)
		}
		e := es[0]
		if e.Action != audit.ActionImport || e.ObjectID != "tickets" || string(e.Before) != "null" ||
			!strings.Contains(string(e.After), `"inserted":3`) || strings.Contains(string(e.After), "errors") {
			t.Errorf("entry = %+v (after %s)", e, e.After)
		}
	})
}

func TestCLIActor(t *testing.T) {
	if a := audit.CLIActor(); !strings.HasPrefix(a, "cli:") || len(a) <= len("cli:") {
		t.Errorf("CLIActor = %q", a)
	}
}

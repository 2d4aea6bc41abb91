package account_test

import (
	"context"
	"database/sql"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestInferType(t *testing.T) {
	for _, c := range []struct {
		in   string
		want account.AttrType
	}{
		{"42", account.TypeNumber},
		{"3.5", account.TypeNumber},
		{"-3.5", account.TypeNumber},
		{"+7", account.TypeNumber},
		{"0", account.TypeNumber},
		{"0.25", account.TypeNumber},
		{".5", account.TypeNumber},
		{" 42 ", account.TypeNumber},
		{"1e3", account.TypeNumber}, // scientific notation parses as a number
		{"01234", account.TypeText}, // a postcode: leading zero kept as text
		{"-01234", account.TypeText},
		{"-0.5", account.TypeNumber},
		{"00", account.TypeText},
		{"0x10", account.TypeText}, // hexadecimal is not a number here
		{"0X1P-2", account.TypeText},
		{"1_000", account.TypeText},
		{"NaN", account.TypeText},
		{"Inf", account.TypeText},
		{"-Infinity", account.TypeText},
		{"1e999", account.TypeText}, // out of float64 range
		{"true", account.TypeBoolean},
		{"FALSE", account.TypeBoolean},
		{"True", account.TypeBoolean},
		{"yes", account.TypeText},
		{"1,000", account.TypeText},
		{"2024-05-01", account.TypeDate},
		{"2024-05-01T10:00:00+09:00", account.TypeDate},
		{"2024-05-01T10:00:00Z", account.TypeDate},
		{"2024-05-01T10:00:00.123Z", account.TypeDate},
		{"2024-05-01T10:00:00", account.TypeText}, // no offset
		{"2024-05-01 10:00:00", account.TypeText},
		{"2024-13-01", account.TypeText},
		{"2024-02-30", account.TypeText},
		{"05/01/2024", account.TypeText},
		{"hello", account.TypeText},
		{"", account.TypeUnknown},
		{"   ", account.TypeUnknown},
	} {
		if got := account.InferType(c.in); got != c.want {
			t.Errorf("InferType(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWiden(t *testing.T) {
	const (
		u = account.TypeUnknown
		n = account.TypeNumber
		b = account.TypeBoolean
		d = account.TypeDate
		x = account.TypeText
	)
	for _, c := range []struct{ a, b, want account.AttrType }{
		{u, u, u},
		{u, n, n}, {n, u, n},
		{u, x, x}, {x, u, x},
		{n, n, n}, {b, b, b}, {d, d, d}, {x, x, x},
		{n, x, x}, {x, n, x},
		{n, b, x}, {b, n, x},
		{n, d, x}, {d, n, x},
		{b, d, x}, {d, b, x},
		{d, x, x},
	} {
		if got := account.Widen(c.a, c.b); got != c.want {
			t.Errorf("Widen(%q, %q) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

func TestParseDateAndValue(t *testing.T) {
	d, err := account.ParseDate("2024-05-01T10:00:00+09:00")
	if err != nil || !d.Equal(time.Date(2024, 5, 1, 1, 0, 0, 0, time.UTC)) || d.Location() != time.UTC {
		t.Fatalf("ParseDate = %v, %v", d, err)
	}
	if _, err := account.ParseDate("tomorrow"); err == nil {
		t.Fatal("ParseDate(tomorrow) succeeded")
	}
	for _, c := range []struct {
		t    account.AttrType
		in   string
		want any
	}{
		{account.TypeNumber, "42", 42.0},
		{account.TypeNumber, "-0.5", -0.5},
		{account.TypeNumber, "abc", "abc"}, // unreadable falls back to the text
		{account.TypeBoolean, "TRUE", true},
		{account.TypeBoolean, "false", false},
		{account.TypeDate, "2024-05-01", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		{account.TypeDate, "not a date", "not a date"},
		{account.TypeText, "42", "42"},
		{account.TypeUnknown, "x", "x"},
	} {
		got := account.Value(c.t, c.in)
		if wt, ok := c.want.(time.Time); ok {
			if gt, ok := got.(time.Time); !ok || !gt.Equal(wt) {
				t.Errorf("Value(%q, %q) = %#v, want %v", c.t, c.in, got, wt)
			}
			continue
		}
		if got != c.want {
			t.Errorf("Value(%q, %q) = %#v, want %#v", c.t, c.in, got, c.want)
		}
	}
}

func attrEqual(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Fatalf("%s: %s missing; got %#v", what, k, got)
		}
		if wt, isTime := w.(time.Time); isTime {
			gt, ok := g.(time.Time)
			if !ok || !gt.Equal(wt) {
				t.Fatalf("%s: %s = %#v, want %v", what, k, g, wt)
			}
			continue
		}
		if g != w {
			t.Fatalf("%s: %s = %#v (%T), want %#v (%T)", what, k, g, g, w, w)
		}
	}
}

func TestAttributes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		kickoff := time.Date(2024, 5, 1, 10, 0, 0, 0, time.FixedZone("JST", 9*3600))
		if err := account.Upsert(ctx, db, account.Account{ID: "a1", Name: "One", Attributes: map[string]any{
			"seats":   42,
			"arr":     "3.5",
			"ratio":   0.25,
			"big":     int64(1) << 40,
			"vip":     true,
			"churned": "FALSE",
			"renewal": "2024-05-01",
			"started": time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC),
			"kickoff": kickoff,
			"region":  " emea ",
			"zip":     "01234",
			"empty":   "",
		}}); err != nil {
			t.Fatal(err)
		}
		a, err := account.Get(ctx, db, "a1")
		if err != nil {
			t.Fatal(err)
		}
		attrEqual(t, "a1 attributes", a.Attributes, map[string]any{
			"seats":   42.0,
			"arr":     3.5,
			"ratio":   0.25,
			"big":     float64(int64(1) << 40),
			"vip":     true,
			"churned": false,
			"renewal": time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
			"started": time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC),
			"kickoff": time.Date(2024, 5, 1, 1, 0, 0, 0, time.UTC),
			"region":  "emea",
			"zip":     "01234",
		})
		types, err := account.AttributeTypes(ctx, db, account.ObjectAccount)
		if err != nil {
			t.Fatal(err)
		}
		wantTypes := map[string]account.AttrType{
			"seats": "number", "arr": "number", "ratio": "number", "big": "number", "vip": "boolean", "churned": "boolean",
			"renewal": "date", "started": "date", "kickoff": "date", "region": "text", "zip": "text",
		}
		if !reflect.DeepEqual(types, wantTypes) {
			t.Fatalf("AttributeTypes = %v, want %v", types, wantTypes)
		}
		// Stored text of the values.
		var stored string
		if err := db.QueryRowContext(ctx, `SELECT value FROM account_attributes WHERE account_id = 'a1' AND name = 'started'`).Scan(&stored); err != nil || stored != "2023-01-01" {
			t.Fatalf("stored started = %q, %v", stored, err)
		}

		// Removing by "" and by nil; untouched attributes stay; Upsert without
		// attributes leaves them alone.
		if err := account.Upsert(ctx, db, account.Account{ID: "a1", Name: "One", Attributes: map[string]any{
			"region": "", "vip": nil, "seats": 43}}); err != nil {
			t.Fatal(err)
		}
		if err := account.Upsert(ctx, db, account.Account{ID: "a1", Name: "One"}); err != nil {
			t.Fatal(err)
		}
		a, _ = account.Get(ctx, db, "a1")
		if _, ok := a.Attributes["region"]; ok {
			t.Fatalf("region not removed: %#v", a.Attributes)
		}
		if _, ok := a.Attributes["vip"]; ok {
			t.Fatalf("vip not removed: %#v", a.Attributes)
		}
		if a.Attributes["seats"] != 43.0 || a.Attributes["zip"] != "01234" || len(a.Attributes) != 9 {
			t.Fatalf("after removal: %#v", a.Attributes)
		}

		// A text value arriving later widens the number column to text, for every account.
		if err := account.Upsert(ctx, db, account.Account{ID: "a2", Name: "Two", Attributes: map[string]any{
			"seats": "unlimited", "arr": 7, "vip": "maybe"}}); err != nil {
			t.Fatal(err)
		}
		a, _ = account.Get(ctx, db, "a1")
		if a.Attributes["seats"] != "43" || a.Attributes["arr"] != 3.5 {
			t.Fatalf("a1 after widening: seats = %#v, arr = %#v; want \"43\" and 3.5", a.Attributes["seats"], a.Attributes["arr"])
		}
		b, _ := account.Get(ctx, db, "a2")
		attrEqual(t, "a2 attributes", b.Attributes, map[string]any{"seats": "unlimited", "arr": 7.0, "vip": "maybe"})
		types, _ = account.AttributeTypes(ctx, db, account.ObjectAccount)
		if types["seats"] != account.TypeText || types["arr"] != account.TypeNumber || types["vip"] != account.TypeText {
			t.Fatalf("types after widening: %v", types)
		}
		// A number arriving after the widening does not narrow it back.
		if err := account.SetAttributes(ctx, db, account.ObjectAccount, "a2", map[string]any{"seats": 10}); err != nil {
			t.Fatal(err)
		}
		if b, _ := account.Get(ctx, db, "a2"); b.Attributes["seats"] != "10" {
			t.Fatalf("seats after a later number = %#v, want \"10\"", b.Attributes["seats"])
		}
		// An attribute removed everywhere: the account has no attributes map at all.
		if err := account.Upsert(ctx, db, account.Account{ID: "a3", Name: "Three", Attributes: map[string]any{"x": ""}}); err != nil {
			t.Fatal(err)
		}
		if c, _ := account.Get(ctx, db, "a3"); c.Attributes != nil {
			t.Fatalf("a3 attributes = %#v, want nil", c.Attributes)
		}
		if err := account.SetAttributes(ctx, db, "order", "a1", map[string]any{"x": 1}); err == nil {
			t.Fatal("SetAttributes on an object without attributes succeeded")
		}
		if err := account.SetAttributes(ctx, db, account.ObjectAccount, "ghost", map[string]any{"x": 1}); err == nil {
			t.Fatal("SetAttributes on an unknown account succeeded")
		}
	})
}

func TestDefineAttributes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		steps := []struct {
			in   map[string]account.AttrType
			want map[string]account.AttrType
		}{
			{map[string]account.AttrType{"a": "number", "b": "", "c": "date"}, map[string]account.AttrType{"a": "number", "c": "date"}},
			{map[string]account.AttrType{"a": "number", "b": "boolean", "c": ""}, map[string]account.AttrType{"a": "number", "b": "boolean", "c": "date"}},
			{map[string]account.AttrType{"a": "boolean", "c": "text"}, map[string]account.AttrType{"a": "text", "b": "boolean", "c": "text"}},
			{map[string]account.AttrType{"a": "number"}, map[string]account.AttrType{"a": "text", "b": "boolean", "c": "text"}},
		}
		for i, s := range steps {
			if err := account.DefineAttributes(ctx, db, account.ObjectContact, s.in); err != nil {
				t.Fatal(err)
			}
			got, err := account.AttributeTypes(ctx, db, account.ObjectContact)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, s.want) {
				t.Fatalf("step %d: types = %v, want %v", i+1, got, s.want)
			}
		}
		if got, _ := account.AttributeTypes(ctx, db, account.ObjectAccount); len(got) != 0 {
			t.Fatalf("account types = %v, want none (contact types are separate)", got)
		}
	})
}

func TestMergeAttributes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a1", "a2"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		if err := account.SetAttributes(ctx, db, account.ObjectAccount, "a1", map[string]any{"tier": "gold", "seats": 5}); err != nil {
			t.Fatal(err)
		}
		cols := []string{"id", "name", "value"}
		storetest.WithStage(t, db, "stage_attrs", account.StageAttributes, cols, [][]any{
			{"a1", "tier", ""},     // remove
			{"a1", "seats", "6"},   // change
			{"a2", "seats", "10"},  // new
			{"a2", "ghost", ""},    // removing what is not there
			{"a2", "region", "eu"}, // new attribute without a definition
		}, func(tx *sql.Tx) {
			if err := account.MergeAttributes(ctx, tx, account.ObjectAccount, "stage_attrs"); err != nil {
				t.Fatal(err)
			}
		})
		a1, _ := account.Get(ctx, db, "a1")
		a2, _ := account.Get(ctx, db, "a2")
		attrEqual(t, "a1", a1.Attributes, map[string]any{"seats": 6.0})
		// region has no definition (MergeAttributes leaves types to its caller), so it reads as text.
		attrEqual(t, "a2", a2.Attributes, map[string]any{"seats": 10.0, "region": "eu"})
		if err := account.MergeAttributes(ctx, db, "invoice", "stage_attrs"); err == nil {
			t.Fatal("MergeAttributes on an object without attributes succeeded")
		}
	})
}

func TestContacts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a1", "a2"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id, Attributes: map[string]any{"tier": 1}}); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []account.Contact{
			{ID: "c2", AccountID: "a1", Email: "bo@example.com", Name: "Bo", Role: "admin",
				Attributes: map[string]any{"tier": "gold", "nps": 9, "champion": true}},
			{ID: "c1", AccountID: "a1", Email: "al@example.com", Name: "Al"},
			{ID: "c3", AccountID: "a2", Name: "Cy"},
		} {
			if err := account.UpsertContact(ctx, db, c); err != nil {
				t.Fatal(err)
			}
		}
		got, err := account.Contacts(ctx, db, "a1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != "c1" || got[1].ID != "c2" {
			t.Fatalf("Contacts(a1) = %+v", got)
		}
		if got[0].Email != "al@example.com" || got[0].Name != "Al" || got[0].Attributes != nil {
			t.Fatalf("c1 = %+v", got[0])
		}
		attrEqual(t, "c2", got[1].Attributes, map[string]any{"tier": "gold", "nps": 9.0, "champion": true})
		// The account attribute "tier" is a number; the contact one is text: separate columns.
		a1, _ := account.Get(ctx, db, "a1")
		if a1.Attributes["tier"] != 1.0 {
			t.Fatalf("account tier = %#v, want 1.0", a1.Attributes["tier"])
		}
		// Moving a contact to another account.
		if err := account.UpsertContact(ctx, db, account.Contact{ID: "c1", AccountID: "a2", Email: "al@new.example.com"}); err != nil {
			t.Fatal(err)
		}
		got, _ = account.Contacts(ctx, db, "a2")
		if len(got) != 2 || got[0].ID != "c1" || got[0].Email != "al@new.example.com" || got[0].Name != "" || got[1].ID != "c3" {
			t.Fatalf("Contacts(a2) = %+v", got)
		}
		if got, err := account.Contacts(ctx, db, "nobody"); err != nil || len(got) != 0 {
			t.Fatalf("Contacts(nobody) = %+v, %v", got, err)
		}
		for _, c := range []account.Contact{{AccountID: "a1"}, {ID: "c9"}, {ID: "c9", AccountID: "ghost"}} {
			if err := account.UpsertContact(ctx, db, c); err == nil {
				t.Errorf("UpsertContact(%+v) succeeded", c)
			}
		}

		// Contacts through a staging table.
		rows := [][]any{
			{"c3", "a2", "cy@example.com", "Cy", "owner"},
			{"c4", "a1", "di@example.com", "Di", ""},
		}
		storetest.WithStage(t, db, "stage_contacts", account.StageContacts, account.StageContactsColumns, rows, func(tx *sql.Tx) {
			if n, err := account.MergeContacts(ctx, tx, "stage_contacts", 100); err != nil || n != 2 {
				t.Fatalf("MergeContacts = %d, %v; want 2", n, err)
			}
		})
		storetest.WithStage(t, db, "stage_contacts", account.StageContacts, account.StageContactsColumns, rows, func(tx *sql.Tx) {
			if n, err := account.MergeContacts(ctx, tx, "stage_contacts", 200); err != nil || n != 0 {
				t.Fatalf("re-merge contacts = %d, %v; want 0", n, err)
			}
		})
		got, _ = account.Contacts(ctx, db, "a2")
		if len(got) != 2 || got[1].ID != "c3" || got[1].Email != "cy@example.com" || got[1].Role != "owner" {
			t.Fatalf("Contacts(a2) after merge = %+v", got)
		}
		got, _ = account.Contacts(ctx, db, "a1")
		if len(got) != 2 || got[0].ID != "c2" || got[1].ID != "c4" {
			t.Fatalf("Contacts(a1) after merge = %+v", got)
		}
	})
}

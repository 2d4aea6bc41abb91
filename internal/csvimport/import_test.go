package csvimport_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/csvimport"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func importString(t *testing.T, db *store.DB, kind, csv string, opts csvimport.Options) (*csvimport.Result, error) {
	t.Helper()
	return csvimport.Import(context.Background(), db, kind, kind+".csv", strings.NewReader(csv), opts)
}

func mustImport(t *testing.T, db *store.DB, kind, csv string) *csvimport.Result {
	t.Helper()
	res, err := importString(t, db, kind, csv, csvimport.Options{})
	if err != nil {
		var msgs []string
		if res != nil {
			for _, e := range res.Errors {
				msgs = append(msgs, e.String())
			}
		}
		t.Fatalf("import %s: %v\n%s", kind, err, strings.Join(msgs, "\n"))
	}
	return res
}

func count(t *testing.T, db *store.DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const baseAccounts = "account_id,name\nA1,Acme\nA2,Beta\n"

// TestBadRows proves, for every kind, that each kind of broken row is
// reported as FILE:LINE: column: reason and that nothing is written.
func TestBadRows(t *testing.T) {
	tests := []struct {
		name, kind, csv string
		table           string
		want            []string // exact error lines
	}{
		{"accounts missing required column", "accounts", "name\nAcme\n", "accounts",
			[]string{"accounts.csv:1: account_id: required column is missing from the header"}},
		{"accounts missing value and bad date", "accounts", "account_id,name,signup_at\nX1,ok,2024-01-01\n,NoID,2024-13-01\n", "accounts",
			[]string{`accounts.csv:3: account_id: required value is empty`, `accounts.csv:3: signup_at: "2024-13-01" is not a date (want YYYY-MM-DD or a date-time with offset such as 2024-05-01T09:30:00+09:00)`}},
		{"accounts duplicate id", "accounts", "account_id,name\nX1,a\nX2,b\nX1,c\n", "accounts",
			[]string{`accounts.csv:4: account_id: duplicate account_id "X1" (first at line 2)`}},
		{"accounts unknown parent and bad email", "accounts", "account_id,parent_account_id,owner_email\nX1,NOPE,\nX2,X1,not-an-email\n", "accounts",
			[]string{`accounts.csv:2: parent_account_id: unknown parent account "NOPE" (not in the database nor in this file)`,
				`accounts.csv:3: owner_email: "not-an-email" is not an email address`}},
		{"accounts date out of range", "accounts", "account_id,signup_at\nX1,0204-05-01\n", "accounts",
			[]string{`accounts.csv:2: signup_at: "0204-05-01" is out of range (years 1900 to 2200)`}},
		{"contacts unknown account and duplicate", "contacts", "contact_id,account_id,email\nC1,A1,a@x.io\nC2,ZZ,b@x.io\nC1,A2,c@x.io\n", "contacts",
			[]string{`contacts.csv:3: account_id: unknown account "ZZ" (import accounts first, or use --create-accounts)`,
				`contacts.csv:4: contact_id: duplicate contact_id "C1" (first at line 2)`}},
		{"subscriptions bad number, currency, dates", "subscriptions",
			"subscription_id,account_id,start_date,end_date,mrr,currency\nS1,A1,2024-01-01,,abc,USD\nS2,A1,2024-01-01,,10,XYZ\nS3,A1,2024-02-01,2024-01-01,10,USD\nS4,A1,2024-01-01,,-5,USD\nS5,A1,2024-01-01,,5.5,JPY\n", "subscription_periods",
			[]string{`subscriptions.csv:2: mrr: "abc" is not a decimal number`,
				`subscriptions.csv:3: currency: unknown currency "XYZ" (want an ISO 4217 code such as USD, EUR, JPY)`,
				`subscriptions.csv:4: end_date: end_date must be after start_date (it is exclusive)`,
				`subscriptions.csv:5: mrr: "-5" is negative`,
				`subscriptions.csv:6: mrr: "5.5" has more than 0 decimals for JPY`}},
		{"subscriptions overlapping periods and duplicates", "subscriptions",
			"subscription_id,account_id,start_date,end_date,mrr\nS1,A1,2024-01-01,2024-03-01,10\nS1,A1,2024-02-01,,20\nS1,A1,2024-01-01,2024-02-01,10\nS2,A1,2024-01-01,2024-02-01,10\nS2,A1,2024-02-01,,10\n", "subscription_periods",
			[]string{`subscriptions.csv:3: start_date: period of subscription "S1" overlaps the one at line 2`,
				`subscriptions.csv:4: subscription_id: duplicate of line 2 (same subscription_id and start_date)`,
				`subscriptions.csv:4: start_date: period of subscription "S1" overlaps the one at line 2`}},
		{"events bad timestamp, json, unknown account", "events",
			"account_id,user_id,event,timestamp,properties\nA1,u1,login,yesterday,\nA1,u1,login,2024-01-01T10:00:00Z,[1]\nNOPE,u1,login,2024-01-01T10:00:00Z,\nA1,u1,,2024-01-01T10:00:00Z,\n", "events",
			[]string{`events.csv:2: timestamp: "yesterday" is not a date (want YYYY-MM-DD or a date-time with offset such as 2024-05-01T09:30:00+09:00)`,
				`events.csv:3: properties: not a JSON object`,
				`events.csv:4: account_id: unknown account "NOPE" (import accounts first, or use --create-accounts)`,
				`events.csv:5: event: required value is empty`}},
		{"tickets bad csat, close before open, unknown account", "tickets",
			"ticket_id,account_id,opened_at,closed_at,csat\nT1,A1,2024-01-02,2024-01-01,\nT2,A1,2024-01-02,,9\nT3,QQ,2024-01-02,,\nT4,A1,2024-01-02,,4\nT4,A1,2024-01-03,,4\n", "tickets",
			[]string{`tickets.csv:2: closed_at: closed_at is before opened_at`,
				`tickets.csv:3: csat: 9 is out of range (1 to 5)`,
				`tickets.csv:4: account_id: unknown account "QQ" (import accounts first, or use --create-accounts)`,
				`tickets.csv:6: ticket_id: duplicate ticket_id "T4" (first at line 5)`}},
		{"responses bad kind, score range, missing score", "responses",
			"response_id,account_id,survey,kind,score,answered_at\nR1,A1,q1,nps,11,2024-01-01\nR2,A1,q1,csat,0,2024-01-01\nR3,A1,q1,stars,3,2024-01-01\nR4,A1,q1,nps,,2024-01-01\nR5,A1,q1,nps,7.5,2024-01-01\n", "survey_responses",
			[]string{`responses.csv:2: score: 11 is out of range (0 to 10)`,
				`responses.csv:3: score: 0 is out of range (1 to 5)`,
				`responses.csv:4: kind: "stars" is not one of nps, csat, ces`,
				`responses.csv:5: score: required value is empty`,
				`responses.csv:6: score: "7.5" is not a whole number`}},
		{"orders bad amount, unknown currency, unknown account", "orders",
			"order_id,account_id,ordered_at,amount,currency\nO1,A1,2024-01-01,1.2.3,USD\nO2,A1,2024-01-01,10,ABC\nO3,XX,2024-01-01,10,USD\n", "orders",
			[]string{`orders.csv:2: amount: "1.2.3" is not a decimal number`,
				`orders.csv:3: currency: unknown currency "ABC" (want an ISO 4217 code such as USD, EUR, JPY)`,
				`orders.csv:4: account_id: unknown account "XX" (import accounts first, or use --create-accounts)`}},
		{"costs bad month and kind, duplicate", "costs",
			"month,kind,amount,currency\n2024-13,acquisition,10,USD\n2024-01,marketing,10,USD\n2024-01,acquisition,10,USD\n2024-01,acquisition,20,USD\n", "costs",
			[]string{`costs.csv:2: month: "2024-13" is not a month (want YYYY-MM)`,
				`costs.csv:3: kind: "marketing" is not one of acquisition, retention`,
				`costs.csv:5: month: duplicate of line 4 (same month and kind and currency)`}},
		{"feedback bad category, missing text, unknown account", "feedback",
			"feedback_id,account_id,category,text\nF1,A1,wishes,more reports\nF2,A1,feature,\nF3,NOPE,feature,x\nF4,,feature,no account is fine\n", "feedback",
			[]string{`feedback.csv:2: category: "wishes" is not one of feature, ui_ux, performance, support, other`,
				`feedback.csv:3: text: required value is empty`,
				`feedback.csv:4: account_id: unknown account "NOPE" (import accounts first, or use --create-accounts)`}},
		{"unknown column for a kind without custom attributes", "tickets", "ticket_id,account_id,opened_at,mood\n", "tickets",
			[]string{`tickets.csv:1: mood: unknown column for tickets (known: ticket_id, account_id, opened_at, closed_at, status, priority, category, subject, csat; rename it with --map mood=NAME or drop it with --map mood=)`}},
		{"wrong field count and malformed quotes", "accounts", "account_id,name\nX1,a,extra\nX2,\"bad\"quote\n", "accounts",
			[]string{`accounts.csv:2: has 3 fields, the header has 2`,
				`accounts.csv:3: malformed CSV at column 8: extraneous or missing " in quoted-field`}},
		{"empty file", "accounts", "", "accounts", []string{`accounts.csv:1: empty file: a header row is required`}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := count(t, db, "accounts")
				if count(t, db, "accounts") == 0 {
					mustImport(t, db, "accounts", baseAccounts)
					before = count(t, db, "accounts")
				}
				beforeTable := count(t, db, tt.table)
				res, err := importString(t, db, tt.kind, tt.csv, csvimport.Options{})
				if !errors.Is(err, csvimport.ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				var got []string
				for _, e := range res.Errors {
					got = append(got, e.String())
				}
				if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
					t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
				}
				if res.Committed {
					t.Error("Committed = true for a rejected file")
				}
				if n := count(t, db, tt.table); n != beforeTable {
					t.Errorf("%s rows = %d, want %d: a rejected import wrote rows", tt.table, n, beforeTable)
				}
				if n := count(t, db, "accounts"); n != before {
					t.Errorf("accounts = %d, want %d", n, before)
				}
			})
		}
	})
}

func TestSkipInvalidWritesGoodRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		mustImport(t, db, "accounts", baseAccounts)
		res, err := importString(t, db, "contacts", "contact_id,account_id,tier\nC1,A1,gold\nC2,NOPE,silver\nC3,A2,\nC1,A2,x\n",
			csvimport.Options{SkipInvalid: true})
		if !errors.Is(err, csvimport.ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
		if !res.Committed || res.Inserted != 2 || res.Invalid != 2 || res.Rows != 4 {
			t.Fatalf("result = %+v", res)
		}
		cs, err := account.Contacts(context.Background(), db, "A1")
		if err != nil || len(cs) != 1 || cs[0].ID != "C1" || cs[0].Attributes["tier"] != "gold" {
			t.Fatalf("contacts of A1 = %+v, %v (the duplicate C1 at line 5 must not win)", cs, err)
		}
		if n := count(t, db, "contact_attributes"); n != 1 {
			t.Errorf("contact attributes = %d, want 1 (bad rows' attributes dropped)", n)
		}
	})
}

func TestReimportChangesNothing(t *testing.T) {
	files := []struct{ kind, csv string }{
		{"accounts", "\ufeffaccount_id,name,signup_at,owner_email,parent_account_id,industry\r\nA1,Acme,2024-05-01,CSM@Example.com,,retail\r\nA2,\"Beta, Inc.\",2024-06-01T10:00:00+09:00,,A1,saas\r\n"},
		{"contacts", "contact_id,account_id,email,name,role\nC1,A1,a@acme.io,Ann,admin\n"},
		{"subscriptions", "subscription_id,account_id,start_date,end_date,mrr,currency,plan,product,quantity\nS1,A1,2024-05-01,2024-07-01,49.90,USD,starter,core,5\nS1,A1,2024-07-01,,99,USD,growth,core,10\nS2,A2,2024-06-01,,5000,JPY,starter,core,\n"},
		{"events", "account_id,user_id,event,timestamp,properties,message_id\nA1,u1,login,2024-05-02T10:00:00Z,,m1\nA1,u2,login,2024-05-02T11:00:00Z,\"{\"\"a\"\":1}\",\nA1,u1,reports,2024-05-03,,\n"},
		{"tickets", "ticket_id,account_id,opened_at,closed_at,status,priority,category,subject,csat\nT1,A1,2024-05-03,2024-05-04,closed,high,billing,Invoice,4\n"},
		{"responses", "response_id,account_id,contact_id,survey,kind,score,comment,answered_at\nR1,A1,C1,q2-nps,nps,9,great,2024-06-01\n"},
		{"orders", "order_id,account_id,ordered_at,amount,currency\n,A1,2024-05-01,19.99,USD\nO2,A2,2024-05-02,3000,JPY\n"},
		{"costs", "month,kind,amount,currency\n2024-05,acquisition,1200.50,USD\n2024-05,retention,300,USD\n"},
		{"feedback", "feedback_id,account_id,category,text,source,created_at\nF1,A1,feature,Export to PDF,survey,2024-06-01\nF2,,ui_ux,Dark mode,csm,\n"},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		snapshot := func() string {
			var b strings.Builder
			for _, table := range []string{"accounts", "account_attributes", "contacts", "subscription_periods", "events", "usage_daily",
				"usage_daily_users", "tickets", "survey_responses", "orders", "costs", "feedback"} {
				rows, err := db.QueryContext(ctx, "SELECT * FROM "+table+" ORDER BY 1, 2")
				if err != nil {
					t.Fatal(err)
				}
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					rows.Scan(ptrs...)
					b.WriteString(table)
					for _, v := range vals {
						b.WriteString("|")
						b.WriteString(strings.TrimSpace(strings.ReplaceAll(fmtAny(v), "\n", " ")))
					}
					b.WriteString("\n")
				}
				rows.Close()
			}
			return b.String()
		}
		for _, f := range files {
			res := mustImport(t, db, f.kind, f.csv)
			if res.Inserted != res.Rows || res.Invalid != 0 {
				t.Fatalf("first import of %s: %+v", f.kind, res)
			}
		}
		first := snapshot()
		for _, f := range files {
			res := mustImport(t, db, f.kind, f.csv)
			if res.Inserted != 0 || res.Updated != 0 || res.Unchanged != res.Rows {
				t.Errorf("re-import of %s: %+v, want all unchanged", f.kind, res)
			}
		}
		if second := snapshot(); second != first {
			t.Errorf("re-import changed the database:\nbefore:\n%s\nafter:\n%s", first, second)
		}
		// A changed value is an update, and only that row changes.
		res := mustImport(t, db, "accounts", "account_id,name\nA1,Acme Corp\nA2,\"Beta, Inc.\"\n")
		if res.Updated != 1 || res.Unchanged != 1 {
			t.Errorf("changed import: %+v, want 1 updated, 1 unchanged", res)
		}
		a, err := account.Get(ctx, db, "A2")
		if err != nil || a.Name != "Beta, Inc." || a.ParentID != "A1" || a.OwnerEmail != "" || a.SignupAt == nil ||
			a.SignupAt.Format("2006-01-02T15:04") != "2024-06-01T01:00" {
			t.Errorf("A2 = %+v, %v", a, err)
		}
		if a, _ := account.Get(ctx, db, "A1"); a.OwnerEmail != "csm@example.com" {
			t.Errorf("owner email not lower-cased: %q", a.OwnerEmail)
		}
	})
}

func TestMapAndCustomAttributeTypes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		csv := "Customer ID,Company,Seats,Partner,Renewal,Zip,Notes,internal\nA1,Acme,10,true,2025-01-31,01234,hello,x\nA2,Beta,2.5,false,2025-02-28,98101,,y\n"
		res, err := importString(t, db, "accounts", csv, csvimport.Options{Map: map[string]string{
			"Customer ID": "account_id", "Company": "name", "internal": ""}})
		if err != nil {
			t.Fatalf("import: %v %+v", err, res)
		}
		types, err := account.AttributeTypes(ctx, db, account.ObjectAccount)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]account.AttrType{"Seats": "number", "Partner": "boolean", "Renewal": "date", "Zip": "text", "Notes": "text"}
		for k, v := range want {
			if types[k] != v {
				t.Errorf("type of %s = %q, want %q", k, types[k], v)
			}
		}
		if _, ok := types["internal"]; ok {
			t.Error("a column mapped to nothing became an attribute")
		}
		a, _ := account.Get(ctx, db, "A1")
		if a.Name != "Acme" || a.Attributes["Seats"] != 10.0 || a.Attributes["Partner"] != true || a.Attributes["Zip"] != "01234" {
			t.Errorf("A1 = %+v", a)
		}
		b, _ := account.Get(ctx, db, "A2")
		if _, ok := b.Attributes["Notes"]; ok {
			t.Errorf("empty cell stored as an attribute: %+v", b.Attributes)
		}
		// A later text value widens the column to text.
		mustImport(t, db, "accounts", "account_id,Seats\nA3,unlimited\n")
		types, _ = account.AttributeTypes(ctx, db, account.ObjectAccount)
		if types["Seats"] != "text" {
			t.Errorf("Seats widened to %q, want text", types["Seats"])
		}
		// Emptying a cell removes the attribute.
		mustImport(t, db, "accounts", "account_id,Partner\nA1,\n")
		a, _ = account.Get(ctx, db, "A1")
		if _, ok := a.Attributes["Partner"]; ok {
			t.Errorf("Partner still set after an empty cell: %+v", a.Attributes)
		}
	})
}

func TestCreateAccounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		res, err := importString(t, db, "events", "account_id,event,timestamp\nN1,login,2024-01-01\nN2,login,2024-01-01\nN1,reports,2024-01-02\n",
			csvimport.Options{CreateAccounts: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.CreatedAccounts != 2 || res.Inserted != 3 || count(t, db, "accounts") != 2 {
			t.Fatalf("result = %+v, accounts = %d", res, count(t, db, "accounts"))
		}
	})
}

func TestEventsDedupeAndRollups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustImport(t, db, "accounts", baseAccounts)
		// m1 twice in the file, e3 twice without an id: both stored once.
		res := mustImport(t, db, "events", "account_id,user_id,event,timestamp,message_id\n"+
			"A1,u1,login,2024-05-02T10:00:00Z,m1\nA1,u1,login,2024-05-02T10:00:00Z,m1\n"+
			"A1,u2,login,2024-05-02T23:59:59Z,\nA1,u2,login,2024-05-02T23:59:59Z,\n"+
			"A1,u1,login,2024-05-03T00:00:00+09:00,\nA2,,reports,2024-05-02,\n")
		if res.Inserted != 4 || res.Unchanged != 2 {
			t.Fatalf("result = %+v, want 4 new, 2 repeated", res)
		}
		rows, err := db.QueryContext(ctx, `SELECT account_id, day, event, count FROM usage_daily ORDER BY 1, 2, 3`)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var a, e string
			var d, c int64
			rows.Scan(&a, &d, &e, &c)
			got = append(got, strings.Join([]string{a, store.DayString(d), e, fmtAny(c)}, " "))
		}
		rows.Close()
		// 2024-05-03T00:00+09:00 is 2024-05-02 15:00 UTC.
		want := []string{"A1 2024-05-02 login 3", "A2 2024-05-02 reports 1"}
		if strings.Join(got, ";") != strings.Join(want, ";") {
			t.Errorf("rollups = %v, want %v", got, want)
		}
		if n := count(t, db, "usage_daily_users"); n != 2 {
			t.Errorf("active user-days = %d, want 2 (u1, u2 on A1; none for A2's anonymous event)", n)
		}
		// A second file repeating an event (message id and time) adds nothing,
		// whatever else its row says; the same id at another time is another
		// event.
		res = mustImport(t, db, "events", "account_id,user_id,event,timestamp,message_id\nA1,u9,anything,2024-05-02T10:00:00Z,m1\n")
		if res.Inserted != 0 || count(t, db, "events") != 4 {
			t.Errorf("repeat message id: %+v", res)
		}
		res = mustImport(t, db, "events", "account_id,user_id,event,timestamp,message_id\nA1,u1,login,2024-05-02T10:00:01Z,m1\n")
		if res.Inserted != 1 || count(t, db, "events") != 5 {
			t.Errorf("message id at another time: %+v", res)
		}
	})
}

func TestUnknownKind(t *testing.T) {
	db := storetest.SQLite(t)
	if _, err := importString(t, db, "widgets", "a\n", csvimport.Options{}); err == nil || !strings.Contains(err.Error(), "unknown kind") {
		t.Fatalf("err = %v", err)
	}
}

package csvimport_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/csvimport"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// FuzzImport feeds arbitrary bytes to the importer of each kind: it must
// never panic, must either commit or write nothing, and every error it
// reports must name a line.
func FuzzImport(f *testing.F) {
	seeds := []string{
		"account_id,name,signup_at\nA1,Acme,2024-05-01\n",
		"\ufeffaccount_id,name,tier\r\nA1,\"Acme, Inc.\",gold\r\n",
		"subscription_id,account_id,start_date,end_date,mrr,currency\nS1,A1,2024-01-01,2024-02-01,49.90,USD\nS1,A1,2024-01-15,,5000,JPY\n",
		"account_id,event,timestamp,properties\nA1,login,2024-01-01T10:00:00+09:00,\"{\"\"a\"\":1}\"\n",
		"a,\"b\nc\",d\n1,2\n",
		"",
	}
	for _, s := range seeds {
		f.Add(s, uint8(0))
	}
	db := storetest.SQLite(f)
	ctx := context.Background()
	if _, err := csvimport.Import(ctx, db, "accounts", "seed.csv", bytes.NewReader([]byte("account_id\nA1\n")), csvimport.Options{}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data string, k uint8) {
		kind := csvimport.Kinds[int(k)%len(csvimport.Kinds)]
		var before int64
		db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM subscription_periods) + (SELECT COUNT(*) FROM events)`).Scan(&before)
		res, err := csvimport.Import(ctx, db, kind, "fuzz.csv", bytes.NewReader([]byte(data)), csvimport.Options{})
		if err != nil && !errors.Is(err, csvimport.ErrInvalid) {
			t.Fatalf("%s: unexpected error %v", kind, err)
		}
		for _, e := range res.Errors {
			if e.Line < 1 || e.Reason == "" {
				t.Fatalf("%s: error without a line or reason: %+v", kind, e)
			}
		}
		var after int64
		db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM subscription_periods) + (SELECT COUNT(*) FROM events)`).Scan(&after)
		if !res.Committed && after != before {
			t.Fatalf("%s: rejected import changed row counts %d -> %d", kind, before, after)
		}
	})
}

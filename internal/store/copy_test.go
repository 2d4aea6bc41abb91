package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestCopyBinary(t *testing.T) {
	if !storetest.PostgresAvailable() {
		t.Skip("PostgreSQL only; set " + storetest.EnvPostgres)
	}
	ctx := context.Background()
	// Row i: a text that makes some rows long (so that rows span the reader's
	// buffers), NULL every third row, a negative INTEGER and a BIGINT past 32 bits.
	text := func(i int) string { return fmt.Sprintf("r%d-%s-é", i, strings.Repeat("x", i%500)) }
	row := func(i int, r *store.CopyRow) {
		r.Text(text(i))
		if i%3 == 0 {
			r.NullText("")
		} else {
			r.NullText("n" + strconv.Itoa(i))
		}
		r.Int4(int32(-i))
		r.Int8(int64(i) << 33)
	}
	for _, n := range []int{0, 1, 7000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			db := storetest.Postgres(t)
			if _, err := db.ExecContext(ctx, `CREATE TABLE copied (t TEXT NOT NULL, maybe TEXT, i INTEGER NOT NULL, b BIGINT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			inTx(t, db, func(conn *sql.Conn, tx *sql.Tx) {
				got, err := store.CopyBinary(ctx, conn, "copied", []string{"t", "maybe", "i", "b"}, n, row)
				if err != nil || got != int64(n) {
					t.Fatalf("CopyBinary = %d, %v; want %d", got, err, n)
				}
			})
			rows, err := db.QueryContext(ctx, `SELECT t, maybe, i, b FROM copied ORDER BY b`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			i := 0
			for ; rows.Next(); i++ {
				var s string
				var maybe sql.NullString
				var i4, i8 int64
				if err := rows.Scan(&s, &maybe, &i4, &i8); err != nil {
					t.Fatal(err)
				}
				wantMaybe := sql.NullString{}
				if i%3 != 0 {
					wantMaybe = sql.NullString{String: "n" + strconv.Itoa(i), Valid: true}
				}
				if s != text(i) || maybe != wantMaybe || i4 != int64(-i) || i8 != int64(i)<<33 {
					t.Fatalf("row %d = %q, %v, %d, %d", i, s, maybe, i4, i8)
				}
			}
			if err := rows.Err(); err != nil || i != n {
				t.Fatalf("read %d rows (%v), want %d", i, err, n)
			}
		})
	}
}

// A row with the wrong number or type of values fails the COPY with a
// message naming it, and the transaction rolls back.
func TestCopyBinaryRefuses(t *testing.T) {
	if !storetest.PostgresAvailable() {
		t.Skip("PostgreSQL only; set " + storetest.EnvPostgres)
	}
	ctx := context.Background()
	db := storetest.Postgres(t)
	if _, err := db.ExecContext(ctx, `CREATE TABLE copied (t TEXT NOT NULL, i INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		row  func(i int, r *store.CopyRow)
		want string
	}{
		{"too few values", func(i int, r *store.CopyRow) {
			r.Text("a")
			if i < 2 {
				r.Int4(1)
			}
		}, "row 2 has 1 values for 2 columns"},
		{"BIGINT for INTEGER", func(i int, r *store.CopyRow) { r.Text("a"); r.Int8(1) }, "incorrect binary data format"},
		{"NULL for NOT NULL", func(i int, r *store.CopyRow) { r.Text("a"); r.NullText("") }, "not-null constraint"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			tx, err := conn.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = store.CopyBinary(ctx, conn, "copied", []string{"t", "i"}, 5, c.row)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "copy into copied") {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			if err := tx.Rollback(); err != nil {
				t.Fatalf("rollback: %v", err)
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM copied`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%d rows stored (%v), want 0", n, err)
			}
		})
	}
}

package store_test

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// inTx runs fn in a transaction on one connection, as imports do, and commits.
func inTx(t *testing.T, db *store.DB, fn func(conn *sql.Conn, tx *sql.Tx)) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	fn(conn, tx)
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func TestBulkLoader(t *testing.T) {
	// Sizes around SQLite's flush size (1000 rows of 3 columns) and above
	// PostgreSQL's (20000 rows), so both dialects flush several times.
	for _, n := range []int{0, 1, 999, 1000, 1001, 2500, 45001} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				if _, err := db.ExecContext(ctx, `CREATE TABLE bulk_target (id BIGINT NOT NULL, name TEXT, amount DOUBLE PRECISION)`); err != nil {
					t.Fatal(err)
				}
				var wantSum int64
				var wantNullNames, wantNullAmounts int
				inTx(t, db, func(conn *sql.Conn, tx *sql.Tx) {
					l := db.NewBulkLoader(conn, tx, "bulk_target", []string{"id", "name", "amount"})
					for i := 1; i <= n; i++ {
						var name, amount any = "row-" + strconv.Itoa(i), float64(i) / 4
						if i%7 == 0 {
							name = nil
							wantNullNames++
						}
						if i%5 == 0 {
							amount = nil
							wantNullAmounts++
						}
						wantSum += int64(i)
						if err := l.Add(ctx, int64(i), name, amount); err != nil {
							t.Fatalf("Add row %d: %v", i, err)
						}
						if l.Loaded > int64(i) {
							t.Fatalf("Loaded = %d after %d rows", l.Loaded, i)
						}
					}
					if err := l.Close(ctx); err != nil {
						t.Fatalf("Close: %v", err)
					}
					if l.Loaded != int64(n) {
						t.Fatalf("Loaded = %d, want %d", l.Loaded, n)
					}
				})
				var count, distinct, nullNames, nullAmounts int
				var sum sql.NullInt64
				if err := db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT id), SUM(id),
					SUM(CASE WHEN name IS NULL THEN 1 ELSE 0 END), SUM(CASE WHEN amount IS NULL THEN 1 ELSE 0 END)
					FROM bulk_target`).Scan(&count, &distinct, &sum, nullInt(&nullNames), nullInt(&nullAmounts)); err != nil {
					t.Fatal(err)
				}
				if count != n || distinct != n || sum.Int64 != wantSum {
					t.Fatalf("rows = %d (distinct ids %d, sum %d), want %d (sum %d)", count, distinct, sum.Int64, n, wantSum)
				}
				if nullNames != wantNullNames || nullAmounts != wantNullAmounts {
					t.Fatalf("NULL names = %d, NULL amounts = %d, want %d and %d", nullNames, nullAmounts, wantNullNames, wantNullAmounts)
				}
				if n >= 12 {
					// Values arrive in the right columns.
					var name sql.NullString
					var amount sql.NullFloat64
					if err := db.QueryRowContext(ctx, `SELECT name, amount FROM bulk_target WHERE id = 12`).Scan(&name, &amount); err != nil {
						t.Fatal(err)
					}
					if name.String != "row-12" || !amount.Valid || amount.Float64 != 3 {
						t.Fatalf("row 12 = (%v, %v), want (row-12, 3)", name, amount)
					}
				}
				if n >= 35 {
					var name sql.NullString
					var amount sql.NullFloat64
					if err := db.QueryRowContext(ctx, `SELECT name, amount FROM bulk_target WHERE id = 35`).Scan(&name, &amount); err != nil {
						t.Fatal(err)
					}
					if name.Valid || amount.Valid {
						t.Fatalf("row 35 = (%v, %v), want (NULL, NULL)", name, amount)
					}
				}
			})
		})
	}
}

// TestBulkLoaderWide loads a 40-column table: on SQLite a full flush then
// binds 32000 variables, near the 32766 limit.
func TestBulkLoaderWide(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var cols, ddl []string
		for j := 0; j < 40; j++ {
			cols = append(cols, "c"+strconv.Itoa(j))
			ddl = append(ddl, "c"+strconv.Itoa(j)+" BIGINT")
		}
		if _, err := db.ExecContext(ctx, `CREATE TABLE wide (`+strings.Join(ddl, ", ")+`)`); err != nil {
			t.Fatal(err)
		}
		const n = 2001
		inTx(t, db, func(conn *sql.Conn, tx *sql.Tx) {
			l := db.NewBulkLoader(conn, tx, "wide", cols)
			row := make([]any, 40)
			for i := 0; i < n; i++ {
				for j := range row {
					row[j] = int64(i*40 + j)
				}
				if j := i % 40; i%3 == 0 {
					row[j] = nil
				}
				if err := l.Add(ctx, row...); err != nil { // Add copies the row
					t.Fatalf("Add row %d: %v", i, err)
				}
			}
			if err := l.Close(ctx); err != nil {
				t.Fatal(err)
			}
		})
		var count, nulls int
		var sum0, sum39 int64
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*), SUM(CASE WHEN c0 IS NULL THEN 1 ELSE 0 END), COALESCE(SUM(c0), 0), SUM(c39) FROM wide`).Scan(&count, &nulls, &sum0, &sum39); err != nil {
			t.Fatal(err)
		}
		// c0 is NULL in rows i with i%3 == 0 and i%40 == 0, i.e. i%120 == 0: 0, 120, …, 1920 → 17 rows.
		var want0, want39 int64
		for i := 0; i < n; i++ {
			if !(i%3 == 0 && i%40 == 0) {
				want0 += int64(i * 40)
			}
			if !(i%3 == 0 && i%40 == 39) {
				want39 += int64(i*40 + 39)
			}
		}
		if count != n || nulls != 17 || sum0 != want0 || sum39 != want39 {
			t.Fatalf("wide: %d rows, %d NULL c0, sums %d and %d; want %d, 17, %d and %d", count, nulls, sum0, sum39, n, want0, want39)
		}
	})
}

// TestBulkLoaderRollback: rows loaded in a transaction that is rolled back are gone.
func TestBulkLoaderRollback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `CREATE TABLE bulk_target (id BIGINT NOT NULL, name TEXT)`); err != nil {
			t.Fatal(err)
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		l := db.NewBulkLoader(conn, tx, "bulk_target", []string{"id", "name"})
		for i := 0; i < 1500; i++ {
			if err := l.Add(ctx, i, "x"); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		var inside int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM bulk_target`).Scan(&inside); err != nil || inside != 1500 {
			t.Fatalf("rows inside the transaction = %d, %v; want 1500", inside, err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		var after int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM bulk_target`).Scan(&after); err != nil || after != 0 {
			t.Fatalf("rows after rollback = %d, %v; want 0", after, err)
		}
	})
}

func TestBulkLoaderBadTable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		l := db.NewBulkLoader(conn, tx, "no_such_table", []string{"a"})
		if err := l.Add(ctx, 1); err != nil {
			t.Fatalf("Add queued one row and should not flush yet: %v", err)
		}
		err = l.Close(ctx)
		if err == nil || !strings.Contains(err.Error(), "no_such_table") {
			t.Fatalf("Close into a missing table: err = %v, want an error naming the table", err)
		}
		if l.Loaded != 0 {
			t.Fatalf("Loaded = %d after a failed flush, want 0", l.Loaded)
		}
	})
}

func TestTempTable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const name = "stage_test"
		inTx(t, db, func(conn *sql.Conn, tx *sql.Tx) {
			if err := db.CreateTempTable(ctx, tx, name, "line BIGINT NOT NULL, v TEXT"); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO `+name+` (line, v) VALUES (1, 'a'), (2, NULL)`); err != nil {
				t.Fatal(err)
			}
			// Creating it again starts from an empty table.
			if err := db.CreateTempTable(ctx, tx, name, "line BIGINT NOT NULL, v TEXT"); err != nil {
				t.Fatalf("second CreateTempTable: %v", err)
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+name).Scan(&n); err != nil || n != 0 {
				t.Fatalf("rows in recreated temp table = %d, %v; want 0", n, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO `+name+` (line, v) VALUES (1, 'a')`); err != nil {
				t.Fatal(err)
			}
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+name).Scan(&n); err != nil || n != 1 {
				t.Fatalf("rows = %d, %v; want 1", n, err)
			}
			if !tempExists(t, db, tx, name) {
				t.Fatal("temp table not found in the catalog")
			}
			db.DropTempTable(ctx, tx, name)
			if tempExists(t, db, tx, name) {
				t.Fatal("temp table still exists after DropTempTable")
			}
		})
		// After the transaction the table is gone on both dialects.
		if _, err := db.ExecContext(ctx, `SELECT COUNT(*) FROM `+name); err == nil {
			t.Fatal("temp table still exists after the transaction")
		}
		// A bad column list is an error naming the table.
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		err = db.CreateTempTable(ctx, tx, "stage_bad", "line NOPE NOPE NOPE,")
		if err == nil || !strings.Contains(err.Error(), "stage_bad") {
			t.Fatalf("CreateTempTable with bad DDL: err = %v", err)
		}
	})
}

// TestTempTableReuse: a PostgreSQL temp table is dropped
// at commit, so the next transaction can create one with the same name; on
// SQLite DropTempTable does that.
func TestTempTableReuse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := 0; i < 3; i++ {
			inTx(t, db, func(conn *sql.Conn, tx *sql.Tx) {
				if err := db.CreateTempTable(ctx, tx, "stage_reuse", "line BIGINT NOT NULL"); err != nil {
					t.Fatalf("round %d: %v", i, err)
				}
				l := db.NewBulkLoader(conn, tx, "stage_reuse", []string{"line"})
				for j := 0; j < 10; j++ {
					if err := l.Add(ctx, j); err != nil {
						t.Fatal(err)
					}
				}
				if err := l.Close(ctx); err != nil {
					t.Fatal(err)
				}
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM stage_reuse`).Scan(&n); err != nil || n != 10 {
					t.Fatalf("round %d: rows = %d, %v; want 10", i, n, err)
				}
				db.DropTempTable(ctx, tx, "stage_reuse")
			})
		}
	})
}

// tempExists looks a temporary table up in the catalog (a query on a missing
// table would abort a PostgreSQL transaction).
func tempExists(t *testing.T, db *store.DB, q store.Querier, name string) bool {
	t.Helper()
	query := `SELECT COUNT(*) FROM sqlite_temp_master WHERE type = 'table' AND name = $1`
	if db.Dialect == store.Postgres {
		query = `SELECT COUNT(*) FROM pg_tables WHERE tablename = $1 AND schemaname LIKE 'pg_temp%'`
	}
	var n int
	if err := q.QueryRowContext(context.Background(), query, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

type nullIntScanner struct{ p *int }

func (s nullIntScanner) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	*s.p = int(n.Int64)
	return nil
}

func nullInt(p *int) sql.Scanner { return nullIntScanner{p} }

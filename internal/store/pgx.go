package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

func pgxRows(rows [][]any) pgx.CopyFromSource { return pgx.CopyFromRows(rows) }

// RawFormat tells how a column's raw bytes are encoded.
type RawFormat int16

// The encodings of PostgreSQL's wire protocol.
const (
	RawText   RawFormat = 0
	RawBinary RawFormat = 1 // integers are big-endian two's complement
)

// RawRows runs query on PostgreSQL and calls fn with every row's undecoded
// column values (nil for NULL; valid only during the call) and each column's
// format. It is for reading millions of rows, where database/sql's decoding
// of every value into an interface costs more than the query.
func (db *DB) RawRows(ctx context.Context, query string, args []any, fn func(values [][]byte, formats []RawFormat) error) error {
	if db.Dialect != Postgres {
		return fmt.Errorf("raw rows: not a PostgreSQL database")
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("raw rows: not a pgx connection")
		}
		rows, err := c.Conn().Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var formats []RawFormat
		for rows.Next() {
			if formats == nil {
				for _, fd := range rows.FieldDescriptions() {
					formats = append(formats, RawFormat(fd.Format))
				}
			}
			if err := fn(rows.RawValues(), formats); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// CopySource is the rows of a COPY (pgx.CopyFromSource).
type CopySource = pgx.CopyFromSource

package store

import "github.com/jackc/pgx/v5"

func pgxRows(rows [][]any) pgx.CopyFromSource { return pgx.CopyFromRows(rows) }

// CopySource is the rows of a COPY (pgx.CopyFromSource).
type CopySource = pgx.CopyFromSource

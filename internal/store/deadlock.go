package store

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsDeadlock reports whether err is PostgreSQL's deadlock_detected: of two
// transactions that waited for each other's row locks, the server rolled
// back this one, and running it again once the other has ended succeeds.
// SQLite, one writer at a time, has no such error.
func IsDeadlock(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "40P01"
}

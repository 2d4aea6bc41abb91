package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
)

// The SQLite settings of a connection that commits without waiting for the
// disk (see DeferSync). A commit of store.Open's connections (synchronous
// FULL) waits for the write-ahead log to reach the disk, and then, each
// sqliteCheckpointPages pages of log, copies the log into the database
// file and waits for that too: on the ingestion path, 4 of a round's 17 ms,
// with the processor idle. Such a connection's commit only writes the log;
// its owner syncs the log (SyncWAL) on another goroutine while the next
// transaction runs, and Checkpoint copies it from yet another.
const (
	sqliteCheckpointPages = 1000 // SQLite's default wal_autocheckpoint
	// A backstop: see DeferSync. With 16,384 pages rather than 4,096,
	// /v1/batch's writer checkpoints in its commits less often: in four
	// alternating 20 s runs here, 145-160k events/s (mean 154k) against
	// 144-149k (146k), and fewer rounds over 15 ms. The log file grows to
	// about 64 MB under sustained load.
	sqliteDeferredCheckpointPages = 16384
)

// DeferSync makes conn, a SQLite connection, commit without waiting for
// the disk: a committed transaction is visible at once and survives a
// killed process, but survives a power cut only after SyncWAL returns nil,
// so the owner reports a commit done only then. restore returns the
// connection to store.Open's settings; the caller calls it before giving
// conn back to the pool (it discards the connection when the settings
// cannot be restored). On PostgreSQL it does nothing.
//
// The connection still checkpoints by itself past
// sqliteDeferredCheckpointPages pages of log, so that the log file stays
// bounded: SQLite starts the log again from its beginning only when a
// transaction begins with all of it copied, which a checkpoint on another
// connection rarely achieves between back-to-back transactions; the
// checkpoints on the other connection leave that one little to copy.
func (db *DB) DeferSync(ctx context.Context, conn *sql.Conn) (restore func(), err error) {
	if db.Dialect != SQLite {
		return func() {}, nil
	}
	if err := pragmas(ctx, conn, "synchronous = NORMAL", fmt.Sprintf("wal_autocheckpoint = %d", sqliteDeferredCheckpointPages)); err != nil {
		return nil, fmt.Errorf("defer sync: %w", err)
	}
	return func() {
		if pragmas(context.Background(), conn, "synchronous = FULL", fmt.Sprintf("wal_autocheckpoint = %d", sqliteCheckpointPages)) != nil {
			// Closed rather than pooled with commits that do not wait.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}, nil
}

func pragmas(ctx context.Context, conn *sql.Conn, settings ...string) error {
	for _, s := range settings {
		if _, err := conn.ExecContext(ctx, "PRAGMA "+s); err != nil {
			return fmt.Errorf("PRAGMA %s: %w", s, err)
		}
	}
	return nil
}

// SyncWAL makes every transaction committed so far on db survive a power
// cut, by syncing SQLite's write-ahead log file to the disk: what a commit
// on a DeferSync connection leaves to its owner. It does nothing on
// PostgreSQL, whose commits wait for the disk.
func (db *DB) SyncWAL() error {
	if db.Dialect != SQLite {
		return nil
	}
	// Opened for each sync, not kept: SQLite deletes the log when the last
	// connection closes, and a kept descriptor would then sync a file that
	// is gone. (A descriptor of the file syncs every write to it, whoever
	// made them.)
	f, err := os.Open(db.Location + "-wal")
	if err != nil {
		return fmt.Errorf("sync the write-ahead log: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync the write-ahead log: %w", err)
	}
	return nil
}

// Checkpoint copies what it can of SQLite's write-ahead log into the
// database file without waiting for readers or the writer (a PASSIVE
// checkpoint), on a connection of the pool. It does nothing on PostgreSQL.
func (db *DB) Checkpoint(ctx context.Context) error {
	if db.Dialect != SQLite {
		return nil
	}
	var busy, logPages, copied int64
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &copied); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

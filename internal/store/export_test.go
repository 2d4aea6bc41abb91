package store

import "context"

// MigrateUpTo migrates db to version v, for the tests of one migration.
func MigrateUpTo(ctx context.Context, db *DB, v int64) error {
	p, err := db.provider()
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, v)
	return err
}

// MigrateDownTo migrates db down to version v.
func MigrateDownTo(ctx context.Context, db *DB, v int64) error {
	p, err := db.provider()
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, v)
	return err
}

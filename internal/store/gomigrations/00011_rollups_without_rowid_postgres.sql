-- Nothing to do on PostgreSQL: see the SQLite side (WITHOUT ROWID rollups).
SELECT 1;

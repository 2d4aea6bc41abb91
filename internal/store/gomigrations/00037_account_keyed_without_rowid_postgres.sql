-- Nothing to do on PostgreSQL: see the SQLite side (WITHOUT ROWID tables).
SELECT 1;

package onboarding

// SetBackfillFlush sets how many results the backfill holds before writing
// them, until the returned function restores it.
func SetBackfillFlush(n int) (restore func()) {
	old := backfillFlush
	backfillFlush = n
	return func() { backfillFlush = old }
}

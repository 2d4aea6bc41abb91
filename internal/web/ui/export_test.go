package ui

// SetMaxUpload lowers the import page's upload limit for a test, so that
// an over-limit upload needs kilobytes rather than 64 MiB; it returns the
// function that restores it.
func SetMaxUpload(n int64) (restore func()) {
	old := maxUpload
	maxUpload = n
	return func() { maxUpload = old }
}

package ui

// SetMaxUpload lowers the import page's upload limit for a test, so that
// an over-limit upload needs kilobytes rather than 64 MiB; it returns the
// function that restores it.
func SetMaxUpload(n int64) (restore func()) {
	old := maxUpload
	maxUpload = n
	return func() { maxUpload = old }
}

// AddRunningImport registers an import that is still running, with rows
// and bytes read so far, for a test of the progress page; finish ends it.
func AddRunningImport(id, file string, size, rows, read int64) (finish func()) {
	j := &importJob{ID: id, Kind: "events", File: file, Size: size, done: make(chan struct{})}
	j.rows.Store(rows)
	j.bytes.Store(read)
	addImportJob(j)
	return func() { close(j.done) }
}

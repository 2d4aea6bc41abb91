package cli

// The commands below are filled in by their own files.

// DemoCmd creates and serves a demo database.
type DemoCmd struct{}

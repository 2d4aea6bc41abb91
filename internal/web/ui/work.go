package ui

// registerWork registers the work queue, imports and settings.
func (u *UI) registerWork() {}

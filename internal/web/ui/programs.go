package ui

// registerPrograms registers the programs pages.
func (u *UI) registerPrograms() {}

package ui

// registerDashboard registers the dashboard and the metrics pages.
func (u *UI) registerDashboard() {}

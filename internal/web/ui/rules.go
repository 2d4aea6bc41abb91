package ui

// registerRules registers playbooks, segments and health models.
func (u *UI) registerRules() {}

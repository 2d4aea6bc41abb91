package ui

// registerJourney registers the journey map, onboarding, prospects, handoffs and success plans.
func (u *UI) registerJourney() {}

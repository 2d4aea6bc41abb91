package ui

// registerAccounts registers the accounts list and the account page.
func (u *UI) registerAccounts() {}

package ui

import (
	"github.com/kizuna-cs/kizuna/internal/user"
)

// registerWork registers the work queue, imports and settings.
func (u *UI) registerWork() {
	u.mux.Handle("GET /queue", u.page(user.RoleCSM, u.queuePage))
	u.mux.Handle("GET /tasks/{id}", u.page(user.RoleViewer, u.taskPage))
	u.mux.Handle("POST /tasks/{id}", u.action(user.RoleCSM, u.changeTask))

	// The upload is not a u.action: its body is larger than a form's, so
	// it checks the CSRF token itself (see postImport).
	u.mux.Handle("GET /import", u.page(user.RoleManager, u.importPage))
	u.mux.Handle("POST /import", u.page(user.RoleManager, u.postImport))
	u.mux.Handle("GET /import/{id}", u.page(user.RoleManager, u.importJobPage))

	u.mux.Handle("GET /settings", u.page(user.RoleAdmin, u.settingsPage))
	u.mux.Handle("GET /settings/audit", u.page(user.RoleAdmin, u.auditPage))
	u.mux.Handle("POST /settings/users", u.action(user.RoleAdmin, u.createUser))
	u.mux.Handle("POST /settings/users/{id}/role", u.action(user.RoleAdmin, u.setUserRole))
	u.mux.Handle("POST /settings/users/{id}/delete", u.action(user.RoleAdmin, u.deleteUser))
	u.mux.Handle("POST /settings/keys", u.action(user.RoleAdmin, u.createKey))
	u.mux.Handle("POST /settings/keys/{id}/revoke", u.action(user.RoleAdmin, u.revokeKey))
	u.mux.Handle("POST /settings/currency", u.action(user.RoleAdmin, u.setCurrency))
	u.mux.Handle("POST /settings/fx", u.action(user.RoleAdmin, u.setFXRate))
	u.mux.Handle("POST /settings/features", u.action(user.RoleAdmin, u.setKeyFeatures))
	u.mux.Handle("POST /settings/values", u.action(user.RoleAdmin, u.setSettingValue))
}

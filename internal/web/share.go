package web

import (
	"net/http"
	"strings"
)

// The customer's success-plan page, GET /share/{token}, is served by the UI
// (internal/web/ui/share_page.go) with the UI's templates and messages.

// loggedPath is the request's path as logs may keep it: a share link's
// token is a credential (anyone holding it reads the plan), so it never
// reaches the log.
func loggedPath(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/share/") {
		return "/share/{token}"
	}
	// So is a survey link's (it answers for its contact).
	if strings.HasPrefix(r.URL.Path, "/s/") {
		return "/s/{token}"
	}
	return r.URL.Path
}

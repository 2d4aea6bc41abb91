package ui

import (
	"net/http"
	"net/url"

	"github.com/kizuna-cs/kizuna/internal/user"
)

// registerJourney registers the journey map, onboarding, prospects, handoffs and success plans.
func (u *UI) registerJourney() {
	u.mux.Handle("GET /journey", u.page(user.RoleViewer, u.journeyPage))
	u.mux.Handle("POST /journey/{stage}", u.action(user.RoleManager, u.journeySave))
	u.mux.Handle("GET /onboarding", u.page(user.RoleViewer, u.onboardingPage))
	u.mux.Handle("POST /onboarding/definition", u.action(user.RoleManager, u.onboardingSave))
	u.mux.Handle("GET /prospects", u.page(user.RoleViewer, u.prospectsPage))
	u.mux.Handle("POST /prospects/{id}", u.action(user.RoleCSM, u.prospectSave))
	// Converting records a subscription, which the API allows managers only.
	u.mux.Handle("POST /prospects/{id}/convert", u.action(user.RoleManager, u.prospectConvert))
	u.mux.Handle("GET /handoffs", u.page(user.RoleViewer, u.handoffsPage))
	u.registerPlan()
	// The customer's page: no session, the link is the credential.
	u.mux.HandleFunc("GET /share/{token}", u.sharePage)
}

// redirectTo answers a successful action as redirect does, to path with a
// notice and then the anchor (#…) of the part of the page that changed: the
// anchor must come after the query, or the notice would be part of it.
func redirectTo(w http.ResponseWriter, rq *Request, path, anchor, notice string) {
	setNotice(w, rq.Request, notice)
	http.Redirect(w, rq.Request, path+"?notice="+url.QueryEscape(notice)+anchor, http.StatusSeeOther)
}

// notFound is the error page of a missing object.
func notFound(rq *Request) error {
	return Errorf(http.StatusNotFound, rq.Loc.T("Not found."))
}

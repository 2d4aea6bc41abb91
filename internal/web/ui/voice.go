package ui

import (
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/survey"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// registerVoice registers the voice-of-customer pages: surveys, feedback
// and product requests (C12). Managers write surveys and request
// statuses; CSMs write feedback and group it into requests, as in the API.
func (u *UI) registerVoice() {
	m := u.mux
	m.Handle("GET /surveys", u.page(user.RoleViewer, u.surveysPage))
	m.Handle("GET /surveys/new", u.page(user.RoleManager, u.surveyNew))
	m.Handle("POST /surveys", u.action(user.RoleManager, u.surveyCreate))
	m.Handle("GET /surveys/{id}", u.page(user.RoleViewer, u.surveyPage))
	m.Handle("GET /surveys/{id}/edit", u.page(user.RoleManager, u.surveyEdit))
	m.Handle("POST /surveys/{id}", u.action(user.RoleManager, u.surveyUpdate))
	m.Handle("POST /surveys/{id}/status", u.action(user.RoleManager, u.surveyStatus))
	m.Handle("GET /surveys/{id}/send", u.page(user.RoleManager, u.surveySendPreview))
	m.Handle("POST /surveys/{id}/send", u.action(user.RoleManager, u.surveySend))
	m.Handle("POST /surveys/{id}/public-link", u.action(user.RoleManager, u.surveyPublicLink))
	m.Handle("POST /surveys/{id}/public-link/revoke", u.action(user.RoleManager, u.surveyRevokeLink))

	m.Handle("GET /feedback", u.page(user.RoleViewer, u.feedbackPage))
	m.Handle("POST /feedback", u.action(user.RoleCSM, u.feedbackCreate))
	m.Handle("POST /feedback/from-ticket", u.action(user.RoleCSM, u.feedbackFromTicket))
	m.Handle("POST /feedback/group", u.action(user.RoleCSM, u.feedbackGroup))
	m.Handle("POST /feedback/{id}/category", u.action(user.RoleCSM, u.feedbackCategory))
	m.Handle("GET /feedback/faq", u.page(user.RoleViewer, u.faqPage))

	m.Handle("GET /product-requests", u.page(user.RoleViewer, u.requestsPage))
	m.Handle("GET /product-requests/{id}", u.page(user.RoleViewer, u.requestPage))
	m.Handle("POST /product-requests/{id}/status", u.action(user.RoleManager, u.requestStatus))
	m.Handle("POST /product-requests/{id}/merge", u.action(user.RoleCSM, u.requestMerge))
}

// publicBase is the server's address as customers reach it, for the links
// put in emails and handed out: KIZUNA_PUBLIC_URL (as the API and the
// command line use it), else the address this request came to.
func publicBase(rq *Request) string {
	if v := strings.TrimRight(strings.TrimSpace(os.Getenv("KIZUNA_PUBLIC_URL")), "/"); v != "" {
		return v
	}
	return rq.origin()
}

// categoryLabel names a feedback category for people.
func categoryLabel(l *Locale, c string) string {
	switch c {
	case "feature":
		return l.T("Feature")
	case "ui_ux":
		return l.T("UI/UX")
	case "performance":
		return l.T("Performance")
	case "support":
		return l.T("Support")
	case "other":
		return l.T("Other")
	}
	return c
}

func categoryOptions(l *Locale) []option {
	out := make([]option, len(feedback.Categories))
	for i, c := range feedback.Categories {
		out[i] = option{Value: c, Label: categoryLabel(l, c)}
	}
	return out
}

// requestStatusLabel names a product request's status.
func requestStatusLabel(l *Locale, s string) string {
	switch s {
	case feedback.StatusOpen:
		return l.T("Open")
	case feedback.StatusPlanned:
		return l.T("Planned")
	case feedback.StatusShipped:
		return l.T("Shipped")
	case feedback.StatusDeclined:
		return l.T("Declined")
	}
	return s
}

// kindLabel names a survey kind.
func kindLabel(l *Locale, k string) string {
	switch k {
	case "nps":
		return l.T("NPS (0–10)")
	case "csat":
		return l.T("CSAT (1–5)")
	case "ces":
		return l.T("CES (1–7)")
	}
	return k
}

// scoreText formats a survey's score as its kind reads: NPS a whole
// number from −100 to 100, CSAT a share, CES a mean; "–" without answers.
func scoreText(l *Locale, kind string, v *float64) string {
	if v == nil {
		return "–"
	}
	switch kind {
	case "nps":
		return l.Num(*v, 0)
	case "csat":
		return l.Pct(*v)
	}
	return l.Num(*v, 2)
}

// cursor is a keyset page position in a query: ?after=UNIX~ID.
type cursor struct {
	At int64
	ID string
}

func parseCursor(v url.Values) (cursor, bool) {
	at, id, ok := strings.Cut(v.Get("after"), "~")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return cursor{}, false
	}
	return cursor{n, id}, true
}

func (c cursor) String() string { return strconv.FormatInt(c.At, 10) + "~" + c.ID }

// survey kinds and statuses, for the forms.
var surveyKinds = []string{"nps", "csat", "ces"}

func surveyStatusLabel(l *Locale, s string) string {
	if s == survey.StatusClosed {
		return l.T("Closed")
	}
	return l.T("Active")
}

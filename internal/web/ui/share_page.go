package ui

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/successplan"
)

// The customer's success-plan page (GET /share/{token}): read-only, no
// login, no script, in the plan's language. The link is the credential, so
// the page is the only thing it opens: the plan's agreed and achieved
// goals (successplan.PlanView.Public), nothing else of the account.

// shareCSP allows the page's stylesheet and nothing else: no script, no
// form, nothing from elsewhere (which would also leak the token).
const shareCSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// shareGoal is a shared goal with its milestones.
type shareGoal struct {
	successplan.PlanGoalView
	Milestones []successplan.PlanMilestoneView
}

type shareData struct {
	Lang        string
	Static      string
	Heading     string
	AccountName string
	Progress    *float64
	Goals       []shareGoal
	AsOf        time.Time
	// Missing and Revoked are the error pages.
	Missing, Revoked bool
}

// sharePage serves GET /share/{token}.
func (u *UI) sharePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The page is the customer's private data behind a bearer link: no
	// cache keeps it, no search engine lists it, no referrer carries the link.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex, nofollow, noarchive")
	h.Set("Content-Security-Policy", shareCSP)
	h.Set("Referrer-Policy", "no-referrer")
	ctx := r.Context()
	browser := u.localeFor(r, "").Lang()
	share, err := successplan.Resolve(ctx, u.db, r.PathValue("token"))
	switch {
	case errors.Is(err, successplan.ErrNotFound):
		u.renderShare(w, r, http.StatusNotFound, browser, shareData{Missing: true})
		return
	case errors.Is(err, successplan.ErrRevoked):
		lang := browser
		if p, err := successplan.GetPlan(ctx, u.db, share.AccountID); err == nil {
			lang = p.Language
		}
		u.renderShare(w, r, http.StatusGone, lang, shareData{Revoked: true})
		return
	case err != nil:
		u.shareFailed(w, r, err)
		return
	}
	now := time.Now()
	v, err := successplan.Load(ctx, u.db, share.AccountID, now)
	var a account.Account
	if err == nil {
		a, err = account.Get(ctx, u.db, share.AccountID)
	}
	if errors.Is(err, successplan.ErrNotFound) || errors.Is(err, account.ErrNotFound) {
		u.renderShare(w, r, http.StatusNotFound, browser, shareData{Missing: true})
		return
	}
	if err != nil {
		u.shareFailed(w, r, err)
		return
	}
	pub := v.Public()
	d := shareData{Heading: pub.Title, AccountName: a.Name, Progress: pub.Progress, AsOf: now}
	if d.Heading == "" {
		d.Heading = a.Name
	}
	byGoal := map[string][]successplan.PlanMilestoneView{}
	for _, m := range pub.Milestones {
		byGoal[m.GoalID] = append(byGoal[m.GoalID], m)
	}
	for _, g := range pub.Goals {
		d.Goals = append(d.Goals, shareGoal{PlanGoalView: g, Milestones: byGoal[g.ID]})
	}
	u.renderShare(w, r, http.StatusOK, pub.Language, d)
}

// renderShare writes the page in lang (English when the UI has no such
// language); a HEAD request gets the headers only.
func (u *UI) renderShare(w http.ResponseWriter, r *http.Request, status int, lang string, d shareData) {
	t, ok := u.pages[lang]["share"]
	if !ok {
		lang = "en"
		t = u.pages[lang]["share"]
	}
	d.Lang, d.Static = lang, u.staticHash
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "share", d); err != nil {
		u.shareFailed(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		buf.WriteTo(w)
	}
}

// shareFailed answers a server error without details: the customer has
// nothing to do with them, and the log has them (without the token).
func (u *UI) shareFailed(w http.ResponseWriter, r *http.Request, err error) {
	u.log.Error("shared plan page failed", "path", "/share/{token}", "err", err)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

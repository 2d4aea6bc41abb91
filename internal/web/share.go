package web

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/successplan"
)

// The customer's success-plan page (GET /share/{token}): server-rendered,
// read-only, no login, no script. Until the UI foundation brings a shared
// layout and message catalogue it is a self-contained template with its own
// two languages.

//go:embed share.html
var shareHTML string

var shareTemplate = template.Must(template.New("share").Parse(shareHTML))

// shareCSP allows nothing but the page's own inline style, by its hash, so
// a page that leaked a goal's text into markup still could not run script
// or load anything from elsewhere (which would also leak the token).
var shareCSP = func() string {
	start := strings.Index(shareHTML, "<style>") + len("<style>")
	end := strings.Index(shareHTML, "</style>")
	sum := sha256.Sum256([]byte(shareHTML[start:end]))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

// shareText is the page's wording in one language.
type shareText struct {
	SuccessPlan, Overall, Goals, Due, Now, Target, Milestones, Overdue, NoGoals, AsOf, ReadOnly string
	Agreed, Achieved, Met, Open, Done, Skipped                                                  string
	NotFound, NotFoundDetail, Revoked, RevokedDetail                                            string
	DateLayout                                                                                  string
}

var shareTexts = map[string]shareText{
	"en": {SuccessPlan: "Success plan", Overall: "Overall progress", Goals: "Our goals", Due: "due", Now: "Now", Target: "Target",
		Milestones: "Milestones", Overdue: "Overdue", NoGoals: "No goals have been agreed yet.", AsOf: "Progress as of",
		ReadOnly: "This page is read-only; it follows the data as we work together.",
		Agreed:   "In progress", Achieved: "Achieved", Met: "Criterion met", Open: "Open", Done: "Done", Skipped: "Skipped",
		NotFound: "Page not found", NotFoundDetail: "This link does not exist. Please ask your contact for a new one.",
		Revoked: "This link is no longer active", RevokedDetail: "It was revoked. Please ask your contact for a new one.",
		DateLayout: "2 Jan 2006"},
	"ja": {SuccessPlan: "サクセスプラン", Overall: "全体の進捗", Goals: "目標", Due: "期限", Now: "現在", Target: "目標値",
		Milestones: "マイルストーン", Overdue: "期限超過", NoGoals: "合意済みの目標はまだありません。", AsOf: "進捗の基準日時",
		ReadOnly: "このページは閲覧専用です。進捗はデータに基づいて自動的に更新されます。",
		Agreed:   "進行中", Achieved: "達成", Met: "達成基準を満たしています", Open: "未完了", Done: "完了", Skipped: "対象外",
		NotFound: "ページが見つかりません", NotFoundDetail: "このリンクは存在しません。担当者に新しいリンクをお尋ねください。",
		Revoked: "このリンクは無効になりました", RevokedDetail: "リンクは取り消されました。担当者に新しいリンクをお尋ねください。",
		DateLayout: "2006年1月2日"},
}

type sharePage struct {
	Lang                 string
	T                    shareText
	Heading, AccountName string
	Progress             string
	Goals                []shareGoal
	AsOf                 string
	Message, Detail      string // an error page
}

type shareGoal struct {
	Title, Description, State, Due, Percent, Value, Target string
	Met                                                    bool
	Milestones                                             []shareMilestone
}

type shareMilestone struct {
	Title, Owner, State, Due string
	Done, Late               bool
}

func formatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// sharedPlan serves GET /share/{token}.
func (s *Server) sharedPlan(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The page is the customer's private data behind a bearer link: no
	// cache keeps it, no search engine lists it, no referrer carries the link.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex, nofollow, noarchive")
	h.Set("Content-Security-Policy", shareCSP)
	h.Set("Referrer-Policy", "no-referrer")
	ctx := r.Context()
	share, err := successplan.Resolve(ctx, s.db, r.PathValue("token"))
	switch {
	case errors.Is(err, successplan.ErrNotFound):
		s.renderShare(w, r, http.StatusNotFound, errorPage(acceptLanguage(r), false))
		return
	case errors.Is(err, successplan.ErrRevoked):
		lang := acceptLanguage(r)
		if p, err := successplan.GetPlan(ctx, s.db, share.AccountID); err == nil {
			lang = p.Language
		}
		s.renderShare(w, r, http.StatusGone, errorPage(lang, true))
		return
	case err != nil:
		s.logError(r, err)
		writeProblem(w, http.StatusInternalServerError, internalDetail)
		return
	}
	now := time.Now()
	v, err := successplan.Load(ctx, s.db, share.AccountID, now)
	if err == nil {
		var a account.Account
		if a, err = account.Get(ctx, s.db, share.AccountID); err == nil {
			s.renderShare(w, r, http.StatusOK, sharePlanPage(v.Public(), a.Name, now))
			return
		}
	}
	if errors.Is(err, successplan.ErrNotFound) || errors.Is(err, account.ErrNotFound) {
		s.renderShare(w, r, http.StatusNotFound, errorPage(acceptLanguage(r), false))
		return
	}
	s.logError(r, err)
	writeProblem(w, http.StatusInternalServerError, internalDetail)
}

// acceptLanguage is ja when the browser prefers Japanese, else en: for the
// pages that have no plan to take the language from.
func acceptLanguage(r *http.Request) string {
	al := strings.ToLower(strings.TrimSpace(r.Header.Get("Accept-Language")))
	if strings.HasPrefix(al, "ja") {
		return "ja"
	}
	return "en"
}

func errorPage(lang string, revoked bool) sharePage {
	t := shareTexts[lang]
	p := sharePage{Lang: lang, T: t, Heading: t.NotFound, Message: t.NotFound, Detail: t.NotFoundDetail}
	if revoked {
		p.Heading, p.Message, p.Detail = t.Revoked, t.Revoked, t.RevokedDetail
	}
	return p
}

// sharePlanPage lays out a plan's public view in its language.
func sharePlanPage(v successplan.PlanView, accountName string, now time.Time) sharePage {
	lang := v.Language
	t, ok := shareTexts[lang]
	if !ok {
		lang, t = "en", shareTexts["en"]
	}
	date := func(tm *time.Time) string {
		if tm == nil {
			return ""
		}
		return tm.UTC().Format(t.DateLayout)
	}
	p := sharePage{Lang: lang, T: t, Heading: v.Title, AccountName: accountName,
		AsOf: now.UTC().Format(t.DateLayout+" 15:04") + " UTC"}
	if p.Heading == "" {
		p.Heading = accountName
	}
	if v.Progress != nil {
		p.Progress = formatNumber(*v.Progress)
	}
	byGoal := map[string][]shareMilestone{}
	for _, m := range v.Milestones {
		sm := shareMilestone{Title: m.Title, Owner: m.OwnerEmail, Due: date(m.DueAt), Late: m.Overdue, State: t.Open}
		switch m.Status {
		case successplan.MilestoneDone:
			sm.State, sm.Done = t.Done, true
		case successplan.MilestoneSkipped:
			sm.State, sm.Done = t.Skipped, true
		}
		byGoal[m.GoalID] = append(byGoal[m.GoalID], sm)
	}
	for _, g := range v.Goals {
		sg := shareGoal{Title: g.Title, Description: g.Description, Due: date(g.DueAt), Percent: formatNumber(g.Progress.Percent),
			Met: g.Progress.Met, State: t.Agreed, Milestones: byGoal[g.ID]}
		switch {
		case g.Status == successplan.GoalAchieved:
			sg.State = t.Achieved
		case g.Progress.Met:
			sg.State = t.Met
		}
		if g.Progress.Value != nil && g.Target != nil {
			sg.Value, sg.Target = formatNumber(roundTo(*g.Progress.Value, 2)), formatNumber(*g.Target)
		}
		p.Goals = append(p.Goals, sg)
	}
	return p
}

func roundTo(v float64, places int) float64 {
	f := math.Pow(10, float64(places))
	return math.Round(v*f) / f
}

func (s *Server) renderShare(w http.ResponseWriter, r *http.Request, status int, p sharePage) {
	var buf bytes.Buffer
	if err := shareTemplate.Execute(&buf, p); err != nil {
		s.logError(r, err)
		writeProblem(w, http.StatusInternalServerError, internalDetail)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

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

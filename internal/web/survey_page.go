package web

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/survey"
	"github.com/kizuna-cs/kizuna/internal/web/ui"
)

// The respondent's pages: GET/POST /s/{token} (a contact's emailed link),
// GET/POST /s/{token}/unsubscribe, and GET/POST /s/public/{token} (a
// survey's anonymous link). No login: the unguessable token is the
// credential, so there is no CSRF token either (a forged cross-site POST
// is refused by the cross-origin protection, and could only answer for the
// token's own holder). Server-rendered, no script, a small self-contained
// template in the respondent's language like the shared success plan.

//go:embed survey.html
var surveyHTML string

var surveyTemplate = template.Must(template.New("survey").Parse(surveyHTML))

// surveyCSP allows the page's own inline style (by its hash) and forms
// posting to this server, nothing else.
var surveyCSP = func() string {
	start := strings.Index(surveyHTML, "<style>") + len("<style>")
	end := strings.Index(surveyHTML, "</style>")
	sum := sha256.Sum256([]byte(surveyHTML[start:end]))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}()

// Limits of the respondent's pages.
const (
	surveyFormBody    = 64 << 10 // a form: score, comment (5,000 characters), email, company
	answerLimit       = 30       // POSTs to one client's emailed links per window
	publicAnswerLimit = 20       // answers through public links per client per window
	surveyLimitWindow = 10 * time.Minute
)

// surveyText is the pages' wording in one language.
type surveyText struct {
	Send, Comment, Email, Company, CompanyHint, Change                             string
	Thanks, ThanksDetail, Previous, NotFound, NotFoundDetail, Closed, ClosedDetail string
	TooMany, TooManyDetail, TooLarge, UnsubscribeQ, UnsubscribeButton              string
	Unsubscribed, UnsubscribedDetail, UnsubscribeLink, ScoreRequired               string
	EmailInvalid, AccountRequired, AccountUnknown, CommentTooLong                  string
	Low, High                                                                      map[string]string
	DateLayout                                                                     string
}

var surveyTexts = map[string]surveyText{
	"en": {Send: "Send", Comment: "Anything you would like to add? (optional)", Email: "Your email address",
		Company: "Your company", CompanyHint: "Only needed if we do not know your email address yet.",
		Change: "Change my answer", Thanks: "Thank you for your answer.",
		ThanksDetail: "It goes straight to the team that looks after your account.",
		Previous:     "You answered %d on %s. Sending again replaces that answer.",
		NotFound:     "This link does not work.", NotFoundDetail: "It may be incomplete: please open the link from the email again.",
		Closed: "This survey is closed.", ClosedDetail: "Thank you all the same.",
		TooMany: "Too many answers from here.", TooManyDetail: "Please try again in a few minutes.",
		TooLarge:     "The answer is too long.",
		UnsubscribeQ: "Stop sending surveys to %s?", UnsubscribeButton: "Unsubscribe",
		Unsubscribed: "You will receive no more surveys at %s.", UnsubscribedDetail: "Other emails from your contact are not affected.",
		UnsubscribeLink: "Receive no more surveys", ScoreRequired: "Choose a score.",
		EmailInvalid:    "Enter your email address, such as name@company.com.",
		AccountRequired: "We do not know this email address yet: please enter your company's name.",
		AccountUnknown:  "We could not find this company: please write its name as in your contract.",
		CommentTooLong:  "Please shorten your comment to 5,000 characters.",
		Low:             map[string]string{"nps": "Not at all likely", "csat": "Very dissatisfied", "ces": "Very easy"},
		High:            map[string]string{"nps": "Extremely likely", "csat": "Very satisfied", "ces": "Very difficult"},
		DateLayout:      "2 Jan 2006"},
	"ja": {Send: "送信", Comment: "ご意見・ご要望があればお聞かせください（任意）", Email: "メールアドレス",
		Company: "会社名", CompanyHint: "メールアドレスが未登録の場合のみご記入ください。",
		Change: "回答を変更する", Thanks: "ご回答ありがとうございました。",
		ThanksDetail: "いただいた回答は担当チームに直接届きます。",
		Previous:     "%[2]s に %[1]d とご回答いただいています。再度送信すると回答が置き換わります。",
		NotFound:     "このリンクは無効です。", NotFoundDetail: "リンクが途中で切れている可能性があります。メールのリンクをもう一度開いてください。",
		Closed: "このアンケートは終了しました。", ClosedDetail: "ご協力ありがとうございました。",
		TooMany: "回答の送信が多すぎます。", TooManyDetail: "数分後にもう一度お試しください。",
		TooLarge:     "回答が長すぎます。",
		UnsubscribeQ: "%s へのアンケート配信を停止しますか？", UnsubscribeButton: "配信を停止する",
		Unsubscribed: "%s へのアンケート配信を停止しました。", UnsubscribedDetail: "担当者からのその他のメールには影響しません。",
		UnsubscribeLink: "アンケートの配信を停止する", ScoreRequired: "スコアを選択してください。",
		EmailInvalid:    "メールアドレスを入力してください（例: name@company.co.jp）。",
		AccountRequired: "このメールアドレスは未登録です。会社名をご記入ください。",
		AccountUnknown:  "この会社名が見つかりません。ご契約時の会社名をご記入ください。",
		CommentTooLong:  "ご意見は5,000文字以内でお願いします。",
		Low:             map[string]string{"nps": "まったく勧めない", "csat": "とても不満", "ces": "とても簡単"},
		High:            map[string]string{"nps": "非常に勧めたい", "csat": "とても満足", "ces": "とても難しい"},
		DateLayout:      "2006年1月2日"},
}

type surveyScore struct {
	Value   int
	Checked bool
}

type surveyPage struct {
	Lang, Title, Heading string
	T                    surveyText
	Message, Detail      string // a message page (thanks, errors)
	Again                string // a link to answer again
	Unsubscribe          string // the unsubscribe question
	Action               string
	Public               bool
	Email, Account       string
	Question, Low, High  string
	Scores               []surveyScore
	Comment              string
	Previous             string
	Errors               map[string]string
	UnsubscribeLink      string
}

// surveyPages serves the respondent's pages.
type surveyPages struct {
	s             *Server
	answers       *limiter
	publicAnswers *limiter
	now           func() time.Time
}

func registerSurveyPages(s *Server) {
	p := &surveyPages{s: s, answers: newLimiter(answerLimit, surveyLimitWindow),
		publicAnswers: newLimiter(publicAnswerLimit, surveyLimitWindow), now: time.Now}
	// /s/public/{token} and /s/{token}/unsubscribe overlap as patterns
	// (/s/public/unsubscribe matches both), so one pattern takes both.
	s.mux.HandleFunc("GET /s/{token}", p.invitation)
	s.mux.HandleFunc("POST /s/{token}", p.invitation)
	s.mux.HandleFunc("GET /s/{a}/{b}", p.twoPart)
	s.mux.HandleFunc("POST /s/{a}/{b}", p.twoPart)
}

func (p *surveyPages) twoPart(w http.ResponseWriter, r *http.Request) {
	a, b := r.PathValue("a"), r.PathValue("b")
	switch {
	case a == "public":
		p.public(w, r, b)
	case b == "unsubscribe":
		p.unsubscribe(w, r, a)
	default:
		p.message(w, r, http.StatusNotFound, ui.BrowserLanguage(r), func(t surveyText) (string, string) { return t.NotFound, t.NotFoundDetail })
	}
}

func texts(lang string) (string, surveyText) {
	if t, ok := surveyTexts[lang]; ok {
		return lang, t
	}
	return "en", surveyTexts["en"]
}

func (p *surveyPages) render(w http.ResponseWriter, r *http.Request, status int, page surveyPage) {
	h := w.Header()
	// The page answers for its token's holder: no cache keeps it, no
	// search engine lists it, no referrer carries the link.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex, nofollow, noarchive")
	h.Set("Content-Security-Policy", surveyCSP)
	h.Set("Referrer-Policy", "no-referrer")
	if page.Title == "" {
		page.Title = page.Heading
	}
	var buf bytes.Buffer
	if err := surveyTemplate.Execute(&buf, page); err != nil {
		p.s.logError(r, err)
		writeProblem(w, http.StatusInternalServerError, internalDetail)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// message renders a page of one message (and detail) chosen from the texts.
func (p *surveyPages) message(w http.ResponseWriter, r *http.Request, status int, lang string, pick func(surveyText) (string, string)) {
	lang, t := texts(lang)
	msg, detail := pick(t)
	p.render(w, r, status, surveyPage{Lang: lang, T: t, Heading: msg, Message: msg, Detail: detail})
}

func (p *surveyPages) fail(w http.ResponseWriter, r *http.Request, lang string, err error) {
	switch {
	case errors.Is(err, survey.ErrNotFound):
		p.message(w, r, http.StatusNotFound, lang, func(t surveyText) (string, string) { return t.NotFound, t.NotFoundDetail })
	case errors.Is(err, survey.ErrClosed):
		p.message(w, r, http.StatusGone, lang, func(t surveyText) (string, string) { return t.Closed, t.ClosedDetail })
	default:
		p.s.logError(r, err)
		writeProblem(w, http.StatusInternalServerError, internalDetail)
	}
}

// limited counts the request against l and, over the limit, answers 429.
func (p *surveyPages) limited(w http.ResponseWriter, r *http.Request, l *limiter, lang string) bool {
	if l.allow(p.s.clientAddr(r), p.now()) {
		return false
	}
	p.message(w, r, http.StatusTooManyRequests, lang, func(t surveyText) (string, string) { return t.TooMany, t.TooManyDetail })
	return true
}

// readForm parses a bounded form body; false when it answered already.
func (p *surveyPages) readForm(w http.ResponseWriter, r *http.Request, lang string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, surveyFormBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		status := http.StatusBadRequest
		if errors.As(err, &mbe) {
			status = http.StatusRequestEntityTooLarge
		}
		p.message(w, r, status, lang, func(t surveyText) (string, string) { return t.TooLarge, "" })
		return false
	}
	return true
}

// answerForm lays out the score buttons of a survey.
func answerForm(s survey.Survey, lang string, t surveyText, checked int, comment string) surveyPage {
	rng := survey.ScoreRange[s.Kind]
	page := surveyPage{Lang: lang, T: t, Heading: s.Name, Question: s.Question(lang), Low: t.Low[s.Kind], High: t.High[s.Kind],
		Comment: comment, Errors: map[string]string{}}
	for v := rng[0]; v <= rng[1]; v++ {
		page.Scores = append(page.Scores, surveyScore{Value: v, Checked: v == checked})
	}
	return page
}

// parseAnswer reads the score and comment fields; the score is -1 when missing.
func parseAnswer(r *http.Request) survey.Answer {
	score, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("score")))
	if err != nil {
		score = -1
	}
	return survey.Answer{Score: score, Comment: r.PostFormValue("comment")}
}

// invalidField reports the field of a validation error and the
// respondent's message for it.
func invalidField(err error, t surveyText) (string, string, bool) {
	var ie *survey.InvalidError
	if !errors.As(err, &ie) {
		return "", "", false
	}
	switch ie.Field {
	case "score":
		return ie.Field, t.ScoreRequired, true
	case "email":
		return ie.Field, t.EmailInvalid, true
	case "comment":
		return ie.Field, t.CommentTooLong, true
	case "account":
		if strings.HasPrefix(ie.Reason, "required") {
			return ie.Field, t.AccountRequired, true
		}
		return ie.Field, t.AccountUnknown, true
	}
	return ie.Field, ie.Reason, true
}

// admit counts a POST against l and reads its bounded form; false when it
// answered already (too many answers, a form too large). A GET passes.
func (p *surveyPages) admit(w http.ResponseWriter, r *http.Request, l *limiter, lang string) bool {
	if r.Method != http.MethodPost {
		return true
	}
	return !p.limited(w, r, l, lang) && p.readForm(w, r, lang)
}

// invited starts a request on a contact's emailed link: it admits it and
// finds the invitation, whose contact's language the page speaks; ok is
// false when it answered already.
func (p *surveyPages) invited(w http.ResponseWriter, r *http.Request, token string) (inv survey.Invitation, lang string, t surveyText, ok bool) {
	lang = ui.BrowserLanguage(r)
	if !p.admit(w, r, p.answers, lang) {
		return inv, lang, t, false
	}
	inv, err := survey.Invited(r.Context(), p.s.db, token)
	if err != nil {
		p.fail(w, r, lang, err)
		return inv, lang, t, false
	}
	lang, t = texts(inv.Language)
	return inv, lang, t, true
}

// thanks is the page after an answer; again links to the form.
func thanks(lang string, t surveyText, name, again string) surveyPage {
	return surveyPage{Lang: lang, T: t, Heading: name, Message: t.Thanks, Detail: t.ThanksDetail, Again: again}
}

// saveAnswer stores an answer with save (which records its audit entry)
// and goes to done; a refused answer shows form again (422) with the
// message beside its field.
func (p *surveyPages) saveAnswer(w http.ResponseWriter, r *http.Request, lang string, t surveyText,
	save func(*sql.Tx) (survey.Response, error), form func() surveyPage, done string) {
	ctx := r.Context()
	var saved survey.Response
	err := p.s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		saved, err = save(tx)
		return err
	})
	if field, reason, ok := invalidField(err, t); ok {
		page := form()
		page.Errors[field] = reason
		p.render(w, r, http.StatusUnprocessableEntity, page)
		return
	}
	if err != nil {
		p.fail(w, r, lang, err)
		return
	}
	jobs.Changed(ctx, []string{saved.AccountID})
	http.Redirect(w, r, done, http.StatusSeeOther)
}

// invitation serves GET and POST /s/{token}.
func (p *surveyPages) invitation(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	inv, lang, t, ok := p.invited(w, r, token)
	if !ok {
		return
	}
	self := "/s/" + token
	if inv.Survey.Status != survey.StatusActive {
		p.fail(w, r, lang, survey.ErrClosed)
		return
	}
	form := func(checked int, comment string) surveyPage {
		page := answerForm(inv.Survey, lang, t, checked, comment)
		page.Action, page.UnsubscribeLink = self, self+"/unsubscribe"
		return page
	}
	if r.Method == http.MethodGet {
		if r.URL.Query().Get("done") == "1" && inv.Answer != nil {
			page := thanks(lang, t, inv.Survey.Name, self)
			page.UnsubscribeLink = self + "/unsubscribe"
			p.render(w, r, http.StatusOK, page)
			return
		}
		checked, comment := -1, ""
		if inv.Answer != nil {
			checked, comment = inv.Answer.Score, inv.Answer.Comment
		}
		if v, err := strconv.Atoi(r.URL.Query().Get("score")); err == nil && survey.CheckScore(inv.Survey.Kind, v) == nil {
			checked = v // a score chosen in the email's link
		}
		page := form(checked, comment)
		if inv.Answer != nil {
			page.Previous = fmt.Sprintf(t.Previous, inv.Answer.Score, inv.Answer.AnsweredAt.Format(t.DateLayout))
		}
		p.render(w, r, http.StatusOK, page)
		return
	}
	a := parseAnswer(r)
	p.saveAnswer(w, r, lang, t, func(tx *sql.Tx) (survey.Response, error) {
		saved, err := survey.Respond(r.Context(), tx, inv, a, p.now())
		if err != nil {
			return saved, err
		}
		return saved, audit.Record(r.Context(), tx, "survey link:"+inv.ContactID, audit.ActionUpdate, "survey_response", saved.ID, inv.Answer, saved)
	}, func() surveyPage { return form(a.Score, a.Comment) }, self+"?done=1")
}

// unsubscribe serves GET (the question) and POST (the act, also RFC 8058's
// one-click POST from a mail client) /s/{token}/unsubscribe. GET changes
// nothing: mail scanners open links.
func (p *surveyPages) unsubscribe(w http.ResponseWriter, r *http.Request, token string) {
	ctx := r.Context()
	inv, lang, t, ok := p.invited(w, r, token)
	if !ok {
		return
	}
	done := surveyPage{Lang: lang, T: t, Heading: inv.Survey.Name, Message: fmt.Sprintf(t.Unsubscribed, inv.Email), Detail: t.UnsubscribedDetail}
	if r.Method == http.MethodGet {
		if inv.Unsubscribed {
			p.render(w, r, http.StatusOK, done)
			return
		}
		p.render(w, r, http.StatusOK, surveyPage{Lang: lang, T: t, Heading: inv.Survey.Name,
			Unsubscribe: fmt.Sprintf(t.UnsubscribeQ, inv.Email), Action: "/s/" + token + "/unsubscribe"})
		return
	}
	err := p.s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := survey.Unsubscribe(ctx, tx, inv, p.now()); err != nil {
			return err
		}
		if inv.Unsubscribed {
			return nil
		}
		return audit.Record(ctx, tx, "survey link:"+inv.ContactID, audit.ActionCreate, "survey_unsubscribe", inv.ContactID, nil,
			map[string]string{"contact_id": inv.ContactID, "survey_id": inv.Survey.ID})
	})
	if err != nil {
		p.fail(w, r, lang, err)
		return
	}
	p.render(w, r, http.StatusOK, done)
}

// public serves GET and POST /s/public/{token}.
func (p *surveyPages) public(w http.ResponseWriter, r *http.Request, token string) {
	lang := ui.BrowserLanguage(r)
	if l := r.URL.Query().Get("lang"); l == "en" || l == "ja" {
		lang = l
	}
	if !p.admit(w, r, p.publicAnswers, lang) {
		return
	}
	if l := r.PostFormValue("lang"); l == "en" || l == "ja" {
		lang = l
	}
	s, err := survey.ByPublicToken(r.Context(), p.s.db, token)
	if err == nil && s.Status != survey.StatusActive {
		err = survey.ErrClosed
	}
	if err != nil {
		p.fail(w, r, lang, err)
		return
	}
	lang, t := texts(lang)
	self := "/s/public/" + token
	form := func(checked int, comment string) surveyPage {
		page := answerForm(s, lang, t, checked, comment)
		page.Action, page.Public = self, true
		return page
	}
	if r.Method == http.MethodGet {
		if r.URL.Query().Get("done") == "1" {
			p.render(w, r, http.StatusOK, thanks(lang, t, s.Name, ""))
			return
		}
		p.render(w, r, http.StatusOK, form(-1, ""))
		return
	}
	a := survey.PublicAnswer{Answer: parseAnswer(r), Email: r.PostFormValue("email"), Account: r.PostFormValue("account")}
	p.saveAnswer(w, r, lang, t, func(tx *sql.Tx) (survey.Response, error) {
		saved, err := survey.RespondPublic(r.Context(), tx, s, a, p.now())
		if err != nil {
			return saved, err
		}
		return saved, audit.Record(r.Context(), tx, "public survey link:"+s.ID, audit.ActionUpdate, "survey_response", saved.ID, nil, saved)
	}, func() surveyPage {
		page := form(a.Score, a.Comment)
		page.Email, page.Account = a.Email, a.Account
		return page
	}, self+"?done=1&lang="+lang)
}

package web

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// mailbox is an SMTP server keeping the messages it receives, by recipient.
type mailbox struct {
	mu   sync.Mutex
	byTo map[string]*mail.Message
}

type mailboxSession struct {
	box *mailbox
	to  []string
}

func (b *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailboxSession{box: b}, nil }
func (s *mailboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailboxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailboxSession) Reset()        { s.to = nil }
func (s *mailboxSession) Logout() error { return nil }
func (s *mailboxSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return err
	}
	if m.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		if body, err = io.ReadAll(quotedprintable.NewReader(strings.NewReader(string(body)))); err != nil {
			return err
		}
	}
	m.Body = strings.NewReader(string(body))
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	for _, to := range s.to {
		s.box.byTo[to] = m
	}
	return nil
}

// startMailbox starts a mailbox on a free port and returns the delivery config sending to it.
func startMailbox(t *testing.T) (*mailbox, notify.Config) {
	t.Helper()
	box := &mailbox{byTo: map[string]*mail.Message{}}
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return box, notify.Config{SMTP: &notify.SMTP{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, From: "cs@kizuna.example"}}
}

var surveyLink = regexp.MustCompile(`https://cs\.example\.com(/s/sv_[a-z2-7]{52})\n`)

// form posts a form to the respondent's pages, from remote address ip.
func (s *testServer) form(t *testing.T, path, ip string, v url.Values) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = ip + ":40000"
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

const npsSurveyJSON = `{"survey_id": "nps-q4", "name": "NPS Q4", "kind": "nps",
	"question_en": "How likely are you to recommend us?", "question_ja": "当社を勧める可能性はどのくらいですか？",
	"subject_en": "{{.Account}}: one question", "body_en": "Hello {{.Name}},\n{{.Question}}\n{{.Link}}\n",
	"subject_ja": "{{.Account}} 様アンケート", "body_ja": "{{.Name}} 様\n{{.Question}}\n{{.Link}}\n"}`

func TestSurveySendAndAnswer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		if err := account.Upsert(ctx, db, account.Account{ID: "acme", Name: "Acme"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []account.Contact{
			{ID: "c1", AccountID: "acme", Email: "kei@acme.example", Name: "Kei"},
			{ID: "c2", AccountID: "acme", Email: "ren@acme.example", Name: "Ren", Attributes: map[string]any{"language": "ja"}},
			{ID: "c4", AccountID: "acme", Email: "mio@acme.example"},
			{ID: "c5", AccountID: "acme", Email: "sho@acme.example"},
		} {
			if err := account.UpsertContact(ctx, db, c); err != nil {
				t.Fatal(err)
			}
		}
		post := func(key, target, body string) *httptest.ResponseRecorder {
			return s.do(t, request{method: http.MethodPost, target: target, bearer: key, body: body})
		}
		checkProblem(t, post(keys.csm, "/api/v1/surveys", npsSurveyJSON), http.StatusForbidden)
		p := checkProblem(t, post(keys.manager, "/api/v1/surveys", strings.Replace(npsSurveyJSON, `\n{{.Link}}\n",`, `",`, 1)), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.body_en" || !strings.Contains(p.Detail, "{{.Link}}") {
			t.Errorf("body without a link: %+v", p)
		}
		if w := post(keys.manager, "/api/v1/surveys", npsSurveyJSON); w.Code != http.StatusCreated || w.Header().Get("Location") != "/api/v1/surveys/nps-q4" {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		if w := post(keys.manager, "/api/v1/surveys", strings.Replace(npsSurveyJSON, "nps-q4", "csat-old", 1)); w.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		// c4 was asked another survey 10 days ago, c5 100 days ago: throttle_days is 90.
		for i, c := range []struct {
			id   string
			days int
		}{{"c4", 10}, {"c5", 100}} {
			if _, err := db.ExecContext(ctx, `INSERT INTO survey_sends (send_id, survey_id, contact_id, account_id, email, language,
				token_hash, sent_at) VALUES ($1, 'csat-old', $2, 'acme', $3, 'en', $4, $5)`, "old"+c.id, c.id, c.id+"@old",
				strings.Repeat("f", 63)+string(rune('0'+i)), time.Now().AddDate(0, 0, -c.days).Unix()); err != nil {
				t.Fatal(err)
			}
		}
		checkProblem(t, post(keys.manager, "/api/v1/surveys/nps-q4/send", `{}`), http.StatusUnprocessableEntity) // no base URL
		checkProblem(t, post(keys.manager, "/api/v1/surveys/nope/send", `{"base_url": "https://cs.example.com"}`), http.StatusNotFound)
		w := post(keys.manager, "/api/v1/surveys/nps-q4/send", `{"base_url": "https://cs.example.com"}`)
		res := decode[survey.SendResult](t, w)
		if w.Code != http.StatusOK || res.Sent != 3 || res.SkippedThrottled != 1 || len(res.DeliveryIDs) != 3 {
			t.Fatalf("send: %d %s", w.Code, w.Body)
		}

		// The emails go out through SMTP.
		box, cfg := startMailbox(t)
		for _, id := range res.DeliveryIDs {
			if err := notify.Deliver(ctx, db, cfg, id); err != nil {
				t.Fatal(err)
			}
		}
		if len(box.byTo) != 3 || box.byTo["mio@acme.example"] != nil || box.byTo["sho@acme.example"] == nil {
			t.Fatalf("messages to %v: want kei, ren and sho (asked 100 days ago), not mio (10 days ago)", box.byTo)
		}
		read := func(to string) (subject, body string, h mail.Header) {
			t.Helper()
			m := box.byTo[to]
			subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(m.Body)
			return subject, strings.ReplaceAll(string(b), "\r\n", "\n"), m.Header
		}
		subject, body, h := read("kei@acme.example")
		link := surveyLink.FindStringSubmatch(body)
		if subject != "Acme: one question" || !strings.HasPrefix(body, "Hello Kei,\nHow likely are you to recommend us?\n") || link == nil {
			t.Fatalf("email %q:\n%s", subject, body)
		}
		path := link[1]
		if h.Get("List-Unsubscribe") != "<https://cs.example.com"+path+"/unsubscribe>" || h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("unsubscribe headers %q %q", h.Get("List-Unsubscribe"), h.Get("List-Unsubscribe-Post"))
		}
		jaSubject, jaBody, _ := read("ren@acme.example")
		jaLink := surveyLink.FindStringSubmatch(jaBody)
		if jaSubject != "Acme 様アンケート" || jaLink == nil {
			t.Fatalf("Japanese email %q:\n%s", jaSubject, jaBody)
		}
		// The outbox does not show the links' tokens.
		d := s.do(t, request{target: "/api/v1/deliveries?account_id=acme", bearer: keys.read})
		if strings.Contains(d.Body.String(), strings.TrimPrefix(path, "/s/")) || !strings.Contains(d.Body.String(), "/s/…") {
			t.Errorf("deliveries show the token: %s", d.Body)
		}

		// The link's page asks the question; the answer is a survey response.
		page := s.do(t, request{target: path})
		if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "How likely are you to recommend us?") ||
			!strings.Contains(page.Body.String(), `value="10"`) || !strings.Contains(page.Header().Get("Content-Security-Policy"), "form-action 'self'") {
			t.Fatalf("survey page %d %s", page.Code, page.Body)
		}
		if ja := s.do(t, request{target: jaLink[1]}); !strings.Contains(ja.Body.String(), `<html lang="ja">`) || !strings.Contains(ja.Body.String(), "当社を勧める可能性") {
			t.Errorf("Japanese page %s", ja.Body)
		}
		if w := s.form(t, path, "192.0.2.10", url.Values{"comment": {"no score"}}); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "Choose a score.") {
			t.Errorf("no score: %d %s", w.Code, w.Body)
		}
		w = s.form(t, path, "192.0.2.10", url.Values{"score": {"3"}, "comment": {"Reports are too slow"}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != path+"?done=1" {
			t.Fatalf("answer: %d %s", w.Code, w.Body)
		}
		if done := s.do(t, request{target: path + "?done=1"}); !strings.Contains(done.Body.String(), "Thank you for your answer.") {
			t.Errorf("thanks page %s", done.Body)
		}
		// One response per contact per survey: answering again replaces it.
		if w := s.form(t, path, "192.0.2.10", url.Values{"score": {"9"}}); w.Code != http.StatusSeeOther {
			t.Fatalf("second answer: %d %s", w.Code, w.Body)
		}
		list := decode[responsePage](t, s.do(t, request{target: "/api/v1/responses?account_id=acme", bearer: keys.read}))
		if len(list.Responses) != 1 || list.Responses[0].ID != "sv_nps-q4_c1" || list.Responses[0].Score != 9 || list.Responses[0].Survey != "nps-q4" {
			t.Errorf("the account's responses %+v", list.Responses)
		}
		if again := s.do(t, request{target: path}); !strings.Contains(again.Body.String(), "You answered 9 on") {
			t.Errorf("page after answering %s", again.Body)
		}
		// The first answer's comment became feedback.
		if fb, _ := feedback.Search(ctx, db, feedback.Filter{AccountID: "acme"}); len(fb) != 1 || fb[0].Category != "performance" {
			t.Errorf("feedback %+v", fb)
		}
		if entries, _ := audit.List(ctx, db, audit.Filter{ObjectType: "survey_response"}); len(entries) != 2 {
			t.Errorf("audit of answers: %d entries", len(entries))
		}

		// A tampered token finds nothing.
		tampered := path[:len(path)-2] + map[bool]string{true: "bb", false: "aa"}[strings.HasSuffix(path, "aa")]
		for _, target := range []string{tampered, "/s/sv_nothing", tampered + "/unsubscribe", "/s/" + strings.Repeat("x", 60) + "/other"} {
			if w := s.do(t, request{target: target}); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "This link does not work.") {
				t.Errorf("GET %s: %d", target, w.Code)
			}
		}
		if w := s.form(t, tampered, "192.0.2.11", url.Values{"score": {"0"}}); w.Code != http.StatusNotFound {
			t.Errorf("answer with a tampered token: %d", w.Code)
		}
		if w := s.form(t, path, "192.0.2.12", url.Values{"score": {"5"}, "comment": {strings.Repeat("x", 70<<10)}}); w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("70 KiB answer: %d", w.Code)
		}

		// Unsubscribing: GET asks, a one-click POST does it; the next send skips the address.
		if w := s.do(t, request{target: path + "/unsubscribe"}); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Stop sending surveys to kei@acme.example?") {
			t.Errorf("unsubscribe page %d %s", w.Code, w.Body)
		}
		dry := decode[survey.SendResult](t, post(keys.manager, "/api/v1/surveys/nps-q4/send", `{"base_url": "https://cs.example.com", "dry_run": true}`))
		if dry.SkippedUnsubscribed != 0 {
			t.Fatalf("before unsubscribing %+v", dry)
		}
		w = s.form(t, path+"/unsubscribe", "192.0.2.13", url.Values{"List-Unsubscribe": {"One-Click"}})
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "You will receive no more surveys at kei@acme.example.") {
			t.Fatalf("one-click unsubscribe: %d %s", w.Code, w.Body)
		}
		dry = decode[survey.SendResult](t, post(keys.manager, "/api/v1/surveys/nps-q4/send", `{"base_url": "https://cs.example.com", "dry_run": true}`))
		if dry.SkippedUnsubscribed != 1 || dry.Sent != 0 {
			t.Errorf("after unsubscribing %+v", dry)
		}

		// The survey's summary: 3 asked, 1 answered, NPS of one 9 = 100.
		view := decode[SurveyView](t, s.do(t, request{target: "/api/v1/surveys/nps-q4", bearer: keys.read}))
		if view.Summary.Sends != 3 || view.Summary.Responses != 1 || view.Summary.ResponseRate == nil || *view.Summary.ResponseRate != 1.0/3 ||
			view.Summary.Score == nil || *view.Summary.Score != 100 {
			t.Errorf("summary %+v", view.Summary)
		}
		// Closed: the link says so.
		closed := strings.Replace(strings.Replace(npsSurveyJSON, `"survey_id": "nps-q4", `, "", 1), `"kind": "nps",`, `"kind": "nps", "status": "closed",`, 1)
		if w := s.do(t, request{method: http.MethodPut, target: "/api/v1/surveys/nps-q4", bearer: keys.manager, body: closed}); w.Code != http.StatusOK {
			t.Fatalf("close: %d %s", w.Code, w.Body)
		}
		if w := s.do(t, request{target: path}); w.Code != http.StatusGone {
			t.Errorf("closed survey page: %d", w.Code)
		}
	})
}

func TestSurveyPublicLink(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	s := newTestServer(t, db)
	keys := newRoleKeys(t, db)
	if err := account.Upsert(ctx, db, account.Account{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := account.UpsertContact(ctx, db, account.Contact{ID: "c1", AccountID: "acme", Email: "kei@acme.example"}); err != nil {
		t.Fatal(err)
	}
	if w := s.do(t, request{method: http.MethodPost, target: "/api/v1/surveys", bearer: keys.manager, body: npsSurveyJSON}); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	link := decode[SurveyPublicLink](t, s.do(t, request{method: http.MethodPost, target: "/api/v1/surveys/nps-q4/public-link", bearer: keys.manager}))
	if !strings.HasPrefix(link.URL, "/s/public/svp_") {
		t.Fatalf("public link %q", link.URL)
	}
	page := s.do(t, request{target: link.URL, header: http.Header{"Accept-Language": {"ja,en;q=0.5"}}})
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `name="email"`) || !strings.Contains(page.Body.String(), "当社を勧める可能性") {
		t.Fatalf("public page %d %s", page.Code, page.Body)
	}
	// An unknown address without a company: the field says why, in the page's language.
	w := s.form(t, link.URL, "198.51.100.7", url.Values{"email": {"new@zeta.example"}, "score": {"8"}, "lang": {"ja"}})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "会社名をご記入ください") || !strings.Contains(w.Body.String(), `value="new@zeta.example"`) {
		t.Errorf("unknown email: %d %s", w.Code, w.Body)
	}
	w = s.form(t, link.URL, "198.51.100.7", url.Values{"email": {"kei@acme.example"}, "score": {"10"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("public answer: %d %s", w.Code, w.Body)
	}
	if r, err := survey.GetResponse(ctx, db, "sv_nps-q4_c1"); err != nil || r.Score != 10 || r.AccountID != "acme" {
		t.Errorf("public response %+v %v", r, err)
	}
	// Rate limit: publicAnswerLimit answers per client in the window; two so far.
	for i := 2; i < publicAnswerLimit; i++ {
		if w := s.form(t, link.URL, "198.51.100.7", url.Values{"email": {"kei@acme.example"}, "score": {"9"}}); w.Code != http.StatusSeeOther {
			t.Fatalf("answer %d: %d", i+1, w.Code)
		}
	}
	if w := s.form(t, link.URL, "198.51.100.7", url.Values{"email": {"kei@acme.example"}, "score": {"9"}}); w.Code != http.StatusTooManyRequests {
		t.Errorf("answer %d: %d, want 429", publicAnswerLimit+1, w.Code)
	}
	if w := s.form(t, link.URL, "198.51.100.8", url.Values{"email": {"kei@acme.example"}, "score": {"7"}}); w.Code != http.StatusSeeOther {
		t.Errorf("another client: %d", w.Code)
	}
	// A new link replaces it; a revoked one finds nothing.
	if w := s.do(t, request{method: http.MethodDelete, target: "/api/v1/surveys/nps-q4/public-link", bearer: keys.manager}); w.Code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	if w := s.do(t, request{target: link.URL}); w.Code != http.StatusNotFound {
		t.Errorf("revoked link: %d", w.Code)
	}
}

// TestSurveyScoreScales: each kind's buttons and the words at their ends
// (CES: 1 is very easy, as the metrics read lower as easier).
func TestSurveyScoreScales(t *testing.T) {
	for _, tc := range []struct {
		kind, lang, low, high string
		n                     int
	}{
		{"nps", "en", "Not at all likely", "Extremely likely", 11},
		{"csat", "en", "Very dissatisfied", "Very satisfied", 5},
		{"ces", "en", "Very easy", "Very difficult", 7},
		{"ces", "ja", "とても簡単", "とても難しい", 7},
	} {
		lang, txt := texts(tc.lang)
		p := answerForm(survey.Survey{Kind: tc.kind, QuestionEN: "Q"}, lang, txt, -1, "")
		rng := survey.ScoreRange[tc.kind]
		if len(p.Scores) != tc.n || p.Scores[0].Value != rng[0] || p.Scores[tc.n-1].Value != rng[1] || p.Low != tc.low || p.High != tc.high {
			t.Errorf("%s %s: %d scores from %d, ends %q–%q", tc.kind, tc.lang, len(p.Scores), p.Scores[0].Value, p.Low, p.High)
		}
	}
}

package demo

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// The demo's survey campaigns (C12) are the survey records behind answers
// the generator already gives (records.go): the last two half-yearly NPS
// waves (the older one closed) and the onboarding CSAT. Their sends are
// derived from those answers without randomness — one email per account
// asked, to the contact who answered or else the champion — so the
// answers, and everything planted in them, stay as they were.
const OnboardingSurvey = "onboarding-csat"

// npsWaves returns the days of the half-yearly NPS waves, as makeResponses
// places them, and their survey ids.
func (w *world) npsWaves() (days []int64, ids []string) {
	for t := dayTime(w.start); ; t = t.AddDate(0, 6, 0) {
		wave := dayOf(time.Date(t.Year(), t.Month(), 20, 0, 0, 0, 0, time.UTC))
		if wave >= w.now {
			return days, ids
		}
		half := "h1"
		if dayTime(wave).Month() > 6 {
			half = "h2"
		}
		days, ids = append(days, wave), append(ids, fmt.Sprintf("nps-%d-%s", dayTime(wave).Year(), half))
	}
}

// demoSurvey is the survey record of a campaign.
func demoSurvey(id, kind string, closed bool) survey.Survey {
	s := survey.Survey{ID: id, Kind: kind, Language: "ja", CreatedBy: LoginEmail,
		SubjectEN: "{{.Account}}: how likely are you to recommend us?",
		BodyEN:    "Dear {{.Name}},\n\n{{.Question}}\n\nOne click answers: {{.Link}}\n\nThank you for your time.",
		SubjectJA: "{{.Account}} 様: 当社サービスを薦める可能性は?",
		BodyJA:    "{{.Name}} 様\n\n{{.Question}}\n\nこちらからご回答ください: {{.Link}}\n\nご協力ありがとうございます。"}
	switch kind {
	case "nps":
		s.Name = "NPS " + id[len("nps-"):]
		s.QuestionEN = "How likely are you to recommend us to a friend or colleague?"
		s.QuestionJA = "当社サービスを友人や同僚に薦める可能性はどのくらいありますか?"
	default:
		s.Name = "Onboarding CSAT"
		s.QuestionEN = "How satisfied are you with your onboarding?"
		s.QuestionJA = "導入支援(オンボーディング)にどのくらい満足されましたか?"
		s.SubjectEN, s.SubjectJA = "{{.Account}}: how was your onboarding?", "{{.Account}} 様: 導入支援はいかがでしたか?"
	}
	if closed {
		s.Status = survey.StatusClosed
	}
	return s
}

// writeSurveys records the campaigns, their sends and the product
// requests grouping the demo's feedback.
func (w *world) writeSurveys(ctx context.Context, db *store.DB) error {
	days, ids := w.npsWaves()
	type campaign struct {
		s       survey.Survey
		created int64                       // day
		day     func(a *acct) (int64, bool) // the day a was asked, if it was
	}
	var cs []campaign
	for i := max(0, len(days)-2); i < len(days); i++ {
		wave := days[i]
		cs = append(cs, campaign{demoSurvey(ids[i], "nps", i < len(days)-1), wave - 7, func(a *acct) (int64, bool) {
			return wave, wave >= a.signup+60 && a.payingAt(wave)
		}})
	}
	cs = append(cs, campaign{demoSurvey(OnboardingSurvey, "csat", false), w.start, func(a *acct) (int64, bool) {
		d := a.signup + 30
		return d, d < w.now && a.payingAt(d)
	}})
	return db.InTx(ctx, func(tx *sql.Tx) error {
		for _, c := range cs {
			if _, err := survey.Create(ctx, tx, c.s, dayTime(c.created)); err != nil {
				return fmt.Errorf("demo surveys: %w", err)
			}
			var sends []survey.PastSend
			for _, a := range w.accounts {
				if a.prospect || len(a.recs.contacts) == 0 {
					continue
				}
				d, asked := c.day(a)
				contact := a.recs.contacts[0]
				var responded *time.Time
				for _, r := range a.recs.responses {
					if r.Survey != c.s.ID {
						continue
					}
					for _, ct := range a.recs.contacts {
						if ct.ID == r.ContactID {
							contact = ct
						}
					}
					at := r.AnsweredAt
					responded = &at
				}
				if !asked && responded == nil {
					continue
				}
				sends = append(sends, survey.PastSend{ID: "ss_" + c.s.ID + "_" + contact.ID, SurveyID: c.s.ID,
					ContactID: contact.ID, AccountID: a.id, Email: contact.Email, Language: "ja",
					SentAt: dayTime(d), RespondedAt: responded})
			}
			if err := survey.RecordSends(ctx, tx, sends); err != nil {
				return fmt.Errorf("demo surveys: %w", err)
			}
		}
		return w.writeRequests(ctx, tx)
	})
}

// demoRequests are the product requests the demo's feedback is grouped
// into (by its text), with their status; the other feedback is left
// ungrouped, for the product manager to triage.
var demoRequests = []struct {
	id, text, status, note string
}{
	{"pr_pdf_export", "Export reports to PDF", feedback.StatusPlanned, "In the plan for next quarter."},
	{"pr_sso_okta", "SSO with Okta", feedback.StatusOpen, ""},
	{"pr_salesforce_sync", "Two-way Salesforce sync", feedback.StatusOpen, ""},
	{"pr_dark_mode", "Dark mode", feedback.StatusShipped, "Released in version 4.2: Settings → Appearance."},
	{"pr_dashboard_speed", "Dashboards load slowly with many accounts", feedback.StatusPlanned, "Caching of the dashboard figures is under way."},
	{"pr_jp_invoice", "Japanese invoice format", feedback.StatusDeclined, "Invoices follow the billing system's format; a Japanese PDF is sent on request."},
}

func (w *world) writeRequests(ctx context.Context, tx *sql.Tx) error {
	byText := map[string][]string{}
	for _, a := range w.accounts {
		for _, it := range a.recs.feedback {
			byText[it.Text] = append(byText[it.Text], it.ID)
		}
	}
	for _, d := range demoRequests {
		cat := "feature"
		for c, texts := range feedbackTexts {
			for _, t := range texts {
				if t == d.text {
					cat = c
				}
			}
		}
		if _, err := feedback.CreateRequest(ctx, tx, feedback.Request{ID: d.id, Title: d.text, Category: cat, Status: d.status,
			StatusNote: d.note, CreatedBy: LoginEmail}, byText[d.text], w.cfg.Now.Add(-24*time.Hour)); err != nil {
			return fmt.Errorf("demo product requests: %w", err)
		}
	}
	return nil
}

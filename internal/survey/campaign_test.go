package survey_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/survey"
	"github.com/kizuna-cs/kizuna/internal/task"
)

var now = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func npsSurvey(id string) survey.Survey {
	return survey.Survey{ID: id, Name: "NPS 2026 Q4", Kind: "nps",
		QuestionEN: "How likely are you to recommend us?", QuestionJA: "当社を友人や同僚に勧める可能性はどのくらいありますか？",
		SubjectEN: "{{.Account}}: one question", BodyEN: "Hello {{.Name}},\n{{.Question}}\nAnswer: {{.Link}}\n",
		SubjectJA: "{{.Account}} 様へのアンケート", BodyJA: "{{.Name}} 様\n{{.Question}}\n回答: {{.Link}}\n"}
}

func TestValidateSurvey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*survey.Survey)
		field string
	}{
		{"ok", func(*survey.Survey) {}, ""},
		{"bad id", func(s *survey.Survey) { s.ID = "NPS Q4" }, "survey_id"},
		{"bad kind", func(s *survey.Survey) { s.Kind = "stars" }, "kind"},
		{"no question", func(s *survey.Survey) { s.QuestionEN = " " }, "question_en"},
		{"no subject", func(s *survey.Survey) { s.SubjectEN = "" }, "subject_en"},
		{"body without link", func(s *survey.Survey) { s.BodyEN = "Hello {{.Name}}" }, "body_en"},
		{"unknown field", func(s *survey.Survey) { s.BodyEN = "{{.Link}} {{.Company}}" }, "body_en"},
		{"does not parse", func(s *survey.Survey) { s.SubjectJA = "{{.Account" }, "subject_ja"},
		{"half of Japanese", func(s *survey.Survey) { s.BodyJA = "" }, "body_ja"},
		{"negative throttle", func(s *survey.Survey) { s.ThrottleDays = -1 }, "throttle_days"},
		{"bad language", func(s *survey.Survey) { s.Language = "fr" }, "language"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := npsSurvey("nps-q4")
			tc.edit(&s)
			err := survey.Validate(&s)
			var ie *survey.InvalidError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("valid survey refused: %v", err)
			case tc.field == "" && (s.ThrottleDays != 90 || s.MaxPerRun != 500 || s.MaxPerHour != 1000 || s.Language != "en"):
				t.Errorf("defaults %+v", s)
			case tc.field != "" && (!errors.As(err, &ie) || ie.Field != tc.field):
				t.Errorf("error %v, want one on %s", err, tc.field)
			}
		})
	}
}

// fixture: accounts acme (owner kei) and beta; contacts
//
//	c1 acme  kei.t@acme.example  (no language: the survey's, en)
//	c2 acme  (no email)
//	c3 beta  ren@beta.example    language ja
//	c4 beta  gone@beta.example   unsubscribed
//	c5 beta  KEI.T@acme.example  the same address as c1
//	c6 beta  mio@beta.example    asked another survey 10 days ago
//	c7 beta  sho@beta.example    asked another survey 100 days ago
func fixture(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	if err := account.Upsert(ctx, db, account.Account{ID: "acme", Name: "Acme", OwnerEmail: "kei@kizuna.example"}); err != nil {
		t.Fatal(err)
	}
	if err := account.Upsert(ctx, db, account.Account{ID: "beta", Name: "Beta"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []account.Contact{
		{ID: "c1", AccountID: "acme", Email: "kei.t@acme.example", Name: "Kei"},
		{ID: "c2", AccountID: "acme", Name: "No Mail"},
		{ID: "c3", AccountID: "beta", Email: "ren@beta.example", Name: "Ren", Attributes: map[string]any{"language": "ja"}},
		{ID: "c4", AccountID: "beta", Email: "gone@beta.example"},
		{ID: "c5", AccountID: "beta", Email: "KEI.T@acme.example"},
		{ID: "c6", AccountID: "beta", Email: "mio@beta.example"},
		{ID: "c7", AccountID: "beta", Email: "sho@beta.example"},
	} {
		if err := account.UpsertContact(ctx, db, c); err != nil {
			t.Fatal(err)
		}
	}
	old := npsSurvey("csat-old")
	old.Kind, old.Name = "csat", "Old CSAT"
	if _, err := survey.Create(ctx, db, old, now.AddDate(-1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		id   string
		days int
	}{{"c6", 10}, {"c7", 100}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO survey_sends (send_id, survey_id, contact_id, account_id, email, language,
			token_hash, sent_at) VALUES ($1, 'csat-old', $2, 'beta', 'x', 'en', $3, $4)`,
			"old"+c.id, c.id, strings.Repeat("0", 63)+string(rune('0'+i)), now.AddDate(0, 0, -c.days).Unix()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO survey_unsubscribes (email, contact_id, at) VALUES ('gone@beta.example', 'c4', 0)`); err != nil {
		t.Fatal(err)
	}
}

// sendAll sends survey id and returns the result with its deliveries by recipient.
func sendAll(t *testing.T, db *store.DB, id string, at time.Time) (survey.SendResult, map[string]notify.Delivery) {
	t.Helper()
	ctx := context.Background()
	res, err := survey.Send(ctx, db, id, survey.SendOptions{BaseURL: "https://cs.example.com/"}, at)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]notify.Delivery{}
	for _, did := range res.DeliveryIDs {
		d, err := notify.Get(ctx, db, did)
		if err != nil {
			t.Fatal(err)
		}
		out[d.Target] = d
	}
	return res, out
}

func TestSend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		if _, err := survey.Create(ctx, db, npsSurvey("nps-q4"), now); err != nil {
			t.Fatal(err)
		}
		dry, err := survey.Send(ctx, db, "nps-q4", survey.SendOptions{BaseURL: "https://cs.example.com", DryRun: true}, now)
		if err != nil || dry.Sent != 3 || len(dry.DeliveryIDs) != 0 {
			t.Fatalf("dry run %+v %v", dry, err)
		}
		res, ds := sendAll(t, db, "nps-q4", now)
		// c1, c3, c7 sent; c2 no email, c4 unsubscribed, c5 duplicate of c1, c6 throttled (10 days < 90).
		want := survey.SendResult{SurveyID: "nps-q4", Contacts: 7, Sent: 3, SkippedNoEmail: 1, SkippedUnsubscribed: 1,
			SkippedThrottled: 1, SkippedDuplicate: 1}
		res.DeliveryIDs = nil
		if !reflect.DeepEqual(res, want) {
			t.Errorf("send = %+v\nwant   %+v", res, want)
		}
		en, ja := ds["kei.t@acme.example"], ds["ren@beta.example"]
		if _, ok := ds["sho@beta.example"]; !ok || len(ds) != 3 {
			t.Fatalf("deliveries to %v", ds)
		}
		if en.Subject != "Acme: one question" || !strings.HasPrefix(en.Body, "Hello Kei,\nHow likely are you to recommend us?\nAnswer: https://cs.example.com/s/sv_") ||
			!strings.Contains(en.Body, "To receive no more surveys: https://cs.example.com/s/"+en.Secret+"/unsubscribe") || en.AccountID != "acme" {
			t.Errorf("English email %q\n%s", en.Subject, en.Body)
		}
		if en.Headers["List-Unsubscribe"] != "<https://cs.example.com/s/"+en.Secret+"/unsubscribe>" ||
			en.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
			t.Errorf("headers %v", en.Headers)
		}
		if ja.Subject != "Beta 様へのアンケート" || !strings.Contains(ja.Body, "当社を友人や同僚に勧める可能性") || !strings.Contains(ja.Body, "配信を希望されない場合") {
			t.Errorf("Japanese email %q\n%s", ja.Subject, ja.Body)
		}
		if m := en.Masked(); strings.Contains(m.Body, en.Secret) || strings.Contains(m.Headers["List-Unsubscribe"], en.Secret) {
			t.Errorf("masked delivery shows the token: %s", m.Body)
		}

		// The same day again: everyone just asked is throttled, and c5 with c1's address.
		again, _ := sendAll(t, db, "nps-q4", now.Add(time.Hour))
		if again.Sent != 0 || again.SkippedThrottled != 5 {
			t.Errorf("second send %+v", again)
		}

		// Answering: the link's token finds the invitation; a tampered one does not.
		inv, err := survey.Invited(ctx, db, en.Secret)
		if err != nil || inv.ContactID != "c1" || inv.AccountID != "acme" || inv.Language != "en" || inv.Answer != nil {
			t.Fatalf("invited %+v %v", inv, err)
		}
		tampered := en.Secret[:len(en.Secret)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(en.Secret, "a")]
		for _, tok := range []string{tampered, "sv_short", "", strings.ToUpper(en.Secret)} {
			if _, err := survey.Invited(ctx, db, tok); !errors.Is(err, survey.ErrNotFound) {
				t.Errorf("token %q: %v, want not found", tok, err)
			}
		}
		if _, err := survey.Respond(ctx, db, inv, survey.Answer{Score: 11}, now); err == nil {
			t.Error("score 11 accepted for NPS")
		}
		at := now.Add(2 * time.Hour)
		if _, err := survey.Respond(ctx, db, inv, survey.Answer{Score: 8, Comment: "Fine"}, at); err != nil {
			t.Fatal(err)
		}
		// A second answer replaces the first: one response per contact per survey.
		if _, err := survey.Respond(ctx, db, inv, survey.Answer{Score: 3, Comment: "The reports are too slow to load."}, at.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		rs, err := survey.SearchResponses(ctx, db, survey.ResponseFilter{Survey: "nps-q4"})
		if err != nil || len(rs) != 1 || rs[0].ID != "sv_nps-q4_c1" || rs[0].Score != 3 || rs[0].ContactID != "c1" || rs[0].Kind != "nps" {
			t.Fatalf("responses %+v %v", rs, err)
		}
		// The account's timeline reads Responses; health reads the snapshot.
		tl, err := survey.Responses(ctx, db, "acme")
		if err != nil || len(tl) != 1 || tl[0].Comment != "The reports are too slow to load." {
			t.Errorf("timeline responses %+v %v", tl, err)
		}
		sn, err := snapshot.Get(ctx, db, "acme", at.Add(time.Hour))
		if err != nil || !sn.HasNPS || sn.LastNPS != 3 {
			t.Errorf("snapshot has_nps %v last_nps %d (%v)", sn.HasNPS, sn.LastNPS, err)
		}
		// The survey metrics count it, broken down by survey id.
		rows, err := metrics.Surveys(ctx, db, now, now, "survey", nil)
		if err != nil || len(rows) != 1 || rows[0].Group == nil || *rows[0].Group != "nps-q4" || rows[0].NPSResponses != 1 ||
			rows[0].Detractors != 1 || rows[0].NPS == nil || *rows[0].NPS != -100 {
			t.Errorf("survey metrics %+v %v", rows, err)
		}
		// The comment became one feedback item, classified, replaced on the second answer.
		fb, err := feedback.Search(ctx, db, feedback.Filter{AccountID: "acme"})
		if err != nil || len(fb) != 1 || fb[0].ID != "fb_sv_nps-q4_c1" || fb[0].Category != "performance" || fb[0].Source != "survey" {
			t.Errorf("feedback %+v %v", fb, err)
		}
		inv, _ = survey.Invited(ctx, db, en.Secret)
		if inv.Answer == nil || inv.Answer.Score != 3 {
			t.Errorf("invitation's answer %+v", inv.Answer)
		}

		// Unsubscribing stops every survey to the address (c5 shares it).
		if err := survey.Unsubscribe(ctx, db, inv, now); err != nil {
			t.Fatal(err)
		}
		if err := survey.Unsubscribe(ctx, db, inv, now); err != nil {
			t.Errorf("second unsubscribe: %v", err)
		}
		later, _ := sendAll(t, db, "nps-q4", now.AddDate(0, 0, 100))
		// 100 days on nobody is throttled: c1 (answered, and unsubscribed: counted unsubscribed) and c5 and c4
		// unsubscribed; c2 no email; c3, c6, c7 sent.
		if later.Sent != 3 || later.SkippedUnsubscribed != 3 || later.SkippedThrottled != 0 || later.SkippedNoEmail != 1 {
			t.Errorf("send 100 days later %+v", later)
		}
	})
}

func TestSendLimitsAndClosed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		s := npsSurvey("nps-q4")
		s.MaxPerRun, s.ThrottleDays = 2, 5
		if _, err := survey.Create(ctx, db, s, now); err != nil {
			t.Fatal(err)
		}
		res, _ := sendAll(t, db, "nps-q4", now)
		// Eligible: c1, c3, c6 (asked 10 days ago, more than 5), c7; two go, two wait.
		if res.Sent != 2 || res.Deferred != 2 {
			t.Errorf("max per run: %+v", res)
		}
		s.MaxPerRun, s.MaxPerHour = 10, 3
		if _, _, err := survey.Update(ctx, db, s, now); err != nil {
			t.Fatal(err)
		}
		res, _ = sendAll(t, db, "nps-q4", now.Add(time.Minute))
		// Two sent in the last hour (and now throttled): one of the other two fits in the hour.
		if res.Sent != 1 || res.Deferred != 1 || res.SkippedThrottled != 3 {
			t.Errorf("max per hour: %+v", res)
		}
		if _, err := survey.Send(ctx, db, "nps-q4", survey.SendOptions{BaseURL: "cs.example.com"}, now); err == nil {
			t.Error("a base URL without a scheme accepted")
		}
		s.Status = survey.StatusClosed
		if _, _, err := survey.Update(ctx, db, s, now); err != nil {
			t.Fatal(err)
		}
		if _, err := survey.Send(ctx, db, "nps-q4", survey.SendOptions{BaseURL: "https://cs.example.com"}, now); !errors.Is(err, survey.ErrClosed) {
			t.Errorf("closed survey sent: %v", err)
		}
		if _, err := survey.Create(ctx, db, s, now); !errors.Is(err, survey.ErrExists) {
			t.Errorf("duplicate create: %v", err)
		}
	})
}

func TestPublicLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		if _, err := survey.Create(ctx, db, npsSurvey("nps-q4"), now); err != nil {
			t.Fatal(err)
		}
		token, err := survey.NewPublicLink(ctx, db, "nps-q4", now)
		if err != nil {
			t.Fatal(err)
		}
		s, err := survey.ByPublicToken(ctx, db, token)
		if err != nil || s.ID != "nps-q4" || !s.PublicLink {
			t.Fatalf("by public token %+v %v", s, err)
		}
		for _, tc := range []struct {
			name    string
			answer  survey.PublicAnswer
			field   string
			id      string
			account string
		}{
			{"known contact", survey.PublicAnswer{Answer: survey.Answer{Score: 9}, Email: "Ren@Beta.example"}, "", "sv_nps-q4_c3", "beta"},
			{"again replaces", survey.PublicAnswer{Answer: survey.Answer{Score: 10}, Email: "ren@beta.example"}, "", "sv_nps-q4_c3", "beta"},
			{"unknown email, account by name", survey.PublicAnswer{Answer: survey.Answer{Score: 6}, Email: "new@acme.example", Account: "ACME"}, "", "", "acme"},
			{"unknown email, no account", survey.PublicAnswer{Answer: survey.Answer{Score: 6}, Email: "new@zeta.example"}, "account", "", ""},
			{"unknown account", survey.PublicAnswer{Answer: survey.Answer{Score: 6}, Email: "new@zeta.example", Account: "Zeta"}, "account", "", ""},
			{"bad email", survey.PublicAnswer{Answer: survey.Answer{Score: 6}, Email: "not an address"}, "email", "", ""},
			{"bad score", survey.PublicAnswer{Answer: survey.Answer{Score: -1}, Email: "ren@beta.example"}, "score", "", ""},
			{"long comment", survey.PublicAnswer{Answer: survey.Answer{Score: 5, Comment: strings.Repeat("あ", 5001)}, Email: "ren@beta.example"}, "comment", "", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r, err := survey.RespondPublic(ctx, db, s, tc.answer, now)
				var ie *survey.InvalidError
				switch {
				case tc.field != "":
					if !errors.As(err, &ie) || ie.Field != tc.field {
						t.Errorf("error %v, want one on %s", err, tc.field)
					}
				case err != nil:
					t.Fatal(err)
				case r.AccountID != tc.account || (tc.id != "" && r.ID != tc.id) || !strings.HasPrefix(r.ID, "sv_nps-q4_"):
					t.Errorf("response %+v", r)
				}
			})
		}
		rs, _ := survey.SearchResponses(ctx, db, survey.ResponseFilter{Survey: "nps-q4"})
		if len(rs) != 2 {
			t.Errorf("public responses %+v, want ren's (once) and new@acme's", rs)
		}
		// A new link replaces the old one.
		if _, err := survey.NewPublicLink(ctx, db, "nps-q4", now); err != nil {
			t.Fatal(err)
		}
		if _, err := survey.ByPublicToken(ctx, db, token); !errors.Is(err, survey.ErrNotFound) {
			t.Errorf("old public token: %v", err)
		}
	})
}

// TestDetractorFromSurvey: an answer through a survey link fires the
// NPS-detractor playbook trigger like any other response.
func TestDetractorFromSurvey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		if _, err := survey.Create(ctx, db, npsSurvey("nps-q4"), now); err != nil {
			t.Fatal(err)
		}
		if _, _, err := playbook.Save(ctx, db, playbook.Playbook{ID: "detractor", Name: "Detractor", Enabled: true,
			Trigger: playbook.Trigger{Type: playbook.TriggerNPSDetractor},
			Actions: []playbook.Action{{Type: playbook.ActionTask, Title: "Call back: {{.Reason}}"}}}, now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		_, ds := sendAll(t, db, "nps-q4", now)
		inv, err := survey.Invited(ctx, db, ds["kei.t@acme.example"].Secret)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := survey.Respond(ctx, db, inv, survey.Answer{Score: 4}, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		st, err := playbook.NewStage(ctx, db, playbook.Options{})
		if err != nil {
			t.Fatal(err)
		}
		at := now.Add(2 * time.Hour)
		snaps, err := snapshot.All(ctx, db, at)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Apply(ctx, db, at, snaps); err != nil {
			t.Fatal(err)
		}
		tasks, err := task.List(ctx, db, task.Filter{PlaybookID: "detractor"})
		if err != nil || len(tasks) != 1 || tasks[0].AccountID != "acme" || tasks[0].Title != "Call back: NPS detractor answer on 2026-11-01" {
			t.Errorf("detractor tasks %+v %v", tasks, err)
		}
	})
}

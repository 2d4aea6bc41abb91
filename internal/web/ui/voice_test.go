package ui_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/survey"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// surveyForm is a valid survey form, to spoil one field at a time.
func surveyForm(id string) url.Values {
	return url.Values{"survey_id": {id}, "kind": {"nps"}, "name": {"Test NPS"}, "language": {"en"},
		"question_en": {"Would you recommend us?"}, "subject_en": {"{{.Account}}: one question"},
		"body_en": {"Hello {{.Name}}, answer here: {{.Link}}"}, "throttle_days": {"30"}, "max_per_run": {"3"}, "max_per_hour": {""}}
}

// TestSurveyPages: the list and a survey's results on the demo's
// campaigns and on a survey with hand-computed answers; a manager creates,
// edits, previews and sends, links and closes a survey; refusals beside
// the field; a viewer may only read.
func TestSurveyPages(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	ctx := context.Background()
	viewer, manager := s.as(t, user.RoleViewer), s.as(t, user.RoleManager)

	t.Run("list", func(t *testing.T) {
		res := viewer.get("/surveys")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /surveys = %d", res.StatusCode)
		}
		list, err := survey.List(ctx, s.db)
		if err != nil || len(list) != 3 {
			t.Fatalf("the demo has %d surveys (%v), want 3", len(list), err)
		}
		for _, sv := range list {
			sum, err := survey.Summarize(ctx, s.db, sv)
			if err != nil {
				t.Fatal(err)
			}
			row := fmt.Sprintf(`<td class="num">%d</td><td class="num">%d</td>`, sum.Sends, sum.Responses)
			if !strings.Contains(res.Body, `href="/surveys/`+sv.ID+`"`) || !strings.Contains(res.Body, row) {
				t.Errorf("/surveys lacks %s with %s", sv.ID, row)
			}
		}
		if strings.Contains(res.Body, `href="/surveys/new"`) {
			t.Error("a viewer is offered a new survey")
		}
	})

	t.Run("roles", func(t *testing.T) {
		for _, p := range []string{"/surveys/new", "/surveys/onboarding-csat/send", "/surveys/onboarding-csat/edit"} {
			if res := viewer.get(p); res.StatusCode != http.StatusForbidden {
				t.Errorf("a viewer's GET %s = %d", p, res.StatusCode)
			}
		}
		for _, p := range []string{"/surveys", "/surveys/onboarding-csat/send", "/surveys/onboarding-csat/public-link", "/surveys/onboarding-csat/status"} {
			if res := viewer.submit("/surveys", p, surveyForm("viewer-made")); res.StatusCode != http.StatusForbidden {
				t.Errorf("a viewer's POST %s = %d", p, res.StatusCode)
			}
		}
		if n := count(t, s, `SELECT COUNT(*) FROM surveys WHERE survey_id = 'viewer-made'`); n != 0 {
			t.Error("a viewer created a survey")
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, tt := range []struct {
			field, value, want string
		}{
			{"body_en", "Hello, no link here", "must contain {{.Link}}"},
			{"survey_id", "Bad Id", "want lower-case letters"},
			{"segment_id", "nope", "There is no segment nope."},
			{"throttle_days", "soon", `"soon" is not a whole number.`},
			{"subject_en", "{{.Nope}}", "the template fails on a sample contact"},
			{"name", strings.Repeat("x", 201), "At most 200 characters."},
			{"question_ja", strings.Repeat("質", 1001), "At most 1,000 characters."},
		} {
			form := surveyForm("refused")
			form.Set(tt.field, tt.value)
			res := manager.submit("/surveys/new", "/surveys", form)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, html.EscapeString(tt.want)) {
				t.Errorf("%s = %q: %d, want 422 with %q", tt.field, tt.value, res.StatusCode, tt.want)
			}
			// The typed values come back.
			if !strings.Contains(res.Body, `value="Would you recommend us?"`) {
				t.Errorf("%s: the form lost its values", tt.field)
			}
		}
		if n := count(t, s, `SELECT COUNT(*) FROM surveys WHERE survey_id = 'refused'`); n != 0 {
			t.Error("a refused form created a survey")
		}
	})

	t.Run("create, results, edit", func(t *testing.T) {
		res := manager.submit("/surveys/new", "/surveys", surveyForm("hand-nps"))
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/surveys/hand-nps?") {
			t.Fatalf("create = %d to %q: %s", res.StatusCode, res.Header.Get("Location"), res.Body)
		}
		if res := manager.submit("/surveys/new", "/surveys", surveyForm("hand-nps")); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(res.Body, "A survey with this id exists.") {
			t.Errorf("the same id again = %d", res.StatusCode)
		}
		accts, err := account.List(ctx, s.db, account.ListOptions{Limit: 5})
		if err != nil || len(accts) < 5 {
			t.Fatal(err)
		}
		sep := time.Date(2026, 9, 3, 9, 0, 0, 0, time.UTC)
		// September: 10, 9, 3 → NPS 100 × (2 − 1) / 3 = 33.3; October: 9, 7
		// → 100 × 1 / 2 = 50; in all 3 promoters, 1 passive, 1 detractor of
		// 5 → 100 × (3 − 1) / 5 = 40.
		for i, r := range []struct {
			score int
			at    time.Time
		}{{10, sep}, {9, sep.AddDate(0, 0, 1)}, {3, sep.AddDate(0, 0, 2)}, {9, sep.AddDate(0, 1, 0)}, {7, sep.AddDate(0, 1, 1)}} {
			if err := survey.UpsertResponse(ctx, s.db, survey.Response{ID: fmt.Sprint("hand-", i), AccountID: accts[i].ID, Survey: "hand-nps",
				Kind: "nps", Score: r.score, Comment: fmt.Sprint("comment ", i), AnsweredAt: r.at}); err != nil {
				t.Fatal(err)
			}
		}
		res = viewer.get("/surveys/hand-nps")
		for _, want := range []string{
			`<div class="value voice-score">40</div>`,
			html.EscapeString("NPS = 100 × (promoters − detractors) ÷ responses: 3 promoters (9–10), 1 passives (7–8), 1 detractors (0–6) of 5."),
			"<title>9 · Responses: 2</title>", "<title>Sep 2026 · Score: 33</title>", "<title>Oct 2026 · Score: 50</title>",
			"comment 4", `href="/accounts/` + accts[4].ID + `"`,
		} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("/surveys/hand-nps lacks %q", want)
			}
		}
		if strings.Contains(res.Body, "/surveys/hand-nps/edit") {
			t.Error("a viewer is offered the edit link")
		}
		form := surveyForm("")
		form.Set("question_en", "How likely are you to recommend us?")
		form.Set("kind", "csat") // ignored: the kind is fixed
		if res := manager.submit("/surveys/hand-nps/edit", "/surveys/hand-nps", form); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit = %d: %s", res.StatusCode, res.Body)
		}
		sv, err := survey.Get(ctx, s.db, "hand-nps")
		if err != nil || sv.QuestionEN != "How likely are you to recommend us?" || sv.Kind != "nps" || sv.ThrottleDays != 30 {
			t.Errorf("after the edit: %+v, %v", sv, err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM audit_log WHERE object_type = 'survey' AND object_id = 'hand-nps' AND actor = 'user:manager@example.com'`); n != 2 {
			t.Errorf("%d audit entries, want 2 (create, update)", n)
		}
		if res := viewer.get("/surveys/nope"); res.StatusCode != http.StatusNotFound {
			t.Errorf("an unknown survey = %d", res.StatusCode)
		}
	})

	t.Run("send", func(t *testing.T) {
		dry, err := survey.Send(ctx, s.db, "hand-nps", survey.SendOptions{BaseURL: "https://cs.example.com", DryRun: true}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// max_per_run is 3: three go, the other eligible contacts wait.
		if dry.Sent != 3 || dry.Deferred == 0 {
			t.Fatalf("dry run: %+v", dry)
		}
		res := manager.get("/surveys/hand-nps/send?base_url=https://cs.example.com")
		for _, want := range []string{
			fmt.Sprintf(`<tr class="voice-go"><th>Would be emailed now</th><td class="num">%d</td></tr>`, dry.Sent),
			fmt.Sprintf(`<th>Deferred by the limits to a later send</th><td class="num">%d</td>`, dry.Deferred),
			fmt.Sprintf(`<th>Skipped: asked a survey within 30 days</th><td class="num">%d</td>`, dry.SkippedThrottled),
			"Send 3 emails",
		} {
			if !strings.Contains(res.Body, html.EscapeString(want)) && !strings.Contains(res.Body, want) {
				t.Errorf("the preview lacks %q", want)
			}
		}
		if n := count(t, s, `SELECT COUNT(*) FROM survey_sends WHERE survey_id = 'hand-nps'`); n != 0 {
			t.Fatalf("the preview wrote %d sends", n)
		}
		if res := manager.get("/surveys/hand-nps/send?base_url=cs.example.com"); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(res.Body, "want the server&#39;s public address") {
			t.Errorf("a bad address = %d", res.StatusCode)
		}
		res = manager.submit("/surveys/hand-nps/send", "/surveys/hand-nps/send", url.Values{"base_url": {"https://cs.example.com"}})
		if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), url.QueryEscape(fmt.Sprintf("3 emails queued; %d deferred", dry.Deferred))) {
			t.Fatalf("send = %d to %s", res.StatusCode, res.Header.Get("Location"))
		}
		if n := count(t, s, `SELECT COUNT(*) FROM survey_sends ss JOIN deliveries d ON d.delivery_id = ss.delivery_id
			WHERE ss.survey_id = 'hand-nps' AND d.status = 'pending' AND d.body LIKE '%https://cs.example.com/s/sv_%'`); n != 3 {
			t.Errorf("%d sends with a pending email, want 3", n)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM audit_log WHERE object_type = 'survey_send' AND object_id = 'hand-nps'`); n != 1 {
			t.Errorf("%d audit entries of the send", n)
		}
	})

	t.Run("public link and close", func(t *testing.T) {
		res := manager.submit("/surveys/hand-nps", "/surveys/hand-nps/public-link", nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `/s/public/svp_`) || !strings.Contains(res.Body, `href="/surveys/hand-nps"`) {
			t.Fatalf("public link = %d", res.StatusCode)
		}
		if sv, _ := survey.Get(ctx, s.db, "hand-nps"); !sv.PublicLink {
			t.Error("no public link stored")
		}
		if res := manager.submit("/surveys/hand-nps", "/surveys/hand-nps/public-link/revoke", nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("revoke = %d", res.StatusCode)
		}
		if sv, _ := survey.Get(ctx, s.db, "hand-nps"); sv.PublicLink {
			t.Error("the public link survived its revocation")
		}
		if res := manager.submit("/surveys/hand-nps", "/surveys/hand-nps/status", url.Values{"status": {"closed"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("close = %d", res.StatusCode)
		}
		if sv, _ := survey.Get(ctx, s.db, "hand-nps"); sv.Status != survey.StatusClosed {
			t.Errorf("status %s after closing", sv.Status)
		}
		if res := manager.get("/surveys/hand-nps/send"); !strings.Contains(res.Body, "The survey is closed: reopen it to send it.") {
			t.Error("the send page of a closed survey does not say so")
		}
		if res := manager.submit("/surveys/hand-nps", "/surveys/hand-nps/send", url.Values{"base_url": {"https://cs.example.com"}}); res.StatusCode != http.StatusConflict {
			t.Errorf("sending a closed survey = %d", res.StatusCode)
		}
		if res := manager.submit("/surveys/hand-nps", "/surveys/hand-nps/status", url.Values{"status": {"paused"}}); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("status paused = %d", res.StatusCode)
		}
	})
}

// TestFeedbackPages: the filtered list, a CSM adds an item, corrects a
// category, groups items into a new and an existing request and turns a
// ticket into feedback; refusals beside the field; a viewer only reads.
func TestFeedbackPages(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	ctx := context.Background()
	viewer, csm := s.as(t, user.RoleViewer), s.as(t, user.RoleCSM)

	res := viewer.get("/feedback?category=feature&ungrouped=1")
	want := count(t, s, `SELECT COUNT(*) FROM feedback WHERE category = 'feature' AND request_id IS NULL`)
	if got := strings.Count(res.Body, `<td class="num">`); res.StatusCode != http.StatusOK || got != min(want, 50) {
		t.Errorf("ungrouped feature items: %d rows, want %d (status %d)", got, min(want, 50), res.StatusCode)
	}
	if strings.Contains(res.Body, `action="/feedback/group"`) {
		t.Error("a viewer is offered the group form")
	}
	if res := viewer.submit("/feedback", "/feedback", url.Values{"text": {"x"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer's POST = %d", res.StatusCode)
	}

	accts, err := account.List(ctx, s.db, account.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"account_id": {"ghost"}, "text": {"Please add SAML"}}, "There is no account ghost."},
		{url.Values{"account_id": {accts[0].ID}, "text": {"   "}}, "required: what the customer said"},
		{url.Values{"text": {"x"}, "category": {"wish"}}, html.EscapeString(`"wish" is not one of`)},
	} {
		res := csm.submit("/feedback", "/feedback", tt.form)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, tt.want) {
			t.Errorf("%v = %d, want 422 with %q", tt.form, res.StatusCode, tt.want)
		}
	}
	// In Japanese the feedback package's reasons are translated too.
	jaUser, _ := user.GetByEmail(ctx, s.db, "csm@example.com")
	if err := user.SetLanguage(ctx, s.db, jaUser.ID, "ja"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"account_id": {accts[0].ID}, "text": {"   "}}, "必須です。顧客の発言を入力してください"},
		{url.Values{"text": {"x"}, "category": {"wish"}}, html.EscapeString(`"wish" は feature, ui_ux, performance, support, other のいずれでもありません`)},
	} {
		res := csm.submit("/feedback", "/feedback", tt.form)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, tt.want) {
			t.Errorf("in Japanese %v = %d, want 422 with %q", tt.form, res.StatusCode, tt.want)
		}
	}
	if err := user.SetLanguage(ctx, s.db, jaUser.ID, "en"); err != nil {
		t.Fatal(err)
	}
	before := count(t, s, `SELECT COUNT(*) FROM feedback`)
	res = csm.submit("/feedback", "/feedback", url.Values{"account_id": {accts[0].ID}, "text": {"The reports are too slow to load"}})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), url.QueryEscape("Feedback recorded as Performance.")) {
		t.Fatalf("add = %d to %s", res.StatusCode, res.Header.Get("Location"))
	}
	if n := count(t, s, `SELECT COUNT(*) FROM feedback`); n != before+1 {
		t.Errorf("%d items after adding one to %d", n, before)
	}
	var id string
	if err := s.db.QueryRow(`SELECT feedback_id FROM feedback WHERE source = 'csm' AND text = 'The reports are too slow to load'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	res = csm.submit("/feedback", "/feedback/"+id+"/category", url.Values{"category": {"feature"}, "next": {"/feedback?source=csm"}})
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/feedback?source=csm&") {
		t.Errorf("correct = %d to %s", res.StatusCode, res.Header.Get("Location"))
	}
	if it, _ := feedback.Get(ctx, s.db, id); it.Category != "feature" || it.Text != "The reports are too slow to load" {
		t.Errorf("after the correction: %+v", it)
	}

	// Group: refused without items, then into a new request, then into it again.
	if res := csm.submit("/feedback", "/feedback/group", url.Values{"title": {"Faster reports"}}); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(res.Body, "Tick at least one item to group.") {
		t.Errorf("group without items = %d", res.StatusCode)
	}
	var other string
	if err := s.db.QueryRow(`SELECT feedback_id FROM feedback WHERE request_id IS NULL AND feedback_id <> $1 ORDER BY feedback_id LIMIT 1`, id).Scan(&other); err != nil {
		t.Fatal(err)
	}
	res = csm.submit("/feedback", "/feedback/group", url.Values{"feedback_ids": {id}, "title": {"Faster reports"}, "category": {"performance"}})
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/product-requests/pr_") {
		t.Fatalf("group into a new request = %d to %s", res.StatusCode, res.Header.Get("Location"))
	}
	it, _ := feedback.Get(ctx, s.db, id)
	r, err := feedback.GetRequest(ctx, s.db, it.RequestID)
	if err != nil || r.Title != "Faster reports" || r.Category != "performance" {
		t.Fatalf("the new request: %+v, %v", r, err)
	}
	res = csm.submit("/feedback", "/feedback/group", url.Values{"feedback_ids": {other}, "request_id": {r.ID}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("group into the existing request = %d", res.StatusCode)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM feedback WHERE request_id = $1`, r.ID); n != 2 {
		t.Errorf("the request has %d items, want 2", n)
	}
	if res := csm.submit("/feedback", "/feedback/group", url.Values{"feedback_ids": {other}, "request_id": {"pr_nope"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("group into an unknown request = %d", res.StatusCode)
	}

	// A ticket becomes one item.
	var ticket, subject string
	if err := s.db.QueryRow(`SELECT ticket_id, subject FROM tickets WHERE subject <> '' ORDER BY ticket_id LIMIT 1`).Scan(&ticket, &subject); err != nil {
		t.Fatal(err)
	}
	if res := csm.submit("/feedback", "/feedback/from-ticket", url.Values{"ticket_id": {"T-nope"}}); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(res.Body, html.EscapeString(`no ticket "T-nope"`)) {
		t.Errorf("an unknown ticket = %d", res.StatusCode)
	}
	if res := csm.submit("/feedback", "/feedback/from-ticket", url.Values{"ticket_id": {ticket}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("from ticket = %d: %s", res.StatusCode, res.Body)
	}
	if it, err := feedback.Get(ctx, s.db, feedback.TicketItemID(ticket)); err != nil || it.Text != subject || it.Source != feedback.SourceTicket {
		t.Errorf("the ticket's item: %+v, %v", it, err)
	}
	if res := csm.submit("/feedback", "/feedback/from-ticket", url.Values{"ticket_id": {ticket}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("the same ticket again = %d", res.StatusCode)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM audit_log WHERE actor = 'user:csm@example.com' AND object_type IN ('feedback', 'product_request')`); n != 5 {
		t.Errorf("%d audit entries, want 5 (add, correct, new request, group, ticket)", n)
	}
}

// TestProductRequestPages: the ranking by count and by ARR as the package
// ranks, a request's page, a status change closing the loop, merging a
// duplicate and the FAQ candidates.
func TestProductRequestPages(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	ctx := context.Background()
	viewer, csm, manager := s.as(t, user.RoleViewer), s.as(t, user.RoleCSM), s.as(t, user.RoleManager)

	for _, sort := range []string{"count", "arr"} {
		list, err := feedback.Rank(ctx, s.db, feedback.RankOptions{Sort: sort})
		if err != nil || len(list) != 6 {
			t.Fatalf("Rank(%s) = %d requests, %v", sort, len(list), err)
		}
		body := viewer.get("/product-requests?sort=" + sort).Body
		last := -1
		for i, r := range list {
			at := strings.Index(body, `href="/product-requests/`+r.ID+`"`)
			if at < last {
				t.Errorf("by %s: %s (%d) is not after the request above it", sort, r.ID, i+1)
			}
			last = at
		}
	}

	res := viewer.get("/product-requests/pr_dark_mode")
	r, items, err := feedback.View(ctx, s.db, "pr_dark_mode", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || strings.Count(res.Body, "<td>Dark mode</td>") != len(items) || !strings.Contains(res.Body, "Released in version 4.2") ||
		len(r.AccountIDs) == 0 || !strings.Contains(res.Body, `href="/accounts/`+r.AccountIDs[0]+`"`) {
		t.Errorf("pr_dark_mode = %d, %d items", res.StatusCode, len(items))
	}
	if strings.Contains(res.Body, "Change the status") {
		t.Error("a viewer is offered the status form")
	}
	if res := csm.submit("/product-requests/pr_sso_okta", "/product-requests/pr_sso_okta/status", url.Values{"status": {"shipped"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a CSM's status change = %d", res.StatusCode)
	}
	if res := manager.submit("/product-requests/pr_sso_okta", "/product-requests/pr_sso_okta/status", url.Values{"status": {"done"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("status done = %d", res.StatusCode)
	}
	before := count(t, s, `SELECT COUNT(*) FROM deliveries`)
	res = manager.submit("/product-requests/pr_sso_okta", "/product-requests/pr_sso_okta/status", url.Values{"status": {"shipped"}, "note": {"SAML and Okta in 4.3."}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("ship = %d", res.StatusCode)
	}
	owners := count(t, s, `SELECT COUNT(DISTINCT LOWER(a.owner_email)) FROM feedback f JOIN accounts a ON a.account_id = f.account_id
		WHERE f.request_id = 'pr_sso_okta' AND a.owner_email <> ''`)
	if n := count(t, s, `SELECT COUNT(*) FROM deliveries WHERE subject = 'Shipped: SSO with Okta'`); owners == 0 || n != owners ||
		count(t, s, `SELECT COUNT(*) FROM deliveries`) != before+owners {
		t.Errorf("%d close-the-loop emails, want one per owner (%d)", n, owners)
	}
	if !strings.Contains(res.Header.Get("Location"), url.QueryEscape(fmt.Sprintf("Status: Shipped. %d owners emailed", owners))) {
		t.Errorf("the notice: %s", res.Header.Get("Location"))
	}

	if res := csm.submit("/product-requests/pr_pdf_export", "/product-requests/pr_pdf_export/merge", nil); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a merge of nothing = %d", res.StatusCode)
	}
	want := count(t, s, `SELECT COUNT(*) FROM feedback WHERE request_id IN ('pr_pdf_export', 'pr_salesforce_sync')`)
	if res := csm.submit("/product-requests/pr_pdf_export", "/product-requests/pr_pdf_export/merge", url.Values{"request_ids": {"pr_salesforce_sync"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("merge = %d: %s", res.StatusCode, res.Body)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM feedback WHERE request_id = 'pr_pdf_export'`); n != want {
		t.Errorf("after the merge pr_pdf_export has %d items, want %d", n, want)
	}
	if res := viewer.get("/product-requests/pr_salesforce_sync"); !strings.Contains(res.Body, `href="/product-requests/pr_pdf_export"`) {
		t.Error("the merged duplicate does not point to the kept request")
	}

	faq, err := feedback.FAQCandidates(ctx, s.db, time.Now(), 90, 30)
	if err != nil {
		t.Fatal(err)
	}
	res = viewer.get("/feedback/faq")
	if len(faq) == 0 || !strings.Contains(res.Body, fmt.Sprintf(`<td><strong>%s</strong></td>`, html.EscapeString(faq[0].Topic))) ||
		!strings.Contains(res.Body, fmt.Sprintf(`<td class="num">%d</td>`, faq[0].Count)) {
		t.Errorf("the FAQ page lacks the first candidate %+v", faq)
	}
	if res := viewer.get("/feedback/faq?days=0"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("days=0 = %d", res.StatusCode)
	}
}

package feedback_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/support"
	"github.com/kizuna-cs/kizuna/internal/user"
)

var now = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func TestClassify(t *testing.T) {
	for text, want := range map[string]string{
		"The dashboard is so slow to load":       "performance",
		"画面の表示が遅いです":                             "performance",
		"The new menu is confusing":              "ui_ux",
		"ボタンが分かりにくい":                             "ui_ux",
		"Support took three days to reply":       "support",
		"サポートの返信が早くて助かります":                       "support",
		"We would like a Salesforce integration": "feature",
		"CSVエクスポート機能が欲しい":                        "feature",
		"Great product, thanks":                  "other",
		"We build things":                        "other", // "ui" inside a word is no UI
	} {
		if got := feedback.Classify(text); got != want {
			t.Errorf("Classify(%q) = %s, want %s", text, got, want)
		}
	}
}

// requestFixture: accounts with current MRR (USD, the reporting currency)
//
//	a  1,000/month  ARR 12,000  owner kei (English)
//	b    500/month  ARR  6,000  owner kei
//	c  3,000/month  ARR 36,000  owner mia (Japanese)
//	d  none         ARR      0  no owner
//
// and items f1–f7.
func requestFixture(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	for id, a := range map[string]struct {
		owner string
		mrr   int64
	}{"a": {"kei@kizuna.example", 100000}, "b": {"kei@kizuna.example", 50000}, "c": {"mia@kizuna.example", 300000}, "d": {}} {
		if err := account.Upsert(ctx, db, account.Account{ID: id, Name: strings.ToUpper(id) + " Corp", OwnerEmail: a.owner}); err != nil {
			t.Fatal(err)
		}
		if a.mrr > 0 {
			if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s" + id, AccountID: id,
				Start: now.AddDate(-1, 0, 0), MRRMinor: a.mrr, Currency: "USD"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	mia, err := user.Create(ctx, db, "mia@kizuna.example", "Mia", user.RoleCSM, "a-long-password")
	if err != nil {
		t.Fatal(err)
	}
	if err := user.SetLanguage(ctx, db, mia.ID, "ja"); err != nil {
		t.Fatal(err)
	}
	for _, it := range []feedback.Item{
		{ID: "f1", AccountID: "a", Text: "Export to Excel"},
		{ID: "f2", AccountID: "a", Text: "Excel export please"},
		{ID: "f3", AccountID: "b", Text: "xlsx export"},
		{ID: "f4", AccountID: "d", Text: "export reports"},
		{ID: "f5", AccountID: "c", Text: "SAML single sign-on"},
		{ID: "f6", AccountID: "b", Text: "Dark mode"},
		{ID: "f7", AccountID: "d", Text: "A dark theme"},
		{ID: "f8", Text: "Night mode (from a conference, no account)"},
	} {
		it.Category, it.Source = "feature", feedback.SourceCSM
		if _, err := feedback.Create(ctx, db, it, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []struct {
		id, title string
		items     []string
	}{{"excel", "Excel export", []string{"f1", "f2", "f3", "f4"}}, {"sso", "SSO", []string{"f5"}}, {"dark", "Dark mode", []string{"f6", "f7", "f8"}}} {
		if _, err := feedback.CreateRequest(ctx, db, feedback.Request{ID: r.id, Title: r.title}, r.items, now); err != nil {
			t.Fatal(err)
		}
	}
}

type ranked struct {
	id       string
	items    int
	accounts int
	arr      float64
}

func rank(t *testing.T, db *store.DB, sort string) []ranked {
	t.Helper()
	list, err := feedback.Rank(context.Background(), db, feedback.RankOptions{Sort: sort, At: now})
	if err != nil {
		t.Fatal(err)
	}
	var out []ranked
	for _, r := range list {
		out = append(out, ranked{r.ID, r.Items, r.Accounts, r.ARR})
	}
	return out
}

func TestRankMergeAndCloseTheLoop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		requestFixture(t, db)
		// excel: 4 items from a, a, b, d: accounts a, b, d, ARR 12,000 + 6,000 + 0.
		// sso: 1 item from c: ARR 36,000. dark: 3 items from b, d and none: accounts b, d, ARR 6,000.
		byCount := []ranked{{"excel", 4, 3, 18000}, {"dark", 3, 2, 6000}, {"sso", 1, 1, 36000}}
		byARR := []ranked{{"sso", 1, 1, 36000}, {"excel", 4, 3, 18000}, {"dark", 3, 2, 6000}}
		if got := rank(t, db, "count"); !reflect.DeepEqual(got, byCount) {
			t.Errorf("by count %v\nwant %v", got, byCount)
		}
		if got := rank(t, db, "arr"); !reflect.DeepEqual(got, byARR) {
			t.Errorf("by ARR %v\nwant %v", got, byARR)
		}
		if _, err := feedback.Rank(ctx, db, feedback.RankOptions{Sort: "votes"}); err == nil {
			t.Error("sort by votes accepted")
		}

		// Merging dark into excel keeps every item: 7, from a, b, d and none; the ARR counts b once.
		if _, err := feedback.Merge(ctx, db, "excel", []string{"excel"}, nil, now); err == nil {
			t.Error("merged into itself")
		}
		if _, err := feedback.Merge(ctx, db, "excel", []string{"dark"}, nil, now); err != nil {
			t.Fatal(err)
		}
		if got, want := rank(t, db, "count"), []ranked{{"excel", 7, 3, 18000}, {"sso", 1, 1, 36000}}; !reflect.DeepEqual(got, want) {
			t.Errorf("after merge %v, want %v", got, want)
		}
		dark, err := feedback.GetRequest(ctx, db, "dark")
		if err != nil || dark.MergedInto != "excel" {
			t.Errorf("merged request %+v %v", dark, err)
		}
		var ie *feedback.InvalidError
		if _, err := feedback.Merge(ctx, db, "dark", []string{"sso"}, nil, now); !errors.As(err, &ie) || !strings.Contains(ie.Reason, "merged into excel") {
			t.Errorf("merge into a merged request: %v", err)
		}
		r, items, err := feedback.View(ctx, db, "excel", now)
		if err != nil || len(items) != 7 || r.Items != 7 || !reflect.DeepEqual(r.AccountIDs, []string{"a", "b", "d"}) {
			t.Errorf("view %+v, %d items, %v", r, len(items), err)
		}

		// Planned: nobody is told yet.
		_, _, loop, err := feedback.SetStatus(ctx, db, "excel", feedback.StatusPlanned, "", now)
		if err != nil || len(loop.DeliveryIDs) != 0 {
			t.Fatalf("planned: %+v %v", loop, err)
		}
		// Shipped: kei owns a and b (one email for both); d has no owner.
		_, after, loop, err := feedback.SetStatus(ctx, db, "excel", feedback.StatusShipped, "In release 4.2.", now)
		if err != nil || after.Status != "shipped" || after.StatusChangedAt == nil {
			t.Fatalf("shipped: %+v %v", after, err)
		}
		if !reflect.DeepEqual(loop.Owners, []string{"kei@kizuna.example"}) || !reflect.DeepEqual(loop.Unowned, []string{"d"}) || len(loop.DeliveryIDs) != 1 {
			t.Fatalf("loop %+v", loop)
		}
		d, err := notify.Get(ctx, db, loop.DeliveryIDs[0])
		wantBody := "The product request “Excel export” has shipped.\nIn release 4.2.\n\nYour accounts that asked for it:\n" +
			"- A Corp (2)\n- B Corp (2)\n\nLet them know: it shows them their feedback was heard.\n"
		if err != nil || d.Target != "kei@kizuna.example" || d.Subject != "Shipped: Excel export" || d.Body != wantBody || d.Status != notify.StatusPending {
			t.Errorf("close-the-loop email %+v %v", d, err)
		}
		// The same status again sends nothing more.
		if _, _, loop, _ := feedback.SetStatus(ctx, db, "excel", feedback.StatusShipped, "", now); len(loop.DeliveryIDs) != 0 {
			t.Errorf("shipped twice: %+v", loop)
		}
		// Declined sso: mia, in Japanese.
		_, _, loop, err = feedback.SetStatus(ctx, db, "sso", feedback.StatusDeclined, "", now)
		if err != nil || len(loop.DeliveryIDs) != 1 {
			t.Fatalf("declined: %+v %v", loop, err)
		}
		d, _ = notify.Get(ctx, db, loop.DeliveryIDs[0])
		if d.Target != "mia@kizuna.example" || d.Subject != "見送り: SSO" || !strings.Contains(d.Body, "製品要望「SSO」は見送りとなりました。") || !strings.Contains(d.Body, "- C Corp (1)") {
			t.Errorf("Japanese close-the-loop email %q %q", d.Subject, d.Body)
		}
		if _, _, _, err := feedback.SetStatus(ctx, db, "sso", "done", "", now); !errors.As(err, &ie) || ie.Field != "status" {
			t.Errorf("status done: %v", err)
		}
	})
}

func TestItemsAndTickets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		requestFixture(t, db)
		if err := support.UpsertTicket(ctx, db, support.Ticket{ID: "t1", AccountID: "c", OpenedAt: now.AddDate(0, 0, -3),
			Subject: "Reports page is slow", Category: "performance"}); err != nil {
			t.Fatal(err)
		}
		it, err := feedback.FromTicket(ctx, db, "t1", "", now)
		if err != nil || it.ID != "fb_t_t1" || it.AccountID != "c" || it.Category != "performance" || it.Source != "ticket" ||
			it.Text != "Reports page is slow" || !it.CreatedAt.Equal(now.AddDate(0, 0, -3)) {
			t.Fatalf("from ticket %+v %v", it, err)
		}
		if _, err := feedback.FromTicket(ctx, db, "t1", "", now); !errors.Is(err, feedback.ErrExists) {
			t.Errorf("ticket twice: %v", err)
		}
		var ie *feedback.InvalidError
		if _, err := feedback.FromTicket(ctx, db, "t9", "", now); !errors.As(err, &ie) || ie.Field != "ticket_id" {
			t.Errorf("unknown ticket: %v", err)
		}
		for _, tc := range []struct {
			item  feedback.Item
			field string
		}{
			{feedback.Item{Text: " ", Category: "feature"}, "text"},
			{feedback.Item{Text: "x", Category: "wishes"}, "category"},
			{feedback.Item{Text: "x", Category: "feature", RequestID: "nope"}, "request_id"},
		} {
			if _, err := feedback.Create(ctx, db, tc.item, now); !errors.As(err, &ie) || ie.Field != tc.field {
				t.Errorf("create %+v: %v, want an error on %s", tc.item, err, tc.field)
			}
		}
		_, after, err := feedback.Update(ctx, db, feedback.Item{ID: "fb_t_t1", Category: "ui_ux", Text: "Reports page is slow", RequestID: "sso"}, now)
		if err != nil || after.Category != "ui_ux" || after.RequestID != "sso" {
			t.Errorf("update %+v %v", after, err)
		}
		got, err := feedback.Search(ctx, db, feedback.Filter{RequestID: "sso"})
		if err != nil || len(got) != 2 {
			t.Errorf("sso items %+v %v", got, err)
		}
		if none, _ := feedback.Search(ctx, db, feedback.Filter{Ungrouped: true}); len(none) != 0 {
			t.Errorf("ungrouped %+v", none)
		}
	})
}

func TestFAQCandidates(t *testing.T) {
	if got, want := feedback.Topics("Re: Password reset link expired (#4411)"), []string{"password", "reset", "link", "expired"}; !reflect.DeepEqual(got, want) {
		t.Errorf("topics %v, want %v", got, want)
	}
	if got, want := feedback.Topics("ＣＳＶのインポートでエラーが出ます"), []string{"csv", "インポート", "エラー"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Japanese topics %v, want %v", got, want)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "A"}); err != nil {
			t.Fatal(err)
		}
		for i, tk := range []struct {
			days     int
			subject  string
			category string
		}{
			{1, "Password reset link expired", "login"},
			{5, "How do I reset my password?", "login"},
			{20, "Password reset email never arrives", "login"},
			{30, "CSVのインポートでエラー", "import"},
			{40, "CSV インポート 失敗", "import"},
			{60, "Invoice address change", "billing"},
			{120, "Password reset again", "login"}, // older than 90 days
		} {
			if err := support.UpsertTicket(ctx, db, support.Ticket{ID: "t" + string(rune('a'+i)), AccountID: "a",
				OpenedAt: now.AddDate(0, 0, -tk.days), Subject: tk.subject, Category: tk.category}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := feedback.FAQCandidates(ctx, db, now, 90, 5)
		if err != nil {
			t.Fatal(err)
		}
		type c struct {
			topic, kind string
			count       int
		}
		var short []c
		for _, x := range got {
			short = append(short, c{x.Topic, x.Kind, x.Count})
		}
		want := []c{{"login", "category", 3}, {"password", "word", 3}, {"reset", "word", 3}, {"import", "category", 2}, {"csv", "word", 2}}
		if !reflect.DeepEqual(short, want) {
			t.Errorf("candidates %v\nwant %v", short, want)
		}
		if ex := got[1].Examples; !reflect.DeepEqual(ex, []string{"Password reset link expired", "How do I reset my password?", "Password reset email never arrives"}) {
			t.Errorf("examples %q", ex)
		}
	})
}

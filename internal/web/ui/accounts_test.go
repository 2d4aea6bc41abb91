package ui_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/lifecycle"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/session"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
	"github.com/kizuna-cs/kizuna/internal/web"
)

var matchCountRe = regexp.MustCompile(`([\d,]+) accounts match`)

// matchCount is the "N accounts match" of a list page; 0 for "No account matches."
func matchCount(t *testing.T, body string) int {
	t.Helper()
	if strings.Contains(body, "No account matches.") {
		return 0
	}
	m := matchCountRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no count on the page: %.2000s", body)
	}
	n, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	return n
}

// exportRows fetches /accounts.csv with query and returns its records by
// column name, checking the header.
func exportRows(t *testing.T, b *browser, query string) []map[string]string {
	t.Helper()
	res := b.get("/accounts.csv?" + query)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("GET /accounts.csv?%s = %d %s: %.300s", query, res.StatusCode, res.Header.Get("Content-Type"), res.Body)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(res.Body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := "account_id,name,owner_email,plan,mrr,arr,currency,touch_tier,health_score,health_band,churn_risk,stage,stage_entered_at,renewal_date,segments"
	if len(recs) == 0 || strings.Join(recs[0], ",") != want {
		t.Fatalf("CSV header = %v", recs)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, k := range recs[0] {
			m[k] = r[i]
		}
		out = append(out, m)
	}
	return out
}

var rowBandRe = regexp.MustCompile(`<td><span class="tag (band-[a-z]+)">`)

func TestAccountsList(t *testing.T) {
	storetest.Each(t, testAccountsList)
}

func testAccountsList(t *testing.T, db *store.DB) {
	s := demoSite(t, db)
	b := s.as(t, user.RoleViewer)
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := s.db.QueryRow(query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var total int = count(`SELECT COUNT(*) FROM accounts`)
	var owner, segID, name string
	if err := s.db.QueryRow(`SELECT owner_email FROM accounts WHERE owner_email IS NOT NULL GROUP BY owner_email ORDER BY COUNT(*) DESC, owner_email LIMIT 1`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(`SELECT segment_id FROM segment_members GROUP BY segment_id ORDER BY COUNT(*) DESC, segment_id LIMIT 1`).Scan(&segID); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(`SELECT name FROM accounts WHERE name <> '' ORDER BY account_id LIMIT 1`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	word := strings.ToLower(strings.Fields(name)[0])
	// The demo site trains no churn model: store three scores.
	risky := []churn.Risk{{AccountID: nthAccount(t, s, 0), Probability: 0.9}, {AccountID: nthAccount(t, s, 1), Probability: 0.5},
		{AccountID: nthAccount(t, s, 2), Probability: 0.125}}
	if _, err := churn.StoreScores(context.Background(), s.db, risky, demoDay, demoDay); err != nil {
		t.Fatal(err)
	}
	// The demo's starter plans run month to month (open periods): give
	// three of them a renewal, 10, 20 and 30 days out, in reverse id order.
	var renewing []string
	rows, err := s.db.Query(`SELECT DISTINCT account_id FROM subscription_periods WHERE end_at IS NULL AND start_at < $1
		ORDER BY account_id LIMIT 3`, time.Now().Unix())
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		renewing = append(renewing, id)
	}
	rows.Close()
	if len(renewing) != 3 {
		t.Fatalf("open periods of %v", renewing)
	}
	slices.Reverse(renewing)
	day := func(n int) time.Time { return time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, n) }
	for i, id := range renewing {
		if _, err := s.db.Exec(`UPDATE subscription_periods SET end_at = $1 WHERE account_id = $2 AND end_at IS NULL`, day(10*(i+1)).Unix(), id); err != nil {
			t.Fatal(err)
		}
	}
	// Low touch is an ARR of 10,000 up to 100,000 (the default thresholds).
	lowTouch := 0
	for _, r := range exportRows(t, b, "") {
		if arr, _ := strconv.ParseFloat(r["arr"], 64); arr >= 10000 && arr < 100000 {
			lowTouch++
		}
	}

	t.Run("filters", func(t *testing.T) {
		for _, tt := range []struct {
			name, query string
			want        int
			row         func(r map[string]string) bool // every exported row satisfies it
		}{
			{"all", "", total, nil},
			{"band red", "band=red", count(`SELECT COUNT(*) FROM health_current WHERE band = 'red'`),
				func(r map[string]string) bool { return r["health_band"] == "red" }},
			{"band green", "band=green", count(`SELECT COUNT(*) FROM health_current WHERE band = 'green'`),
				func(r map[string]string) bool { return r["health_band"] == "green" }},
			{"no score", "band=none", count(`SELECT COUNT(*) FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM health_current h WHERE h.account_id = a.account_id)`),
				func(r map[string]string) bool { return r["health_band"] == "" && r["health_score"] == "" }},
			{"owner", "owner=" + url.QueryEscape(owner), count(`SELECT COUNT(*) FROM accounts WHERE owner_email = $1`, owner),
				func(r map[string]string) bool { return r["owner_email"] == owner }},
			{"unassigned", "owner=none", count(`SELECT COUNT(*) FROM accounts WHERE owner_email IS NULL OR owner_email = ''`),
				func(r map[string]string) bool { return r["owner_email"] == "" }},
			{"stage", "stage=adoption", count(`SELECT COUNT(*) FROM account_stages WHERE stage_id = 'adoption'`),
				func(r map[string]string) bool { return r["stage"] == "adoption" }},
			{"segment", "segment=" + segID, count(`SELECT COUNT(*) FROM segment_members WHERE segment_id = $1`, segID),
				func(r map[string]string) bool { return slices.Contains(strings.Fields(r["segments"]), segID) }},
			{"search", "q=" + url.QueryEscape(strings.ToUpper(word)),
				count(`SELECT COUNT(*) FROM accounts WHERE LOWER(name) LIKE $1 OR LOWER(account_id) LIKE $1`, "%"+word+"%"),
				func(r map[string]string) bool {
					return strings.Contains(strings.ToLower(r["name"]), word) || strings.Contains(r["account_id"], word)
				}},
			{"red and owned", "band=red&owner=" + url.QueryEscape(owner),
				count(`SELECT COUNT(*) FROM accounts a JOIN health_current h ON h.account_id = a.account_id WHERE h.band = 'red' AND a.owner_email = $1`, owner),
				func(r map[string]string) bool { return r["health_band"] == "red" && r["owner_email"] == owner }},
			{"low touch", "tier=low", lowTouch, func(r map[string]string) bool {
				arr, err := strconv.ParseFloat(r["arr"], 64)
				return err == nil && arr >= 10000 && arr < 100000 && r["touch_tier"] == "low"
			}},
			{"nothing", "q=no-such-account-anywhere", 0, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res := b.get("/accounts?" + tt.query)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("GET /accounts?%s = %d: %.500s", tt.query, res.StatusCode, res.Body)
				}
				got := matchCount(t, res.Body)
				if got != tt.want {
					t.Errorf("%d accounts match, want %d", got, tt.want)
				}
				if tt.want != 0 && got == 0 {
					t.Errorf("the filter matches nothing in the demo; the test proves nothing")
				}
				if shown := strings.Count(res.Body, `<tr>`) - 1; got > 0 && shown != min(got, 50) {
					t.Errorf("the page shows %d rows of %d matches", shown, got)
				}
				if strings.HasPrefix(tt.query, "band=red") {
					for _, m := range rowBandRe.FindAllStringSubmatch(res.Body, -1) {
						if m[1] != "band-red" {
							t.Errorf("a row of the red filter has %s", m[1])
						}
					}
				}
				rows := exportRows(t, b, tt.query)
				if len(rows) != got {
					t.Errorf("the export has %d rows; the page counts %d", len(rows), got)
				}
				for _, r := range rows {
					if tt.row != nil && !tt.row(r) {
						t.Errorf("exported row does not match the filter: %v", r)
						break
					}
				}
			})
		}
	})

	t.Run("sorting", func(t *testing.T) {
		num := func(s string) float64 {
			if s == "" {
				return -1
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("not a number: %q", s)
			}
			return v
		}
		renewal := func(r map[string]string) float64 {
			if r["renewal_date"] == "" {
				return -1
			}
			d, _ := time.Parse(time.DateOnly, r["renewal_date"])
			return float64(d.Unix())
		}
		for _, tt := range []struct {
			query string
			key   func(r map[string]string) float64
			desc  bool
		}{
			{"sort=arr&dir=desc", func(r map[string]string) float64 { return num(r["arr"]) }, true},
			{"sort=health", func(r map[string]string) float64 { return num(r["health_score"]) }, false},
			{"sort=health&dir=desc", func(r map[string]string) float64 { return num(r["health_score"]) }, true},
			{"sort=renewal", renewal, false},
			{"sort=renewal&dir=desc", renewal, true},
		} {
			t.Run(tt.query, func(t *testing.T) {
				rows := exportRows(t, b, tt.query)
				if len(rows) != total {
					t.Fatalf("%d rows, want %d", len(rows), total)
				}
				seenMissing := false
				for i := 1; i < len(rows); i++ {
					prev, cur := tt.key(rows[i-1]), tt.key(rows[i])
					switch {
					case cur == -1:
						seenMissing = true
					case seenMissing:
						t.Fatalf("row %d has a value after rows without one: %v", i, rows[i])
					case tt.desc && cur > prev, !tt.desc && cur < prev && prev != -1:
						t.Fatalf("rows %d and %d out of order: %v then %v", i-1, i, prev, cur)
					}
				}
			})
		}
		// The yearly contracts of the demo renew on other days, so the
		// planted three are found by id; the loop above checked the order.
		up, down := exportRows(t, b, "sort=renewal"), exportRows(t, b, "sort=renewal&dir=desc")
		rowOf := func(rows []map[string]string, id string) int {
			return slices.IndexFunc(rows, func(r map[string]string) bool { return r["account_id"] == id })
		}
		for i, id := range renewing {
			want := day(10 * (i + 1)).Format(time.DateOnly)
			u, d := rowOf(up, id), rowOf(down, id)
			if u < 0 || up[u]["renewal_date"] != want || d < 0 || down[d]["renewal_date"] != want {
				t.Errorf("renewal of %s: row %d ascending, %d descending (%v); want it on %s", id, u, d, up[max(u, 0)], want)
			}
			if i > 0 && (u <= rowOf(up, renewing[i-1]) || d >= rowOf(down, renewing[i-1])) {
				t.Errorf("%s (renewing on %s) not after %s ascending and before it descending", id, want, renewing[i-1])
			}
		}
		if up[0]["renewal_date"] == "" || down[0]["renewal_date"] == "" || up[len(up)-1]["renewal_date"] != "" || down[len(down)-1]["renewal_date"] != "" {
			t.Errorf("accounts without a renewal do not come last")
		}
		byRisk := exportRows(t, b, "sort=churn&dir=desc")
		for i, r := range risky {
			if got := byRisk[i]; got["account_id"] != r.AccountID || got["churn_risk"] != strconv.FormatFloat(r.Probability, 'f', -1, 64) {
				t.Errorf("riskiest #%d = %v, want %s at %v", i+1, got, r.AccountID, r.Probability)
			}
		}
		if byRisk[3]["churn_risk"] != "" {
			t.Errorf("an unscored account is not last: %v", byRisk[3])
		}
		rows := exportRows(t, b, "sort=name")
		for i := 1; i < len(rows); i++ {
			if strings.ToLower(rows[i-1]["name"]) > strings.ToLower(rows[i]["name"]) {
				t.Fatalf("by name, %q comes before %q", rows[i-1]["name"], rows[i]["name"])
			}
		}
		// The header that sorts the list links to the other direction.
		res := b.get("/accounts?sort=arr&dir=desc")
		if !strings.Contains(res.Body, `aria-sort="descending"><a href="?dir=asc&amp;sort=arr">`) {
			t.Errorf("the ARR header does not offer ascending: %.3000s", res.Body)
		}
	})

	t.Run("pages", func(t *testing.T) {
		all := exportRows(t, b, "sort=arr&dir=desc")
		p2 := b.get("/accounts?sort=arr&dir=desc&page=2")
		if p2.StatusCode != http.StatusOK || !strings.Contains(p2.Body, fmt.Sprintf("showing 51–%d.", min(100, total))) {
			t.Fatalf("page 2 = %d: %.500s", p2.StatusCode, p2.Body)
		}
		// Page 2 starts with the 51st account of the whole ordered list.
		if want := `href="/accounts/` + all[50]["account_id"] + `"`; !strings.Contains(p2.Body, want) {
			t.Errorf("page 2 does not show %s", all[50]["account_id"])
		}
		if strings.Contains(p2.Body, `href="/accounts/`+all[49]["account_id"]+`"`) {
			t.Errorf("page 2 shows page 1's last account")
		}
		if !strings.Contains(p2.Body, `href="?dir=desc&amp;page=1&amp;sort=arr" rel="prev"`) {
			t.Errorf("page 2 has no link to page 1")
		}
		pages := (total + 49) / 50
		if res := b.get(fmt.Sprintf("/accounts?page=%d", pages+1)); res.StatusCode != http.StatusNotFound {
			t.Errorf("page past the end = %d", res.StatusCode)
		}
	})

	t.Run("bad parameters", func(t *testing.T) {
		for _, tt := range []struct{ query, msg string }{
			{"sort=size", `sort: &#34;size&#34; is not one of name, arr, health, renewal, churn.`},
			{"dir=up", `dir: &#34;up&#34; is not one of asc, desc.`},
			{"band=purple", `band: &#34;purple&#34; is not one of green, yellow, red, none.`},
			{"tier=gold", `tier: &#34;gold&#34; is not one of high, low, tech.`},
			{"page=0", `page: &#34;0&#34; is not a page number (1 or more).`},
		} {
			res := b.get("/accounts?" + tt.query)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, tt.msg) {
				t.Errorf("?%s = %d, want 400 with %q: %.300s", tt.query, res.StatusCode, tt.msg, res.Body)
			}
		}
	})

	t.Run("export", func(t *testing.T) {
		res := b.get("/accounts.csv?band=red&page=3")
		if !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") || strings.HasPrefix(res.Body, "\ufeff") {
			t.Errorf("English export: %q, BOM %v", res.Header.Get("Content-Disposition"), strings.HasPrefix(res.Body, "\ufeff"))
		}
		// The page parameter of the view does not limit the export.
		if rows := exportRows(t, b, "band=red&page=3"); len(rows) != count(`SELECT COUNT(*) FROM health_current WHERE band = 'red'`) {
			t.Errorf("export of a page has %d rows", len(rows))
		}
		// The list links to the export of the same view.
		page := b.get("/accounts?band=red&sort=arr&dir=desc")
		if !strings.Contains(page.Body, `href="/accounts.csv?band=red&amp;dir=desc&amp;sort=arr"`) {
			t.Errorf("no export link for the view")
		}
	})

	t.Run("signed out", func(t *testing.T) {
		for _, p := range []string{"/accounts", "/accounts.csv"} {
			if res := s.anon(t).get(p); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
				t.Errorf("GET %s signed out = %d %s", p, res.StatusCode, res.Header.Get("Location"))
			}
		}
	})

	t.Run("japanese", func(t *testing.T) {
		ja := s.as(t, user.RoleViewer)
		ja.submit("/accounts", "/me/language", url.Values{"language": {"ja"}, "next": {"/accounts"}})
		res := ja.get("/accounts?band=red")
		if !strings.Contains(res.Body, `<html lang="ja">`) || !strings.Contains(res.Body, "<h1>取引先</h1>") ||
			!strings.Contains(res.Body, "件の取引先が該当します") || !strings.Contains(res.Body, `<span class="tag band-red">危険</span>`) {
			t.Errorf("the Japanese list: %.3000s", res.Body)
		}
		csvRes := ja.get("/accounts.csv?band=red")
		if !strings.HasPrefix(csvRes.Body, "\ufeffaccount_id,") {
			t.Errorf("the Japanese export has no BOM: %.40q", csvRes.Body)
		}
	})
}

// nthAccount is the account id at position i of the id order.
func nthAccount(t *testing.T, s *site, i int) string {
	t.Helper()
	var id string
	if err := s.db.QueryRow(`SELECT account_id FROM accounts ORDER BY account_id LIMIT 1 OFFSET $1`, i).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// grouped writes n with thousands separators, as both locales do.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func TestAccountPage(t *testing.T) {
	storetest.Each(t, testAccountPage)
}

func testAccountPage(t *testing.T, db *store.DB) {
	s := demoSite(t, db)
	now := time.Now().Unix()
	// A customer billed only in yen, with a score and an owner.
	var id, name, owner, band, plan string
	var score float64
	var yen int64
	err := s.db.QueryRow(`SELECT a.account_id, a.name, a.owner_email, h.band, h.score,
			(SELECT CAST(SUM(p.mrr_minor) AS BIGINT) FROM subscription_periods p WHERE p.account_id = a.account_id AND p.start_at <= $1 AND (p.end_at IS NULL OR p.end_at > $1)),
			(SELECT p.plan FROM subscription_periods p WHERE p.account_id = a.account_id AND p.start_at <= $1 AND (p.end_at IS NULL OR p.end_at > $1) ORDER BY p.mrr_minor DESC LIMIT 1)
		FROM accounts a JOIN health_current h ON h.account_id = a.account_id
		WHERE a.owner_email IS NOT NULL
			AND EXISTS (SELECT 1 FROM subscription_periods p WHERE p.account_id = a.account_id AND p.start_at <= $1 AND (p.end_at IS NULL OR p.end_at > $1))
			AND NOT EXISTS (SELECT 1 FROM subscription_periods p WHERE p.account_id = a.account_id AND p.currency <> 'JPY')
		ORDER BY a.account_id LIMIT 1`, now).Scan(&id, &name, &owner, &band, &score, &yen, &plan)
	if err != nil {
		t.Fatalf("a yen customer in the demo: %v", err)
	}
	page := "/accounts/" + id
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := s.db.QueryRow(query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// The stored churn risk (issue 7) shows with its reasons.
	t.Run("churn risk", func(t *testing.T) {
		risk := []churn.Risk{{AccountID: id, Probability: 0.37, Reasons: []churn.Reason{{Feature: "low_seat_utilization", Value: 1, Contribution: 0.84}}}}
		if _, err := churn.StoreScores(context.Background(), s.db, risk, demoDay, demoDay); err != nil {
			t.Fatal(err)
		}
		body := s.as(t, user.RoleViewer).get(page).Body
		for _, want := range []string{`<div class="value">37.0%</div>`, "low_seat_utilization = 1.00", "log-odds &#43;0.84"} {
			if !strings.Contains(body, want) {
				t.Errorf("the account page lacks %q", want)
			}
		}
	})

	t.Run("shows the account", func(t *testing.T) {
		b := s.as(t, user.RoleViewer)
		res := b.get(page)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d: %.500s", page, res.StatusCode, res.Body)
		}
		var note, ticket string
		if err := s.db.QueryRow(`SELECT body FROM notes WHERE account_id = $1 ORDER BY occurred_at DESC LIMIT 1`, id).Scan(&note); err != nil {
			t.Fatal(err)
		}
		if err := s.db.QueryRow(`SELECT subject FROM tickets WHERE account_id = $1 ORDER BY opened_at DESC LIMIT 1`, id).Scan(&ticket); err != nil {
			t.Fatal(err)
		}
		var subs []string
		rows, err := s.db.Query(`SELECT DISTINCT subscription_id FROM subscription_periods WHERE account_id = $1`, id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var sub string
			rows.Scan(&sub)
			subs = append(subs, sub)
		}
		rows.Close()
		want := []string{
			"<h1>" + template(name) + "</h1>",
			"Account ID: " + id,
			fmt.Sprintf(`%.0f <span class="tag band-%s">%s</span>`, score, band, band),
			"<dt>Plan</dt><dd>" + plan + "</dd>",
			"<dt>Owner</dt><dd>" + owner + "</dd>",
			"¥" + grouped(yen) + "</div>",        // the MRR in the account's currency
			"¥" + grouped(12*yen) + "</div>",     // and the ARR
			"MRR at the end of each month (USD)", // in the reporting currency
			"Events per week, last 13 weeks",
			template(note), template(ticket),
			`<a href="/accounts/` + id + `" aria-current="page">Overview</a>`,
		}
		for _, sub := range subs {
			want = append(want, "<td>"+sub)
		}
		for _, w := range want {
			if !strings.Contains(res.Body, w) {
				t.Errorf("the page lacks %q", w)
			}
		}
		// The Plan tab appears only when that page exists.
		hasPlan := b.get(page+"/plan").StatusCode != http.StatusNotFound
		if got := strings.Contains(res.Body, `href="/accounts/`+id+`/plan"`); got != hasPlan {
			t.Errorf("Plan tab shown = %v, plan page exists = %v", got, hasPlan)
		}
		// A viewer sees no forms.
		if strings.Contains(res.Body, `action="/accounts/`+id+`/notes"`) {
			t.Errorf("a viewer gets the note form")
		}
		if res := b.get("/accounts/no-such-account"); res.StatusCode != http.StatusNotFound || !strings.Contains(res.Body, "There is no account &#34;no-such-account&#34;.") {
			t.Errorf("unknown account = %d: %.300s", res.StatusCode, res.Body)
		}
	})

	// The history keeps the days a score changed: a score unchanged since
	// its first, days ago, says so rather than reading as a first score.
	t.Run("unchanged score", func(t *testing.T) {
		var one string
		var first int64
		if err := s.db.QueryRow(`SELECT h.account_id, MIN(h.day) FROM health_scores h GROUP BY h.account_id
			HAVING COUNT(*) = 1 ORDER BY h.account_id LIMIT 1`).Scan(&one, &first); err != nil {
			t.Fatalf("an account scored once: %v", err)
		}
		b := s.as(t, user.RoleViewer)
		if body := b.get("/accounts/" + one).Body; !strings.Contains(body, "This is the first score.") {
			t.Errorf("a first score's page lacks %q", "This is the first score.")
		}
		if _, err := s.db.Exec(`UPDATE health_current SET day = day + 3 WHERE account_id = $1`, one); err != nil {
			t.Fatal(err)
		}
		defer s.db.Exec(`UPDATE health_current SET day = day - 3 WHERE account_id = $1`, one)
		body := b.get("/accounts/" + one).Body
		want := "Unchanged since the first score, on " + time.Unix(first*86400, 0).UTC().Format("2 Jan 2006") + "."
		if !strings.Contains(body, want) || strings.Contains(body, "This is the first score.") {
			t.Errorf("three days after an unchanged first score, the page lacks %q", want)
		}
	})

	// A daily recompute keeps an unchanged score's row (and its values):
	// the page says whose day the values are and through which day the
	// score holds.
	t.Run("values of an earlier day", func(t *testing.T) {
		var day int64
		if err := s.db.QueryRow(`SELECT day FROM health_current WHERE account_id = $1`, id).Scan(&day); err != nil {
			t.Fatal(err)
		}
		b := s.as(t, user.RoleViewer)
		if body := b.get(page).Body; strings.Contains(body, "The values are those of") {
			t.Errorf("a score of the latest run's day says its values are of an earlier day")
		}
		var was string
		if err := s.db.QueryRow(`SELECT value FROM settings WHERE key = 'health_scored_through'`).Scan(&was); err != nil {
			t.Fatalf("the demo's recompute recorded no day scored through: %v", err)
		}
		if _, err := s.db.Exec(`UPDATE settings SET value = $1 WHERE key = 'health_scored_through'`, fmt.Sprint(day+5)); err != nil {
			t.Fatal(err)
		}
		defer s.db.Exec(`UPDATE settings SET value = $1 WHERE key = 'health_scored_through'`, was)
		format := func(d int64) string { return time.Unix(d*86400, 0).UTC().Format("2 Jan 2006") }
		want := "The values are those of " + format(day) + ": the score has not changed through " + format(day+5) + "."
		if body := b.get(page).Body; !strings.Contains(body, want) {
			t.Errorf("five days on, the page lacks %q", want)
		}
	})

	t.Run("japanese", func(t *testing.T) {
		b := s.as(t, user.RoleAdmin) // the other subtests need csm@ in English
		b.submit("/me", "/me/language", url.Values{"language": {"ja"}, "next": {"/me"}})
		res := b.get(page)
		for _, w := range []string{`<html lang="ja">`, "¥" + grouped(yen) + "</div>", "タイムライン", "機能別の利用状況", "メモを追加"} {
			if !strings.Contains(res.Body, w) {
				t.Errorf("the Japanese page lacks %q", w)
			}
		}
		if strings.Contains(res.Body, "¥"+grouped(yen)+".") {
			t.Errorf("yen shown with decimals")
		}
	})

	t.Run("roles and CSRF", func(t *testing.T) {
		before := count(`SELECT COUNT(*) FROM notes WHERE account_id = $1`, id)
		viewer := s.as(t, user.RoleViewer)
		if res := viewer.submit("/me", page+"/notes", url.Values{"kind": {"note"}, "body": {"hello"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("a viewer's note = %d", res.StatusCode)
		}
		csm := s.as(t, user.RoleCSM)
		if res := csm.post(page+"/notes", url.Values{"kind": {"note"}, "body": {"hello"}}); res.StatusCode != http.StatusForbidden ||
			!strings.Contains(res.Body, "This form has expired") {
			t.Errorf("a note without the token = %d", res.StatusCode)
		}
		if n := count(`SELECT COUNT(*) FROM notes WHERE account_id = $1`, id); n != before {
			t.Errorf("refused posts added %d notes", n-before)
		}
	})

	t.Run("actions", func(t *testing.T) {
		csm := s.as(t, user.RoleCSM)
		for _, tt := range []struct {
			name, path string
			form       url.Values
			msgs       []string // beside the fields, on a 422 page
		}{
			{"empty note", "/notes", url.Values{"kind": {"note"}, "body": {"  "}}, []string{"Write the note."}},
			{"unknown kind", "/notes", url.Values{"kind": {"fax"}, "body": {"x"}}, []string{"Choose the kind of entry."}},
			{"owner not a CSM", "/owner", url.Values{"owner": {"viewer@example.com"}},
				[]string{"viewer@example.com cannot own accounts: an owner must be a user with the role csm or manager."}},
			{"no owner", "/owner", url.Values{"owner": {""}}, []string{"Choose the new owner."}},
			{"override without anything", "/override", url.Values{"reason": {"kept text"}}, []string{"Give a score or a band."}},
			{"override with both", "/override", url.Values{"score": {"40"}, "band": {"red"}, "reason": {"x"}}, []string{"Give a score or a band, not both."}},
			{"override out of range", "/override", url.Values{"score": {"150"}}, []string{"The score must be a number from 0 to 100.", "Say why: a reason is required."}},
			{"override in the past", "/override", url.Values{"band": {"red"}, "reason": {"x"}, "expires": {"2020-01-01"}}, []string{"The expiry date must be after today."}},
			{"task without title", "/tasks", url.Values{"title": {""}}, []string{"Give the task a title."}},
			{"task with a bad date", "/tasks", url.Values{"title": {"Call"}, "due": {"2026-13-01"}}, []string{"Give the due date as YYYY-MM-DD."}},
			{"task for a stranger", "/tasks", url.Values{"title": {"Call"}, "assignee": {"nobody@example.com"}}, []string{"nobody@example.com is not a user of Kizuna."}},
			{"task with a bad priority", "/tasks", url.Values{"title": {"Call"}, "priority": {"asap"}}, []string{"Choose a priority."}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res := csm.submit(page, page+tt.path, tt.form)
				if res.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("= %d, want 422: %.300s", res.StatusCode, res.Body)
				}
				for _, m := range tt.msgs {
					if !strings.Contains(res.Body, `class="field-error"`) || !strings.Contains(res.Body, template(m)) {
						t.Errorf("no message %q", m)
					}
				}
			})
		}
		// What was typed stays in the refused form.
		res := csm.submit(page, page+"/override", url.Values{"reason": {"kept text"}})
		if !strings.Contains(res.Body, ">kept text</textarea>") {
			t.Errorf("the refused override lost its reason")
		}
		if n := count(`SELECT COUNT(*) FROM audit_log WHERE object_id = $1 OR object_type IN ('note', 'task')`, id); n != 0 {
			t.Errorf("refused forms wrote %d audit entries", n)
		}

		res = csm.submit(page, page+"/notes", url.Values{"kind": {"call"}, "body": {"Talked about the renewal <soon>."}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != page+"?notice=Note+added." {
			t.Fatalf("add note = %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		if got := csm.get(page).Body; !strings.Contains(got, "Talked about the renewal &lt;soon&gt;.") {
			t.Errorf("the note is not on the timeline")
		}
		// The redirect's notice shows (its cookie vouches for it); a notice
		// in a link from elsewhere does not.
		if got := csm.get(res.Header.Get("Location")).Body; !strings.Contains(got, `<p class="notice" role="status">Note added.</p>`) {
			t.Errorf("the notice of the redirect is not shown")
		}
		if got := csm.get(page + "?notice=Your+account+is+suspended.").Body; strings.Contains(got, `role="status">Your account`) {
			t.Errorf("a forged notice is shown")
		}
		if n := count(`SELECT COUNT(*) FROM notes n JOIN audit_log l ON l.object_type = 'note' AND l.object_id = n.note_id
			WHERE n.account_id = $1 AND n.kind = 'call' AND n.author_email = 'csm@example.com' AND l.actor = 'user:csm@example.com'`, id); n != 1 {
			t.Errorf("%d audited call notes, want 1", n)
		}

		res = csm.submit(page, page+"/tasks", url.Values{"title": {"Prepare the QBR"}, "due": {"2027-01-15"}, "priority": {"high"}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("create task = %d: %.300s", res.StatusCode, res.Body)
		}
		var assignee, priority string
		var due int64
		if err := s.db.QueryRow(`SELECT assignee, priority, due_at FROM tasks WHERE account_id = $1 AND title = 'Prepare the QBR'`, id).Scan(&assignee, &priority, &due); err != nil {
			t.Fatal(err)
		}
		if assignee != owner || priority != "high" || due != time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC).Unix() {
			t.Errorf("task assignee %q priority %q due %d; want the owner %q, high, 2027-01-15", assignee, priority, due, owner)
		}
		if got := csm.get(page).Body; !strings.Contains(got, "<strong>Prepare the QBR</strong>") || !strings.Contains(got, "due 15 Jan 2027") {
			t.Errorf("the task is not in the task list")
		}
		if n := count(`SELECT COUNT(*) FROM audit_log WHERE object_type = 'task' AND action = 'create'`); n != 1 {
			t.Errorf("%d task audit entries, want 1", n)
		}

		res = csm.submit(page, page+"/override", url.Values{"band": {"red"}, "reason": {"Champion left"}, "expires": {"2099-01-01"}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("override = %d: %.300s", res.StatusCode, res.Body)
		}
		var obBand, reason, author string
		var expires int64
		if err := s.db.QueryRow(`SELECT band, reason, author, expires_at FROM health_overrides WHERE account_id = $1`, id).Scan(&obBand, &reason, &author, &expires); err != nil {
			t.Fatal(err)
		}
		if obBand != "red" || reason != "Champion left" || author != "csm@example.com" || expires != time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).Unix() {
			t.Errorf("override %q %q %q %d", obBand, reason, author, expires)
		}
		if got := csm.get(page).Body; !strings.Contains(got, "Override by csm@example.com until 1 Jan 2099: Champion left") {
			t.Errorf("the page does not show the override")
		}
		if n := count(`SELECT COUNT(*) FROM audit_log WHERE object_type = 'health_override' AND object_id = $1`, id); n != 1 {
			t.Errorf("%d override audit entries, want 1", n)
		}

		// The list reads the new owner at once.
		res = csm.submit(page, page+"/owner", url.Values{"owner": {"manager@example.com"}})
		if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "notice=The+owner+is+now+manager%40example.com.") {
			t.Fatalf("change owner = %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		if got := count(`SELECT COUNT(*) FROM accounts WHERE account_id = $1 AND owner_email = 'manager@example.com'`, id); got != 1 {
			t.Errorf("the owner is not stored")
		}
		if n := count(`SELECT COUNT(*) FROM audit_log WHERE object_type = 'account' AND object_id = $1 AND actor = 'user:csm@example.com'`, id); n != 1 {
			t.Errorf("%d owner audit entries, want 1", n)
		}
		list := csm.get("/accounts?owner=manager%40example.com")
		if matchCount(t, list.Body) != 1 || !strings.Contains(list.Body, `href="/accounts/`+id+`"`) {
			t.Errorf("the list does not show the new owner's account: %.2000s", list.Body)
		}
	})
}

// template escapes s as html/template does in text.
func template(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return r.Replace(s)
}

// benchSite is what the benchmarks request pages from: the web server's
// handler and a viewer's session cookie. The book is the database at
// $KIZUNA_BENCH_DB when set (for a large one: `kizuna demo --scale 19
// --no-serve --db big.db && kizuna recompute --db big.db` is about 100,000
// accounts), else a small demo with health, stages and segments computed.
func benchSite(b *testing.B) (http.Handler, *http.Cookie, *store.DB) {
	b.Helper()
	return benchSiteAs(b, user.RoleViewer)
}

// benchSiteAs is benchSite signed in with role.
func benchSiteAs(b *testing.B, role string) (http.Handler, *http.Cookie, *store.DB) {
	b.Helper()
	ctx := context.Background()
	var db *store.DB
	if path := os.Getenv("KIZUNA_BENCH_DB"); path != "" {
		var err error
		if db, err = store.Open(ctx, path, store.Options{}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
	} else {
		db = storetest.SQLite(b)
		if _, err := demo.Generate(ctx, db, demo.Config{Seed: 1, Scale: 0.02, Now: demoDay}); err != nil {
			b.Fatal(err)
		}
		hs, err := health.NewStage(ctx, db)
		if err != nil {
			b.Fatal(err)
		}
		ls, err := lifecycle.NewStage(ctx, db)
		if err != nil {
			b.Fatal(err)
		}
		ss, err := segment.NewStage(ctx, db)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := recompute.Run(ctx, db, demoDay, recompute.Options{Stages: []recompute.Stage{hs, ls, ss}}); err != nil {
			b.Fatal(err)
		}
	}
	email := fmt.Sprintf("bench-%d@example.com", time.Now().UnixNano())
	u, err := user.Create(ctx, db, email, "Benchmark", role, testPassword)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Exec(`DELETE FROM users WHERE user_id = $1`, u.ID) })
	token, _, err := session.Create(ctx, db, u.ID, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return web.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), web.Options{}), &http.Cookie{Name: session.CookieName, Value: token}, db
}

// benchPages requests paths in turn, b.N times in all, and reports the
// 95th percentile of the server time besides the mean. The first request
// (the list's index load) is timed apart as first-ms.
func benchPages(b *testing.B, h http.Handler, cookie *http.Cookie, paths []string) {
	get := func(p string) time.Duration {
		req := httptest.NewRequest(http.MethodGet, p, nil)
		req.Header.Set("Accept", "text/html")
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(start)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s = %d: %.300s", p, rec.Code, rec.Body.String())
		}
		return d
	}
	first := get(paths[0])
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		times = append(times, get(paths[i%len(paths)]))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(first.Microseconds())/1000, "first-ms")
}

// BenchmarkAccountsList is the list's server time over a mix of views:
// plain, filtered, searched, sorted and a later page.
func BenchmarkAccountsList(b *testing.B) {
	h, cookie, _ := benchSite(b)
	benchPages(b, h, cookie, []string{"/accounts", "/accounts?band=red&sort=arr&dir=desc", "/accounts?q=tech",
		"/accounts?owner=none&sort=health", "/accounts?sort=renewal&page=2", "/accounts?tier=low&sort=churn&dir=desc",
		"/accounts?stage=adoption&band=green"})
}

// BenchmarkAccountPage is the account page's server time, over the 20
// accounts with the most subscription periods (the fullest pages).
func BenchmarkAccountPage(b *testing.B) {
	h, cookie, db := benchSite(b)
	rows, err := db.Query(`SELECT account_id FROM subscription_periods GROUP BY account_id ORDER BY COUNT(*) DESC, account_id LIMIT 20`)
	if err != nil {
		b.Fatal(err)
	}
	var paths []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		paths = append(paths, "/accounts/"+id)
	}
	rows.Close()
	benchPages(b, h, cookie, paths)
}

package ui_test

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"io"
	"log/slog"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/cli"
	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/onboarding"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
	"github.com/kizuna-cs/kizuna/internal/web"
)

// en formats numbers as the English pages do; the demo business reports in USD.
var en = message.NewPrinter(language.English)

func usd(x float64) string {
	if x < 0 {
		return "-" + usd(-x)
	}
	return en.Sprintf("$%.2f", x)
}

func pctOf(x *float64) string {
	if x == nil {
		return "–"
	}
	return en.Sprintf("%.1f%%", *x*100)
}

var dashTileRe = regexp.MustCompile(`<div class="tile"><div class="label">([^<]*)</div><div class="value">([^<]*)</div><div class="delta">([^<]*)</div></div>`)

// dashTiles reads the dashboard's tiles: label → value and label → note.
func dashTiles(t *testing.T, body string) (values, notes map[string]string) {
	t.Helper()
	values, notes = map[string]string{}, map[string]string{}
	for _, m := range dashTileRe.FindAllStringSubmatch(body, -1) {
		values[html.UnescapeString(m[1])] = html.UnescapeString(m[2])
		notes[html.UnescapeString(m[1])] = html.UnescapeString(m[3])
	}
	if len(values) != 8 {
		t.Fatalf("the dashboard has %d tiles, want 8: %v", len(values), values)
	}
	return values, notes
}

var dashAtRiskRe = regexp.MustCompile(`(?s)<section class="panel dash-two" id="at-risk">.*?</section>`)
var dashAccountLinkRe = regexp.MustCompile(`href="/accounts/([^"]+)"`)

// atRisk lists the account ids of the "accounts at risk" panel, in order.
func atRisk(body string) []string {
	var ids []string
	for _, m := range dashAccountLinkRe.FindAllStringSubmatch(dashAtRiskRe.FindString(body), -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestDashboard(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	ctx := context.Background()
	// The test CSM takes over the book of one demo CSM, so that role
	// scoping has accounts to show.
	var demoCSM string
	if err := s.db.QueryRow(`SELECT owner_email FROM accounts WHERE owner_email <> '' GROUP BY owner_email ORDER BY COUNT(*) DESC, owner_email LIMIT 1`).Scan(&demoCSM); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE accounts SET owner_email = 'csm@example.com' WHERE owner_email = $1`, demoCSM); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	last := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	table := func(by string) []metrics.Row {
		tb, err := metrics.Compute(ctx, s.db, metrics.Options{From: last.AddDate(0, -11, 0), To: last, By: by, Extended: true})
		if err != nil {
			t.Fatal(err)
		}
		return tb.Rows
	}
	admin := s.as(t, user.RoleAdmin)
	res := admin.get("/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d: %s", res.StatusCode, res.Body)
	}
	adminPage := res.Body

	t.Run("tiles are the metrics package's figures", func(t *testing.T) {
		rows := table("")
		if len(rows) != 12 {
			t.Fatalf("%d rows", len(rows))
		}
		lastRow, prev := rows[11], rows[10]
		month := last.Format("Jan 2006")
		values, notes := dashTiles(t, adminPage)
		change := lastRow.MRR - prev.MRR
		sign := ""
		if change > 0 {
			sign = "+"
		}
		want := map[string]string{
			"MRR, end of " + month:    usd(lastRow.MRR),
			"ARR":                     usd(12 * lastRow.MRR),
			"NRR (12 months)":         pctOf(lastRow.NRR12m),
			"GRR (12 months)":         pctOf(lastRow.GRR12m),
			"Logo churn, " + month:    pctOf(lastRow.LogoChurnRate),
			"Revenue churn, " + month: pctOf(lastRow.RevenueChurnRate),
		}
		for label, v := range want {
			if values[label] != v {
				t.Errorf("tile %q = %q, want %q", label, values[label], v)
			}
		}
		if lastRow.MRR < 1000 || lastRow.NRR12m == nil || lastRow.LogoChurnRate == nil {
			t.Fatalf("the demo's last month is too thin to test: %+v", lastRow)
		}
		changePct := change / prev.MRR
		wantNote := fmt.Sprintf("%s%s (%s%s) vs %s", sign, usd(change), sign, en.Sprintf("%.1f%%", changePct*100), prev.Month)
		wantNote = strings.Replace(wantNote, prev.Month, last.AddDate(0, -1, 0).Format("Jan 2006"), 1)
		if got := notes["MRR, end of "+month]; got != wantNote {
			t.Errorf("MRR change = %q, want %q", got, wantNote)
		}
		if got, want := notes["Logo churn, "+month], fmt.Sprintf("%d customers lost", lastRow.ChurnedCustomers); got != want {
			t.Errorf("logo churn note = %q, want %q", got, want)
		}

		// NPS over the last 90 days, counted by hand from the responses.
		var promoters, detractors, n int
		if err := s.db.QueryRow(`SELECT COALESCE(SUM(CASE WHEN score >= 9 THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN score <= 6 THEN 1 ELSE 0 END), 0), COUNT(*)
			FROM survey_responses WHERE kind = 'nps' AND answered_at >= $1 AND answered_at < $2`,
			now.AddDate(0, 0, -90).Unix(), now.Unix()).Scan(&promoters, &detractors, &n); err != nil {
			t.Fatal(err)
		}
		wantNPS := "–"
		if n > 0 {
			nps := 100 * float64(promoters-detractors) / float64(n)
			wantNPS = en.Sprintf("%.0f", nps)
			if nps > 0 {
				wantNPS = "+" + wantNPS
			}
		}
		if got := values["NPS, last 90 days"]; got != wantNPS {
			t.Errorf("NPS = %q, want %q (%d responses)", got, wantNPS, n)
		}

		// Onboarding: the latest signup month whose windows have all closed.
		rates, err := onboarding.CompletionByMonth(ctx, s.db, now)
		if err != nil {
			t.Fatal(err)
		}
		var latest string
		for m, v := range rates {
			if v != nil && m > latest {
				latest = m
			}
		}
		if latest == "" {
			t.Fatal("the demo has no onboarding cohort with every window closed")
		}
		if got, want := values["Onboarding completion"], pctOf(rates[latest]); got != want {
			t.Errorf("onboarding completion = %q, want %q (%s)", got, want, latest)
		}
	})

	t.Run("health distribution counts paying customers by band", func(t *testing.T) {
		rows, err := s.db.Query(`SELECT COALESCE(h.band, ''), COUNT(*) FROM accounts a
			LEFT JOIN health_current h ON h.account_id = a.account_id
			WHERE EXISTS (SELECT 1 FROM subscription_periods p WHERE p.account_id = a.account_id
				AND p.start_at <= $1 AND (p.end_at IS NULL OR $1 < p.end_at))
			GROUP BY COALESCE(h.band, '')`, now.Unix())
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{}
		for rows.Next() {
			var band string
			var n int
			if err := rows.Scan(&band, &n); err != nil {
				t.Fatal(err)
			}
			want[band] = n
		}
		rows.Close()
		if want["red"] == 0 || want["green"] == 0 {
			t.Fatalf("the demo has no red or no green customers: %v", want)
		}
		for _, band := range []string{"green", "yellow", "red"} {
			re := regexp.MustCompile(`href="/accounts\?band=` + band + `"><span class="tag band-` + band + `">` + band + `</span></a></td>\s*<td class="num">([0-9,]+)</td>`)
			m := re.FindStringSubmatch(adminPage)
			if m == nil || m[1] != en.Sprintf("%d", want[band]) {
				t.Errorf("band %s: %v, want %d customers", band, m, want[band])
			}
		}
	})

	t.Run("movements chart", func(t *testing.T) {
		// A bar per movement per month, churn below the axis; the tooltip
		// names month, series and amount (months without a movement have no bar).
		i := newestWith(table(""), func(r metrics.Row) bool { return r.NewMRR > 0 && r.ChurnedMRR > 0 })
		m := last.AddDate(0, i-11, 0).Format("Jan 2006")
		r := table("")[i]
		for _, tip := range []string{
			fmt.Sprintf("<title>%s · New: %s</title>", m, shortUSD(r.NewMRR)),
			fmt.Sprintf("<title>%s · Churn: -%s</title>", m, shortUSD(r.ChurnedMRR)),
		} {
			if !strings.Contains(adminPage, tip) {
				t.Errorf("no movement tooltip %q", tip)
			}
		}
		if !strings.Contains(adminPage, "MRR movements by month (USD)") {
			t.Errorf("no caption")
		}
	})

	t.Run("accounts at risk are ranked by ARR", func(t *testing.T) {
		ids := atRisk(adminPage)
		if len(ids) != 10 {
			t.Fatalf("%d accounts at risk, want the top 10: %v", len(ids), ids)
		}
		want := riskRanking(t, s, now, "")
		if !slices.Equal(ids, want[:10]) {
			t.Errorf("at risk = %v, want %v", ids, want[:10])
		}
	})

	t.Run("renewals due are the soonest period ends", func(t *testing.T) {
		// Counted again in SQL: current periods ending within 90 days with no
		// period after them (the demo's yearly contracts).
		q := `FROM subscription_periods p WHERE p.start_at <= $1 AND p.end_at > $1 AND p.end_at <= $2
			AND NOT EXISTS (SELECT 1 FROM subscription_periods n WHERE n.subscription_id = p.subscription_id AND n.start_at = p.end_at)`
		var count int
		var tenth int64
		if err := s.db.QueryRow(`SELECT COUNT(*) `+q, now.Unix(), now.AddDate(0, 0, 90).Unix()).Scan(&count); err != nil {
			t.Fatal(err)
		}
		if err := s.db.QueryRow(`SELECT p.end_at `+q+` ORDER BY p.end_at LIMIT 1 OFFSET 9`, now.Unix(), now.AddDate(0, 0, 90).Unix()).Scan(&tenth); err != nil {
			t.Fatal(err)
		}
		panel := regexp.MustCompile(`(?s)<section class="panel dash-wide" id="renewals">.*?</section>`).FindString(adminPage)
		if count <= 10 || !strings.Contains(panel, en.Sprintf("%d renewals, ", count)) {
			t.Fatalf("%d renewals due by SQL; the panel says %.200q", count, panel)
		}
		links := dashAccountLinkRe.FindAllStringSubmatch(panel, -1)
		if len(links) != 10 || !strings.Contains(panel, "The 10 soonest are listed.") {
			t.Fatalf("%d renewals listed, want the 10 soonest", len(links))
		}
		for _, m := range links {
			var soonest int64
			if err := s.db.QueryRow(`SELECT MIN(p.end_at) `+q+` AND p.account_id = $3`, now.Unix(), now.AddDate(0, 0, 90).Unix(), m[1]).Scan(&soonest); err != nil {
				t.Fatal(err)
			}
			if soonest > tenth {
				t.Errorf("%s renews on %s, after the 10th soonest (%s)", m[1], time.Unix(soonest, 0).UTC(), time.Unix(tenth, 0).UTC())
			}
		}
	})

	t.Run("a CSM sees only their accounts", func(t *testing.T) {
		csm := s.as(t, user.RoleCSM)
		body := csm.get("/?owner=" + demoCSM).Body // another owner's filter is not theirs to choose
		if strings.Contains(body, `<select name="owner"`) || !strings.Contains(body, "Your accounts (csm@example.com)") {
			t.Errorf("the CSM's dashboard is not scoped to them")
		}
		ids := atRisk(body)
		want := riskRanking(t, s, now, "csm@example.com")
		if len(want) == 0 || !slices.Equal(ids, want[:min(10, len(want))]) {
			t.Errorf("the CSM's accounts at risk = %v, want %v", ids, want)
		}
		for _, id := range ids {
			var owner string
			s.db.QueryRow(`SELECT owner_email FROM accounts WHERE account_id = $1`, id).Scan(&owner)
			if owner != "csm@example.com" {
				t.Errorf("the CSM sees %s, owned by %q", id, owner)
			}
		}
		var rows []metrics.Row
		for _, r := range table("owner") {
			if *r.Group == "csm@example.com" {
				rows = append(rows, r)
			}
		}
		values, _ := dashTiles(t, body)
		if got, want := values["MRR, end of "+last.Format("Jan 2006")], usd(rows[len(rows)-1].MRR); got != want {
			t.Errorf("the CSM's MRR = %q, want %q", got, want)
		}
		// A manager filtering by that owner sees the same list.
		mgr := s.as(t, user.RoleManager)
		if got := atRisk(mgr.get("/?owner=csm@example.com").Body); !slices.Equal(got, ids) {
			t.Errorf("the manager's view of the CSM = %v, want %v", got, ids)
		}
		if res := mgr.get("/?owner=nobody@example.com"); res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, "nobody@example.com") {
			t.Errorf("an unknown owner = %d", res.StatusCode)
		}
	})

	t.Run("Japanese", func(t *testing.T) {
		v := s.as(t, user.RoleViewer)
		u, _ := user.GetByEmail(ctx, s.db, "viewer@example.com")
		if err := user.SetLanguage(ctx, s.db, u.ID, "ja"); err != nil {
			t.Fatal(err)
		}
		body := v.get("/").Body
		rows := table("")
		label := fmt.Sprintf("MRR（%d年%d月末）", last.Year(), last.Month())
		values, _ := dashTiles(t, body)
		if got := values[label]; got != usd(rows[11].MRR) {
			t.Errorf("%s = %q, want %q", label, got, usd(rows[11].MRR))
		}
		// Chart amounts count in 万 in Japanese (the small demo's monthly
		// new MRR may stay under 1万).
		i := newestWith(rows, func(r metrics.Row) bool { return r.NewMRR > 0 })
		m := last.AddDate(0, i-11, 0)
		short := en.Sprintf("$%.0f", rows[i].NewMRR)
		if rows[i].NewMRR >= 1e4 {
			short = en.Sprintf("$%.0f万", rows[i].NewMRR/1e4)
		}
		tip := fmt.Sprintf("<title>%d年%d月 · 新規: %s</title>", m.Year(), m.Month(), short)
		for _, want := range []string{"<h1>ダッシュボード</h1>", "ヘルススコアの分布", "リスクのある取引先", tip} {
			if !strings.Contains(body, want) {
				t.Errorf("the Japanese dashboard lacks %q", want)
			}
		}
	})

	t.Run("signed out", func(t *testing.T) {
		if res := s.anon(t).get("/"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("GET / signed out = %d", res.StatusCode)
		}
	})
}

// newestWith is the index of the last row that has what ok asks.
func newestWith(rows []metrics.Row, ok func(metrics.Row) bool) int {
	for i := len(rows) - 1; i >= 0; i-- {
		if ok(rows[i]) {
			return i
		}
	}
	panic("no month of the demo has it")
}

// shortUSD is an amount as English chart labels show it.
func shortUSD(x float64) string {
	switch {
	case x >= 1e6:
		return en.Sprintf("$%.1fM", x/1e6)
	case x >= 1e4:
		return en.Sprintf("$%.0fk", x/1e3)
	}
	return en.Sprintf("$%.0f", x)
}

// riskRanking is the expected "at risk" list: paying accounts (of owner,
// if given) with a red or yellow band or a churn risk of at least 0.5,
// chosen in SQL, then ranked by ARR (12 × current MRR in USD), band and id.
func riskRanking(t *testing.T, s *site, now time.Time, owner string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := s.db.Query(`SELECT a.account_id, COALESCE(h.band, '') FROM accounts a
		LEFT JOIN health_current h ON h.account_id = a.account_id
		LEFT JOIN churn_scores c ON c.account_id = a.account_id
		WHERE (h.band IN ('red', 'yellow') OR c.probability >= 0.5) AND ($2 = '' OR a.owner_email = $2)
		AND EXISTS (SELECT 1 FROM subscription_periods p WHERE p.account_id = a.account_id
			AND p.start_at <= $1 AND (p.end_at IS NULL OR $1 < p.end_at))`, now.Unix(), owner)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	band := map[string]string{}
	for rows.Next() {
		var id, b string
		if err := rows.Scan(&id, &b); err != nil {
			t.Fatal(err)
		}
		ids, band[id] = append(ids, id), b
	}
	mrr, err := billing.CurrentMRR(ctx, s.db, ids, now)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := billing.LoadConverter(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	arr := map[string]float64{}
	for _, id := range ids {
		v, err := conv.Total(mrr[id], now)
		if err != nil {
			t.Fatal(err)
		}
		arr[id] = 12 * v
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := cmp.Compare(arr[b], arr[a]); c != 0 {
			return c
		}
		if c := cmp.Compare(band[a], band[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return ids
}

func TestMetricsPage(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	b := s.as(t, user.RoleViewer)
	ctx := context.Background()

	t.Run("range validation", func(t *testing.T) {
		for _, tt := range []struct {
			query, reason string
		}{
			{"from=2026-13", `from: &#34;2026-13&#34; is not a month; write it as YYYY-MM`},
			{"to=26-01", `to: &#34;26-01&#34; is not a month`},
			{"from=2026-06&to=2026-05", "to: 2026-05 is before from (2026-06)."},
			{"from=2020-01&to=2026-01", "to: 73 months from 2020-01 is more than the 60 this page shows."},
			{"retention=gross", "retention: &#34;gross&#34; is neither logo nor revenue."},
		} {
			res := b.get("/metrics?" + tt.query)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, tt.reason) {
				t.Errorf("%s = %d, want 400 saying %q", tt.query, res.StatusCode, tt.reason)
			}
		}
		if res := b.get("/metrics/monthly.csv?from=x"); res.StatusCode != http.StatusBadRequest {
			t.Errorf("CSV with a bad month = %d", res.StatusCode)
		}
	})

	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tb, err := metrics.Compute(ctx, s.db, metrics.Options{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	res := b.get("/metrics?from=2026-01&to=2026-06")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d: %s", res.StatusCode, res.Body)
	}

	t.Run("the monthly table has every metric by month", func(t *testing.T) {
		for _, key := range metrics.Keys[1:] {
			if !strings.Contains(res.Body, `<tr data-key="`+key+`">`) {
				t.Errorf("no row for %s", key)
			}
		}
		row := regexp.MustCompile(`<tr data-key="mrr"><th scope="row">MRR</th>(.*?)</tr>`).FindStringSubmatch(res.Body)
		if row == nil {
			t.Fatal("no MRR row")
		}
		var want strings.Builder
		for _, r := range tb.Rows {
			fmt.Fprintf(&want, `<td class="num">%s</td>`, usd(r.MRR))
		}
		if row[1] != want.String() {
			t.Errorf("MRR row = %s, want %s", row[1], want.String())
		}
		cust := regexp.MustCompile(`<tr data-key="logo_churn_rate"><th scope="row">Logo churn rate</th><td class="num">([^<]*)</td>`).FindStringSubmatch(res.Body)
		if cust == nil || cust[1] != pctOf(tb.Rows[0].LogoChurnRate) {
			t.Errorf("logo churn of Jan 2026 = %v, want %s", cust, pctOf(tb.Rows[0].LogoChurnRate))
		}
		for _, want := range []string{"Jan 2026", "Jun 2026", "<title>Jun 2026 · NRR: " + pctOf(tb.Rows[5].NRR12m) + "</title>"} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
	})

	t.Run("cohort heat map", func(t *testing.T) {
		ct, err := metrics.Cohorts(ctx, s.db, from, to, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := ct.Cohorts[0]
		if c.Customers == 0 || len(c.Offsets) != 6 {
			t.Fatalf("the demo's Jan 2026 cohort: %+v", c)
		}
		tip := fmt.Sprintf("<title>Jan 2026 (%d) · 5: %s</title>", c.Customers, pctOf(&c.Offsets[5].LogoRetention))
		if !strings.Contains(res.Body, tip) {
			t.Errorf("no heat map cell %q", tip)
		}
		rev := b.get("/metrics?from=2026-01&to=2026-06&retention=revenue").Body
		tip = fmt.Sprintf("<title>Jan 2026 (%d) · 5: %s</title>", c.Customers, pctOf(&c.Offsets[5].RevenueRetention))
		if !strings.Contains(rev, tip) || !strings.Contains(rev, "<strong>Revenue retention</strong>") {
			t.Errorf("no revenue heat map cell %q", tip)
		}
	})

	t.Run("CSV", func(t *testing.T) {
		res := b.get("/metrics/monthly.csv?from=2026-01&to=2026-06")
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("CSV = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		recs, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 7 || strings.Join(recs[0], ",") != strings.Join(metrics.Keys, ",") {
			t.Fatalf("CSV = %v", recs)
		}
		if recs[6][0] != "2026-06" || recs[6][1] != fmt.Sprint(tb.Rows[5].MRR) {
			t.Errorf("June = %v, want MRR %v", recs[6][:2], tb.Rows[5].MRR)
		}
		// The download is the command line's output, byte for byte.
		var out, errs strings.Builder
		if code := cli.Main([]string{"metrics", "monthly", "--from", "2026-01", "--to", "2026-06", "--format", "csv", "--db", s.db.Location}, &out, &errs); code != 0 {
			t.Fatalf("kizuna metrics monthly: exit %d: %s", code, errs.String())
		}
		if out.String() != res.Body {
			t.Errorf("the CLI's CSV differs from the download:\n%s\n---\n%s", out.String(), res.Body)
		}
	})

	t.Run("Prometheus keeps /metrics for scrapers", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/metrics", nil)
		req.Header.Set("Accept", "text/plain;version=0.0.4;q=0.9,*/*;q=0.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a scraper without a key = %d, want 401", resp.StatusCode)
		}
		if res := s.anon(t).get("/metrics"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("a signed-out browser = %d, want the login redirect", res.StatusCode)
		}
	})
}

// BenchmarkDashboard measures GET / on the test demo business (about 100
// customers, health and onboarding computed) as an admin. The figures
// come from the cache after the first request, so this is the warm path;
// bench/ui.sh measures the first (cold) request at scale too. It builds
// its own site because demoSite needs a *testing.T.
func BenchmarkDashboard(b *testing.B) {
	ctx := context.Background()
	db := storetest.SQLite(b)
	if _, err := demo.Generate(ctx, db, demo.Config{Seed: 1, Scale: 0.02, Now: demoDay}); err != nil {
		b.Fatal(err)
	}
	h, err := health.NewStage(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	ob, err := onboarding.NewStage(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := recompute.Run(ctx, db, demoDay, recompute.Options{Stages: []recompute.Stage{h, ob}}); err != nil {
		b.Fatal(err)
	}
	if _, err := user.Create(ctx, db, "bench@example.com", "Bench", user.RoleAdmin, testPassword); err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(web.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), web.Options{}))
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	login, _ := http.NewRequest(http.MethodPost, ts.URL+"/login", strings.NewReader(url.Values{"email": {"bench@example.com"}, "password": {testPassword}, "next": {"/me"}}.Encode()))
	login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	login.Header.Set("Origin", ts.URL)
	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/", nil)
		req.Header.Set("Accept", "text/html")
		res, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("GET / = %d", res.StatusCode)
		}
		return int(n)
	}
	if res, err := c.Do(login); err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("sign in: %v %v", res, err)
	}
	start := time.Now()
	get()
	cold := time.Since(start)
	for b.Loop() {
		b.SetBytes(int64(get()))
	}
	// After the loop: b.Loop resets what was reported before it.
	b.ReportMetric(float64(cold.Microseconds())/1000, "cold-ms")
}

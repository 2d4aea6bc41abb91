// Command uibench measures the UI pages a running Kizuna serves: it signs
// in, times the first (cold) request of each page, then n sequential
// requests after a warm-up (time to the first byte of the response, which
// is the server's time plus a loopback round trip), and the bytes a first
// visit to the dashboard transfers (the page, its CSS, JavaScript and
// icon, gzip-compressed as a browser asks for them).
//
// Usage: go run ./bench/uibench -url http://127.0.0.1:18080 -db FILE [-n 200]
package main

import (
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/store"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:18080", "the server")
	dbPath := flag.String("db", "", "the demo database, to pick an account for /accounts/{id}")
	n := flag.Int("n", 200, "timed requests per page")
	flag.Parse()
	if err := run(*base, *dbPath, *n); err != nil {
		fmt.Fprintln(os.Stderr, "uibench:", err)
		os.Exit(1)
	}
}

func run(base, dbPath string, n int) error {
	ctx := context.Background()
	id := "acc_00001"
	if dbPath != "" {
		db, err := store.Open(ctx, dbPath, store.Options{})
		if err != nil {
			return err
		}
		// The account in the middle of the id order: neither the first nor the last page of anything.
		err = db.QueryRowContext(ctx, `SELECT account_id FROM accounts ORDER BY account_id
			LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM accounts)`).Scan(&id)
		db.Close()
		if err != nil {
			return fmt.Errorf("pick an account: %w", err)
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{DisableCompression: true}}
	form := url.Values{"email": {demo.LoginEmail}, "password": {demo.LoginPassword}, "next": {"/me"}}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	res.Body.Close()
	if res.Request.URL.Path != "/me" || res.StatusCode != http.StatusOK {
		return fmt.Errorf("sign in as %s: ended at %s with %d", demo.LoginEmail, res.Request.URL, res.StatusCode)
	}

	fmt.Printf("  %-22s %6s %10s %10s %10s %10s\n", "page", "status", "cold ms", "p50 ms", "p95 ms", "max ms")
	for _, path := range []string{"/", "/accounts", "/accounts/" + id} {
		cold, status, _, err := fetch(c, base+path, false)
		if err != nil {
			return err
		}
		for range 5 { // warm-up
			if _, _, _, err := fetch(c, base+path, false); err != nil {
				return err
			}
		}
		times := make([]float64, 0, n)
		for range n {
			d, _, _, err := fetch(c, base+path, false)
			if err != nil {
				return err
			}
			times = append(times, d)
		}
		slices.Sort(times)
		fmt.Printf("  %-22s %6d %10.1f %10.1f %10.1f %10.1f\n", path, status, cold, quantile(times, 0.5), quantile(times, 0.95), times[len(times)-1])
	}

	// A first visit: the page and what it links, as a browser with an
	// empty cache fetches them.
	_, _, page, err := fetch(c, base+"/", true)
	if err != nil {
		return err
	}
	total, plainTotal := page.wire, page.plain
	fmt.Printf("  first visit to /: %-40s %8d bytes on the wire (%d uncompressed)\n", "/", page.wire, page.plain)
	for _, m := range regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(string(page.body), -1) {
		u := strings.ReplaceAll(m[1], "&amp;", "&")
		if seen(u) {
			continue
		}
		_, _, r, err := fetch(c, base+u, true)
		if err != nil {
			return err
		}
		total += r.wire
		plainTotal += r.plain
		fmt.Printf("  first visit to /: %-40s %8d bytes on the wire (%d uncompressed)\n", u, r.wire, r.plain)
	}
	fmt.Printf("  first visit to /: total %d bytes (%.1f KB) on the wire, %.1f KB uncompressed; target <= 250 KB\n",
		total, float64(total)/1024, float64(plainTotal)/1024)
	return nil
}

var fetched = map[string]bool{}

// seen reports whether u was fetched before in the first visit (a page
// links its icon twice).
func seen(u string) bool {
	if fetched[u] {
		return true
	}
	fetched[u] = true
	return false
}

// body is a fetched response: its bytes on the wire (headers included,
// as HTTP/1.1 sends them) and decompressed.
type body struct {
	wire, plain int
	body        []byte
}

// fetch GETs u as a browser navigating to a page does and returns the time
// to the first byte of the response in milliseconds.
func fetch(c *http.Client, u string, gz bool) (float64, int, body, error) {
	var start time.Time
	var ttfb time.Duration
	trace := &httptrace.ClientTrace{
		WroteRequest:         func(httptrace.WroteRequestInfo) { start = time.Now() },
		GotFirstResponseByte: func() { ttfb = time.Since(start) },
	}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if gz {
		req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, 0, body{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, 0, body{}, err
	}
	b := body{wire: len(raw), plain: len(raw), body: raw}
	for k, vs := range res.Header {
		for _, v := range vs {
			b.wire += len(k) + len(v) + 4
		}
	}
	b.wire += len(res.Proto) + len(res.Status) + 4
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(strings.NewReader(string(raw)))
		if err != nil {
			return 0, 0, body{}, err
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			return 0, 0, body{}, err
		}
		b.plain, b.body = len(plain), plain
	}
	return float64(ttfb.Microseconds()) / 1000, res.StatusCode, b, nil
}

// quantile is the q-quantile of sorted xs (nearest rank).
func quantile(xs []float64, q float64) float64 {
	i := int(float64(len(xs))*q+0.5) - 1
	return xs[max(0, min(i, len(xs)-1))]
}

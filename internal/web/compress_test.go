package web

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCompress(t *testing.T) {
	page := "<!doctype html><p>" + strings.Repeat("Kizuna dashboard ", 200) // 3.4 KB of text
	serve := func(contentType, encoding, body string, status int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			}
			if encoding != "" {
				w.Header().Set("Content-Encoding", encoding)
			}
			w.Header().Set("Content-Length", "999") // must go when the body is compressed
			w.WriteHeader(status)
			// In pieces, as templates and io.Copy write.
			for len(body) > 0 {
				n := min(len(body), 300)
				w.Write([]byte(body[:n]))
				body = body[n:]
			}
		})
	}
	for _, tt := range []struct {
		name           string
		ct, enc, body  string
		status         int
		method, accept string
		rangeHdr       string
		gzipped        bool
		want           string
	}{
		{"html", "text/html; charset=utf-8", "", page, 200, "GET", "gzip, deflate, br", "", true, page},
		{"sniffed html", "", "", page, 200, "GET", "gzip", "", true, page},
		{"json error", "application/problem+json", "", `{"detail":"` + strings.Repeat("x", 2000) + `"}`, 400, "GET", "gzip", "", true, ""},
		{"svg", "image/svg+xml", "", "<svg>" + strings.Repeat("<rect/>", 300) + "</svg>", 200, "GET", "*", "", true, ""},
		{"no Accept-Encoding", "text/html", "", page, 200, "GET", "", "", false, page},
		{"gzip refused", "text/html", "", page, 200, "GET", "gzip;q=0, deflate", "", false, page},
		{"small", "text/html", "", "<p>hi</p>", 200, "GET", "gzip", "", false, "<p>hi</p>"},
		{"png", "image/png", "", page, 200, "GET", "gzip", "", false, page},
		{"already encoded", "text/css", "br", page, 200, "GET", "gzip", "", false, page},
		{"range", "text/css", "", page, 206, "GET", "gzip", "bytes=0-10", false, page},
		{"head", "text/html", "", "", 200, "HEAD", "gzip", "", false, ""},
		{"not modified", "text/css", "", "", 304, "GET", "gzip", "", false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/", nil)
			if tt.accept != "" {
				req.Header.Set("Accept-Encoding", tt.accept)
			}
			if tt.rangeHdr != "" {
				req.Header.Set("Range", tt.rangeHdr)
			}
			rec := httptest.NewRecorder()
			compress(serve(tt.ct, tt.enc, tt.body, tt.status)).ServeHTTP(rec, req)
			res := rec.Result()
			if got := res.Header.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary = %q", got)
			}
			body := rec.Body.String()
			if tt.gzipped {
				if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("Content-Length") != "" {
					t.Fatalf("headers = %v, want gzip without a length", res.Header)
				}
				zr, err := gzip.NewReader(rec.Body)
				if err != nil {
					t.Fatal(err)
				}
				plain, err := io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
				if rec.Body.Len() >= len(plain)/2 {
					t.Errorf("%d bytes compressed to %d", len(plain), rec.Body.Len())
				}
				body = string(plain)
			} else if enc := res.Header.Get("Content-Encoding"); enc == "gzip" {
				t.Errorf("compressed: %v", res.Header)
			}
			if tt.want != "" && body != tt.want {
				t.Errorf("body = %.60q…, want %.60q…", body, tt.want)
			}
			if res.StatusCode != tt.status {
				t.Errorf("status = %d", res.StatusCode)
			}
		})
	}
}

func TestCompressStream(t *testing.T) {
	// A streamed response is compressed from its first flush, and what was
	// flushed can be read before the handler ends.
	rec := httptest.NewRecorder()
	compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		io.WriteString(w, "a,b\n")
		http.NewResponseController(w).Flush()
		zr, err := gzip.NewReader(strings.NewReader(rec.Body.String()))
		if err != nil {
			t.Fatalf("after the flush: %v", err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(zr, buf); err != nil || string(buf) != "a,b\n" {
			t.Errorf("flushed %q, %v", buf, err)
		}
		io.WriteString(w, "1,2\n")
	})).ServeHTTP(rec, func() *http.Request {
		r := httptest.NewRequest("GET", "/export", nil)
		r.Header.Set("Accept-Encoding", "gzip")
		return r
	}())
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(zr)
	if string(all) != "a,b\n1,2\n" || !rec.Flushed {
		t.Errorf("stream = %q, flushed %v", all, rec.Flushed)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, gzip;q=0.5": true, "gzip;q=0": false, "gzip; q=0.0": false,
		"br": false, "*": true, "*;q=0": false, "identity": false, "x-gzip": false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

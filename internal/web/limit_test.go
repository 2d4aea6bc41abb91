package web

import (
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l := newLimiter(2, time.Minute)
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		key  string
		at   time.Duration
		want bool
		wait time.Duration // of key right after
	}{
		{"a", 0, true, 0}, {"a", time.Second, true, time.Minute - time.Second},
		{"a", 2 * time.Second, false, time.Minute - 2*time.Second}, // refused: not counted
		{"b", 2 * time.Second, true, 0},
		{"a", time.Minute, true, time.Second}, // the first has left the window
		{"a", time.Minute + time.Second, true, time.Minute - time.Second},
		{"a", time.Minute + 2*time.Second, false, time.Minute - 2*time.Second},
	} {
		now := t0.Add(tc.at)
		if got := l.allow(tc.key, now); got != tc.want {
			t.Errorf("allow(%s at +%s) = %v, want %v", tc.key, tc.at, got, tc.want)
		}
		if got := l.wait(tc.key, now); got != tc.wait {
			t.Errorf("wait(%s at +%s) = %s, want %s", tc.key, tc.at, got, tc.wait)
		}
	}
	// add counts past the limit: the wait is until enough have left.
	f := newLimiter(2, time.Minute)
	for i := range 4 {
		f.add("c", t0.Add(time.Duration(i)*time.Second))
	}
	if got := f.wait("c", t0.Add(4*time.Second)); got != time.Minute-2*time.Second {
		t.Errorf("after 4 adds in 3 s, wait = %s, want %s (until the third leaves)", got, time.Minute-2*time.Second)
	}
	if got := f.wait("c", t0.Add(time.Minute+2*time.Second)); got != 0 || len(f.hits["c"]) != 1 {
		t.Errorf("a minute on, wait = %s with %d remembered, want 0 with the last one", got, len(f.hits["c"]))
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.0/8, 192.168.1.7 ,::1,fd00::/8,10.1.2.3/16,")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"),
		netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("10.1.0.0/16")}
	if !slices.Equal(got, want) {
		t.Errorf("ParseTrustedProxies = %v, want %v", got, want)
	}
	if got, err := ParseTrustedProxies(""); err != nil || got != nil {
		t.Errorf(`ParseTrustedProxies("") = %v, %v; want none`, got, err)
	}
	for _, bad := range []string{"proxy.example", "10.0.0.0/33", "10.0.0"} {
		if _, err := ParseTrustedProxies("127.0.0.1," + bad); err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("ParseTrustedProxies(%q) = %v, want an error naming it", bad, err)
		}
	}
}

func TestClientAddr(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8,::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		trusted bool
		peer    string
		xff     []string
		want    string
	}{
		{"no proxy trusted: the peer", false, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"an untrusted peer's header is ignored", true, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"a trusted proxy's client", true, "10.0.0.2:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"what the client wrote left of it proves nothing", true, "10.0.0.2:443", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted hops", true, "10.0.0.2:443", []string{"198.51.100.1, 10.0.0.3"}, "198.51.100.1"},
		{"headers in turn", true, "10.0.0.2:443", []string{"1.1.1.1", "198.51.100.1,10.9.9.9"}, "198.51.100.1"},
		{"IPv6 proxy", true, "[::1]:443", []string{"2001:db8::5"}, "2001:db8::5"},
		{"a trusted proxy without the header", true, "10.0.0.2:443", nil, "10.0.0.2"},
		{"only trusted hops: the first", true, "10.0.0.2:443", []string{"10.0.0.7, 10.0.0.8"}, "10.0.0.7"},
		{"empty entries skipped", true, "10.0.0.2:443", []string{"198.51.100.1, ,"}, "198.51.100.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{}
			if tc.trusted {
				s.opts.TrustedProxies = proxies
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, h := range tc.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := s.clientAddr(r); got != tc.want {
				t.Errorf("clientAddr = %q, want %q", got, tc.want)
			}
		})
	}
}

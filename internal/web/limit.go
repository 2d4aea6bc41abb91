package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// limiterPrune is how many keys a limiter remembers before it drops those
// with no request left in the window.
const limiterPrune = 10000

// limiter counts each key's requests (a client's, an account's) in a
// sliding window and refuses those past max.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	hits   map[string][]time.Time
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, hits: map[string][]time.Time{}}
}

// allow records a request of key at now and reports whether it is within the limit.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.waitLocked(key, now) > 0 {
		return false
	}
	l.hits[key] = append(l.hits[key], now)
	return true
}

// wait returns how long from now key must wait until a request of it is
// within the limit again; 0 when one is now. It records nothing.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waitLocked(key, now)
}

// add records a request of key at now, within the limit or not.
func (l *limiter) add(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waitLocked(key, now)
	l.hits[key] = append(l.hits[key], now)
}

// waitLocked is wait; it also forgets what has left the window.
func (l *limiter) waitLocked(key string, now time.Time) time.Duration {
	if len(l.hits) > limiterPrune {
		for k, ts := range l.hits {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= l.window {
				delete(l.hits, k)
			}
		}
	}
	ts := l.hits[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= l.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.hits, key)
		return 0
	}
	l.hits[key] = ts
	if len(ts) < l.max {
		return 0
	}
	// The request that leaves the window next makes room.
	return ts[len(ts)-l.max].Add(l.window).Sub(now)
}

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR
// prefixes (KIZUNA_TRUSTED_PROXIES, --trusted-proxies).
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxies: %q is neither an IP address nor a CIDR prefix (10.0.0.0/8)", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// clientAddr is the address the limits count a request against: its peer,
// or, when the peer is a trusted proxy (Options.TrustedProxies), the
// address that proxy says it forwarded for. X-Forwarded-For is read from
// the right, the entries the proxies themselves appended, skipping trusted
// hops: entries left of the first untrusted one were written by the client
// and prove nothing.
func (s *Server) clientAddr(r *http.Request) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	if !s.trusted(peer) {
		return peer
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, f := range strings.Split(h, ",") {
			hops = append(hops, strings.TrimSpace(f))
		}
	}
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		if hops[i] == "" {
			continue
		}
		addr = hops[i]
		if !s.trusted(addr) {
			break
		}
	}
	return addr
}

// trusted reports whether addr is one of the trusted proxies.
func (s *Server) trusted(addr string) bool {
	if len(s.opts.TrustedProxies) == 0 {
		return false
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

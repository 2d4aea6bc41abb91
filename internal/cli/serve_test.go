package cli

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestTuneGC(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	})
	for _, c := range []struct {
		name        string
		env         map[string]string
		wantPercent int   // in effect afterwards
		wantLimit   int64 // in effect afterwards
	}{
		{"defaults", nil, serveGCPercent, serveMemoryLimit},
		{"GOGC set", map[string]string{"GOGC": "50"}, 100, serveMemoryLimit},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, serveGCPercent, math.MaxInt64},
		{"both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "1GiB"}, 100, math.MaxInt64},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The runtime read GOGC and GOMEMLIMIT at start; here the
			// settings stand in for them: 100 and no limit.
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			tuneGC(func(k string) string { return c.env[k] })
			if got := debug.SetGCPercent(100); got != c.wantPercent {
				t.Errorf("GC percent %d, want %d", got, c.wantPercent)
			}
			if got := debug.SetMemoryLimit(-1); got != c.wantLimit {
				t.Errorf("memory limit %d, want %d", got, c.wantLimit)
			}
		})
	}
}

// A bad --trusted-proxies (or KIZUNA_TRUSTED_PROXIES) stops serve before it
// opens the database, naming the flag and the entry.
func TestServeTrustedProxiesInvalid(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	code, _, stderr := run(t, "serve", "--addr", "127.0.0.1:0", "--db", db, "--trusted-proxies", "10.0.0.0/8,proxy.example")
	if code == 0 || !strings.Contains(stderr, `--trusted-proxies: trusted proxies: "proxy.example" is neither an IP address nor a CIDR prefix`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	t.Setenv("KIZUNA_TRUSTED_PROXIES", "10.0.0.0/40")
	if code, _, stderr := run(t, "serve", "--addr", "127.0.0.1:0", "--db", db); code == 0 || !strings.Contains(stderr, `"10.0.0.0/40"`) {
		t.Errorf("from the environment: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the database was created: %v", err)
	}
}

// Command ingest benchmarks the Segment-compatible ingestion path of a real
// `kizuna serve` process, and with -crash checks that it loses no
// acknowledged event when killed.
//
// It starts the server on 127.0.0.1 (only) with a fresh database (a SQLite
// file in a temporary directory, or -db postgres://... whose tables must be
// empty, such as a fresh database; with -fresh, a database it creates on
// that server and drops after), creates an ingest key with `kizuna
// apikey create --scope ingest --name bench`, and drives POST /v1/batch
// with -events calls a request from -clients concurrent keep-alive clients
// for -duration: each client sends its next request as soon as its last is
// answered, or with -rate the clients send that many events a second
// together, each request due at a fixed time and timed from then (a client
// held up by a slow answer sends its next requests late, and their wait
// counts: the latency a steady source of events sees, stalls included).
// It prints events/s, p50/p99 request latency, the seconds of the run in
// which requests took longer than -slow, the
// server's peak RSS (VmHWM of /proc/PID/status), the load average, and the
// CPU time an event took in the server, in itself and in the PostgreSQL
// backends: on a machine shared with other work, wall-clock rates say
// little, CPU time an event says what a change gained.
//
// A request that fails (no answer, 429, 503) is sent again with the same
// calls, as Segment's libraries do. With -crash it kills the server with
// SIGKILL halfway through, restarts it on the same database, keeps sending
// (the requests cut off by the kill again first) until the end, and then
// verifies that every acknowledged messageId is stored exactly once and
// that the rollups count every attributed event exactly once.
//
//	go build -o /tmp/kizuna ./cmd/kizuna
//	go run ./bench/ingest -bin /tmp/kizuna -duration 60s
//	go run ./bench/ingest -bin /tmp/kizuna -duration 60s -rate 100000
//	go run ./bench/ingest -bin /tmp/kizuna -db postgres://postgres@127.0.0.1:5432/bench?sslmode=disable
//	go run ./bench/ingest -bin /tmp/kizuna -db postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable -fresh
//	go run ./bench/ingest -bin /tmp/kizuna -crash -duration 20s
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/kizuna-cs/kizuna/internal/store"
)

func main() { os.Exit(run1()) }

// run1 is main with an exit code, so that deferred clean-up runs.
func run1() int {
	bin := flag.String("bin", "kizuna", "the kizuna binary")
	dbFlag := flag.String("db", "", "database: empty for a fresh SQLite file, or a postgres:// URL of an empty database")
	duration := flag.Duration("duration", 60*time.Second, "how long to send")
	clients := flag.Int("clients", 32, "concurrent keep-alive clients")
	events := flag.Int("events", 100, "events a request")
	port := flag.Int("port", 18080, "port on 127.0.0.1")
	crash := flag.Bool("crash", false, "kill -9 the server halfway, restart it, verify acknowledged events")
	slow := flag.Duration("slow", 50*time.Millisecond, "list the seconds of the run in which requests took longer than this, with how many and the longest (0: none)")
	rate := flag.Int("rate", 0, "events a second the clients send together, each on a fixed schedule, latency counted from the time a request was due (0: each sends its next request as soon as its last is answered)")
	ids := flag.String("ids", "uuid", "message ids: uuid (random, as the Segment libraries send them; derived from client, request and event so the crash check can list them) or ordered (c<client>-<request>-<event>, each near its client's earlier ones: far cheaper for the unique index, and not what a real source sends)")
	fresh := flag.Bool("fresh", false, "with a postgres:// -db: create a fresh database on that server for the run (dropped after) instead of using the named one")
	flag.Parse()
	switch *ids {
	case "uuid":
		uuidIDs = true
	case "ordered":
	default:
		fmt.Fprintf(os.Stderr, "bench: -ids %q: want uuid or ordered\n", *ids)
		return 2
	}
	db := *dbFlag
	if *fresh && strings.HasPrefix(db, "postgres") {
		name, drop, err := freshPostgres(db)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		defer drop()
		db = name
	}
	if *rate < 0 {
		fmt.Fprintln(os.Stderr, "bench: -rate must not be negative")
		return 2
	}
	if err := run(*bin, db, *duration, *clients, *events, *rate, *slow, *port, *crash); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

// freshPostgres creates an empty database on the server of dsn and returns
// its URL and a function that drops it.
func freshPostgres(dsn string) (string, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("-db: %w", err)
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("kizuna_bench_%d_%d", os.Getpid(), time.Now().Unix())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	return u.String(), func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop database %s: %v\n", name, err)
		}
		admin.Close()
	}, nil
}

// cpuTime is the user+system CPU time a process used so far, from
// /proc/PID/stat (0 when it cannot be read).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	// Fields 14 and 15 of stat (utime, stime), in clock ticks of 1/100 s
	// (USER_HZ, 100 on Linux).
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pgBackends returns the CPU time used so far by each PostgreSQL backend
// connected to the database of dsn (the server's connections), by pid.
func pgBackends(dsn string) map[int]time.Duration {
	out := map[int]time.Duration{}
	if !strings.HasPrefix(dsn, "postgres") {
		return out
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return out
	}
	defer db.Close()
	rows, err := db.Query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			out[pid] = cpuTime(pid)
		}
	}
	return out
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

type server struct {
	cmd  *exec.Cmd
	done chan struct{}

	// Peaks of the parts of the resident set, sampled every 100 ms: VmHWM
	// counts the SQLite file's pages the server has mapped (mmap_size) as
	// well as its own memory, and the two tell different things.
	mu             sync.Mutex
	anonKB, fileKB int64
}

// sample records the peaks of RssAnon and RssFile until the server exits.
func (s *server) sample() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
		if err != nil {
			continue
		}
		s.mu.Lock()
		for _, l := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			switch k {
			case "RssAnon":
				s.anonKB = max(s.anonKB, kb)
			case "RssFile":
				s.fileKB = max(s.fileKB, kb)
			}
		}
		s.mu.Unlock()
	}
}

func start(bin, db, addr string, logf io.Writer) (*server, error) {
	cmd := exec.Command(bin, "serve", "--addr", addr, "--db", db)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	go s.sample()
	for i := 0; i < 300; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("server exited: %v", cmd.ProcessState)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("server did not answer on %s", addr)
}

func (s *server) peakRSS() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			s.mu.Lock()
			defer s.mu.Unlock()
			return fmt.Sprintf("%s (peaks sampled every 0.1 s: anonymous %d kB, mapped file pages %d kB)",
				strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")), s.anonKB, s.fileKB)
		}
	}
	return "?"
}

func run(bin, db string, duration time.Duration, clients, perReq, rate int, slow time.Duration, port int, crash bool) error {
	dir, err := os.MkdirTemp("", "kizuna-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if db == "" {
		db = filepath.Join(dir, "bench.db")
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return err
	}
	if out, err := exec.Command(bin, "migrate", "--db", db).CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %v: %s", err, out)
	}
	out, err := exec.Command(bin, "apikey", "create", "--scope", "ingest", "--name", "bench", "--db", db).Output()
	if err != nil {
		return fmt.Errorf("apikey create: %v", err)
	}
	key := strings.TrimSpace(string(out))
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	srv, err := start(bin, db, addr, logf)
	if err != nil {
		return err
	}
	fmt.Printf("server pid %d on %s, db %s\n", srv.cmd.Process.Pid, addr, redact(db))

	var (
		mu        sync.Mutex
		latencies []time.Duration
		slowest   = map[int][]time.Duration{} // second of the run → latencies over slow
		acked     = make([][]string, clients)
		sent      atomic.Int64
		retried   atomic.Int64
		status    sync.Map // code → *atomic.Int64
	)
	fmt.Printf("load average at start: %s\n", loadavg())
	srvCPU0, selfCPU0, pg0 := cpuTime(srv.cmd.Process.Pid), selfCPU(), pgBackends(db)
	deadline := time.Now().Add(duration)
	var killed atomic.Bool
	var wg sync.WaitGroup
	began := time.Now()
	// With -rate, client c's request k is due at began + (c/clients + k) *
	// every. A request is timed from when it was due, not from when it was
	// sent: a client held up by a slow answer sends late, and timing from
	// the send would leave the wait out (coordinated omission).
	var every time.Duration
	if rate > 0 {
		every = time.Duration(float64(time.Second) * float64(clients*perReq) / float64(rate))
	}
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true}
			hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			var lat []time.Duration
			slowHere := map[int][]time.Duration{}
			var body []byte
			var ts string
			var tsAt time.Time
			for seq := 0; time.Now().Before(deadline); seq++ {
				// Appended into a reused buffer, not formatted: the load
				// generator shares the cores with the server and should
				// take as little of them as it can.
				if now := time.Now(); now.Sub(tsAt) > time.Second {
					ts, tsAt = now.UTC().Format(time.RFC3339), now
				}
				body = appendBatch(body[:0], c, seq, perReq, ts)
				req, _ := http.NewRequest("POST", "http://"+addr+"/v1/batch", bytes.NewReader(body))
				req.SetBasicAuth(key, "")
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				if every > 0 {
					due := began.Add(every*time.Duration(c)/time.Duration(clients) + every*time.Duration(seq))
					if wait := time.Until(due); wait > 0 {
						time.Sleep(wait)
					}
					t0 = due
				}
				resp, err := hc.Do(req)
				code := 0
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				d := time.Since(t0)
				v, _ := status.LoadOrStore(code, new(atomic.Int64))
				v.(*atomic.Int64).Add(1)
				if code == 200 {
					lat = append(lat, d)
					if slow > 0 && d > slow {
						sec := int(t0.Sub(began) / time.Second)
						slowHere[sec] = append(slowHere[sec], d)
					}
					sent.Add(int64(perReq))
					if crash {
						for i := 0; i < perReq; i++ {
							acked[c] = append(acked[c], messageID(c, seq, i))
						}
					}
				} else if code == 429 || code == 503 || code == 0 {
					// Send the same calls again, as Segment's libraries do:
					// the request may have been stored without an answer
					// (the kill of -crash), and its messageIds must then
					// be stored once, not twice.
					time.Sleep(50 * time.Millisecond)
					seq--
					retried.Add(1)
				}
			}
			mu.Lock()
			latencies = append(latencies, lat...)
			for sec, ds := range slowHere {
				slowest[sec] = append(slowest[sec], ds...)
			}
			mu.Unlock()
		}()
	}
	if crash {
		time.Sleep(duration / 2)
		before := sent.Load()
		srv.cmd.Process.Signal(syscall.SIGKILL)
		<-srv.done
		killed.Store(true)
		fmt.Printf("killed the server (SIGKILL) after %d acknowledged events; restarting\n", before)
		if srv, err = start(bin, db, addr, logf); err != nil {
			return fmt.Errorf("restart: %w", err)
		}
	}
	wg.Wait()
	elapsed := time.Since(began)
	rss := srv.peakRSS()
	srvCPU, genCPU := cpuTime(srv.cmd.Process.Pid)-srvCPU0, selfCPU()-selfCPU0
	var pgCPU time.Duration
	for pid, t := range pgBackends(db) {
		pgCPU += t - pg0[pid]
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	<-srv.done

	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	pace := "each as soon as answered"
	if rate > 0 {
		pace = fmt.Sprintf("due at %d events/s together, timed from when due", rate)
	}
	kind := "ordered"
	if uuidIDs {
		kind = "random UUIDs"
	}
	fmt.Printf("clients %d (%s), %d events a request (message ids: %s), %s\n", clients, pace, perReq, kind, elapsed.Round(time.Millisecond))
	status.Range(func(k, v any) bool {
		fmt.Printf("  status %v: %d requests\n", k, v.(*atomic.Int64).Load())
		return true
	})
	fmt.Printf("requests sent again after a failure: %d\n", retried.Load())
	fmt.Printf("acknowledged events: %d = %.0f events/s\n", sent.Load(), float64(sent.Load())/elapsed.Seconds())
	fmt.Printf("request latency p50 %s, p99 %s, max %s\n", pct(0.50).Round(100*time.Microsecond), pct(0.99).Round(100*time.Microsecond), pct(1).Round(time.Millisecond))
	if slow > 0 {
		// When the slow requests were sent (or due): stalls at a period
		// (the rollups' interval) or at random (the disk) tell their cause.
		secs := slices.Sorted(maps.Keys(slowest))
		var b strings.Builder
		for _, sec := range secs {
			fmt.Fprintf(&b, " %ds:%d/%s", sec, len(slowest[sec]), slices.Max(slowest[sec]).Round(time.Millisecond))
		}
		if b.Len() == 0 {
			b.WriteString(" none")
		}
		fmt.Printf("requests over %s by second of the run (how many/longest):%s\n", slow, b.String())
	}
	fmt.Printf("server peak RSS (VmHWM%s): %s\n", map[bool]string{true: ", after the restart", false: ""}[crash], rss)
	fmt.Printf("load average at end: %s\n", loadavg())
	if n := sent.Load(); n > 0 && !crash {
		// Wall-clock figures depend on what else the machine runs; CPU time
		// an event does not (much): the events/s the machine's cores could
		// carry if they did nothing else is cores / (CPU time an event).
		per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(n) }
		total := per(srvCPU) + per(genCPU) + per(pgCPU)
		fmt.Printf("CPU an event: server %.1f µs, load generator %.1f µs", per(srvCPU), per(genCPU))
		if strings.HasPrefix(db, "postgres") {
			fmt.Printf(", PostgreSQL backends %.1f µs", per(pgCPU))
		}
		fmt.Printf("; CPU-bound ceiling on %d cores: %.0f events/s (without the load generator: %.0f)\n",
			runtime.NumCPU(), float64(runtime.NumCPU())*1e6/total, float64(runtime.NumCPU())*1e6/(total-per(genCPU)))
	}
	if !crash {
		return nil
	}
	return verify(db, acked)
}

// appendBatch appends the body of request seq of client c: perReq track
// calls of 20,000 users in 2,000 accounts, 20 event names.
func appendBatch(b []byte, c, seq, perReq int, ts string) []byte {
	b = append(b, `{"batch":[`...)
	for i := 0; i < perReq; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		u := (c*7919 + seq*31 + i) % 20000
		b = append(b, `{"type":"track","messageId":"`...)
		b = appendMessageID(b, c, seq, i)
		b = append(b, `","userId":"user-`...)
		b = strconv.AppendInt(b, int64(u), 10)
		b = append(b, `","event":"Feature `...)
		b = strconv.AppendInt(b, int64(i%20), 10)
		b = append(b, ` Used","timestamp":"`...)
		b = append(b, ts...)
		b = append(b, `","context":{"groupId":"acct-`...)
		b = strconv.AppendInt(b, int64(u%2000), 10)
		b = append(b, `"},"properties":{"plan":"pro","seq":`...)
		b = strconv.AppendInt(b, int64(seq), 10)
		b = append(b, `}}`...)
	}
	return append(b, `]}`...)
}

// uuidIDs: appendMessageID writes random-looking UUIDs (-ids uuid).
var uuidIDs bool

func appendMessageID(b []byte, c, seq, i int) []byte {
	if uuidIDs {
		// Two splitmix64 rounds of (client, request, event), which is unique
		// for each event of a run: 128 bits in the form of a version 4 UUID.
		x := uint64(c)<<48 ^ uint64(seq)<<16 ^ uint64(i)
		hi, lo := splitmix(x), splitmix(x^0x9e3779b97f4a7c15)
		hi = hi&^0xf000 | 0x4000
		lo = lo&^(3<<62) | 1<<63
		var u [16]byte
		binary.BigEndian.PutUint64(u[:8], hi)
		binary.BigEndian.PutUint64(u[8:], lo)
		h := hex.EncodeToString(u[:])
		return append(b, h[:8]+"-"+h[8:12]+"-"+h[12:16]+"-"+h[16:20]+"-"+h[20:]...)
	}
	b = append(b, 'c')
	b = strconv.AppendInt(b, int64(c), 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, '-')
	return strconv.AppendInt(b, int64(i), 10)
}

func messageID(c, seq, i int) string { return string(appendMessageID(nil, c, seq, i)) }

// splitmix is SplitMix64's output function: a bijection of 64 bits that
// scatters neighbouring inputs.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// verify checks that every acknowledged event is stored exactly once and
// that the rollups count each stored event once.
func verify(dsn string, acked [][]string) error {
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	stored := map[string]int{}
	rows, err := db.QueryContext(ctx, `SELECT message_id FROM events`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		stored[id]++
	}
	rows.Close()
	var total, missing, dup int
	for _, ids := range acked {
		for _, id := range ids {
			total++
			switch stored[id] {
			case 0:
				missing++
			case 1:
			default:
				dup++
			}
		}
	}
	// The server stopped gracefully after the restart (which applied what
	// the killed one left in the rollup journal), and applied the rest.
	var events, rolled, journal int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE account_id IS NOT NULL`).Scan(&events); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_rollup_journal`).Scan(&journal); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(count), 0) FROM usage_daily`).Scan(&rolled); err != nil {
		return err
	}
	fmt.Printf("crash check: %d acknowledged, %d stored in all (unacknowledged ones may be stored too), %d missing, %d duplicated; rollups %d for %d attributed events, %d rollup journal rows left\n",
		total, len(stored), missing, dup, rolled, events, journal)
	if missing > 0 || dup > 0 || rolled != events || journal != 0 {
		return fmt.Errorf("crash check FAILED")
	}
	fmt.Println("crash check passed: every acknowledged event is stored exactly once")
	return nil
}

func redact(dsn string) string {
	if i := strings.Index(dsn, "@"); i > 0 && strings.HasPrefix(dsn, "postgres") {
		return "postgres://…" + dsn[i:]
	}
	return dsn
}

package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/clv"
)

func TestClvFit(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	// 200 accounts from the BG/NBD process in days: a first order in the
	// first week of 2024, then repeat orders at exponential gaps (at least a
	// day) of a rate that differs by account, each followed by a dropout with
	// an account's own probability; some have a second order on the first day
	// (not a repeat) or one after the calibration end (not counted). want is
	// the summary worked out while generating.
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2024, 9, 30, 0, 0, 0, 0, time.UTC)
	var accounts, orders strings.Builder
	accounts.WriteString("account_id,name\n")
	orders.WriteString("order_id,account_id,ordered_at,amount,currency\n")
	var want []clv.Customer
	n := 0
	order := func(acct string, day time.Time, amount float64) {
		n++
		fmt.Fprintf(&orders, "O%d,%s,%s,%.2f,USD\n", n, acct, day.Format(time.DateOnly), amount)
	}
	const accountsN = 200
	for i := range accountsN {
		id := fmt.Sprintf("A%03d", i)
		fmt.Fprintf(&accounts, "%s,Account %d\n", id, i)
		first := start.AddDate(0, 0, rng.IntN(7))
		order(id, first, 30)
		if i%5 == 0 {
			order(id, first, 12)
		}
		meanGap, drop, spend := 5+rng.Float64()*rng.Float64()*400, rng.Float64()*0.6, 10+rng.Float64()*40
		c := clv.Customer{ID: id, T: end.Sub(first).Hours() / 24 / 7}
		day, sum := first, 0.0
		for {
			next := day.AddDate(0, 0, 1+int(rng.ExpFloat64()*meanGap))
			if next.After(end) {
				break
			}
			day = next
			amount := math.Round(spend*(0.5+rng.Float64())*100) / 100
			order(id, day, amount)
			c.X++
			sum += amount
			if rng.Float64() < drop {
				break
			}
		}
		if c.X > 0 {
			c.Tx, c.Zbar = day.Sub(first).Hours()/24/7, sum/float64(c.X)
		}
		if i%7 == 0 {
			order(id, end.AddDate(0, 0, 3), 500)
		}
		want = append(want, c)
	}
	for _, f := range [][2]string{{"accounts", accounts.String()}, {"orders", orders.String()}} {
		if code, _, stderr := run(t, "import", f[0], writeFile(t, dir, f[0]+".csv", f[1]), "--db", db); code != 0 {
			t.Fatalf("import %s: %s", f[0], stderr)
		}
	}
	bg, err := clv.FitBGNBD(want)
	if err != nil {
		t.Fatal(err)
	}
	gg, err := clv.FitGammaGamma(want)
	if err != nil {
		t.Fatal(err)
	}
	repeaters := 0
	best := clv.Value{CLV: math.Inf(-1)}
	for _, c := range want {
		if c.X > 0 {
			repeaters++
		}
		v, err := clv.Lifetime(bg.BGNBD, gg.GammaGamma, c, 26, 0.01, 0.6)
		if err != nil {
			t.Fatal(err)
		}
		if v.CLV > best.CLV {
			best = v
		}
	}

	code, out, stderr := run(t, "clv", "fit", "--calibration-end", "2024-09-30", "--unit", "week", "--horizon", "26",
		"--discount", "0.01", "--margin", "0.6", "--top", "3", "--format", "json", "--db", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep clv.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json %q: %v", out, err)
	}
	if rep.Customers != accountsN || rep.Repeaters != repeaters || rep.Unit != "week" || rep.Currency != "USD" || len(rep.Top) != 3 {
		t.Errorf("report %+v, want 200 customers, %d repeaters, 3 top", rep, repeaters)
	}
	for _, p := range []struct {
		name      string
		got, want float64
	}{{"r", rep.R, bg.R}, {"alpha", rep.Alpha, bg.Alpha}, {"a", rep.A, bg.A}, {"b", rep.B, bg.B}, {"ll", rep.LogLikelihood, bg.LogLikelihood},
		{"p", rep.P, gg.P}, {"q", rep.Q, gg.Q}, {"gamma", rep.Gamma, gg.Gamma}, {"top clv", rep.Top[0].CLV, best.CLV},
		{"top t_x", rep.Top[0].Tx, best.Tx}, {"top zbar", rep.Top[0].Zbar, best.Zbar}} {
		if math.Abs(p.got-p.want) > 1e-6*math.Max(1, math.Abs(p.want)) {
			t.Errorf("%s = %v, want %v", p.name, p.got, p.want)
		}
	}
	if rep.Top[0].AccountID != best.ID || rep.Top[0].X != best.X || !(rep.Top[0].CLV >= rep.Top[1].CLV && rep.Top[1].CLV >= rep.Top[2].CLV) {
		t.Errorf("top %+v, want %s first", rep.Top, best.ID)
	}
	// Every key a script reads is in the JSON.
	for _, k := range []string{`"r":`, `"alpha":`, `"a":`, `"b":`, `"p":`, `"q":`, `"gamma":`, `"log_likelihood":`, `"customers":`, `"repeaters":`, `"seconds":`, `"top":`, `"clv":`} {
		if !strings.Contains(out, k) {
			t.Errorf("json lacks %s", k)
		}
	}

	code, out, _ = run(t, "clv", "fit", "--calibration-end", "2024-09-30", "--db", db)
	if code != 0 || !strings.Contains(out, "Customers 200 (") || !strings.Contains(out, "BG/NBD       r=") || !strings.Contains(out, best.ID) {
		t.Errorf("text:\n%s", out)
	}

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--calibration-end", "30/09/2024"}, 2, "want YYYY-MM-DD"},
		{[]string{"--calibration-end", "2024-09-30", "--unit", "fortnight"}, 2, "fortnight"},
		{[]string{"--calibration-end", "2024-09-30", "--horizon", "0"}, 2, "horizon 0"},
		{[]string{"--calibration-end", "2023-01-01"}, 1, "no orders"},
	} {
		code, _, stderr := run(t, append(append([]string{"clv", "fit"}, c.args...), "--db", db)...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
}

// TestClvFitCDNOW imports CDNOW's 1/10 sample (shared/datasets/cdnow beside
// the checkout) as accounts and orders and checks that the command finds the
// published parameters: BG/NBD as in Fader, Hardie & Lee (2005) and BTYD
// (CLVTools' relative tolerance 0.001), Gamma-Gamma as in note 025.
func TestClvFitCDNOW(t *testing.T) {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var sample string
	for {
		if p := filepath.Join(dir, "shared", "datasets", "cdnow", "CDNOW_sample.txt"); fileExists(p) {
			sample = p
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("shared/datasets/cdnow/CDNOW_sample.txt not found in any parent directory")
		}
		dir = filepath.Dir(dir)
	}
	raw, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	var accounts, orders strings.Builder
	accounts.WriteString("account_id,name\n")
	orders.WriteString("order_id,account_id,ordered_at,amount,currency\n")
	seen := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Fields(line) // master id, sample id, YYYYMMDD, CDs, dollars
		if len(f) != 5 {
			t.Fatalf("CDNOW_sample.txt line %d: %q", i+1, line)
		}
		if !seen[f[1]] {
			seen[f[1]] = true
			fmt.Fprintf(&accounts, "%s,\n", f[1])
		}
		fmt.Fprintf(&orders, "%d,%s,%s-%s-%s,%s,USD\n", i+1, f[1], f[2][:4], f[2][4:6], f[2][6:], f[4])
	}
	db := filepath.Join(tmp, "k.db")
	for _, f := range [][2]string{{"accounts", accounts.String()}, {"orders", orders.String()}} {
		if code, _, stderr := run(t, "import", f[0], writeFile(t, tmp, f[0]+".csv", f[1]), "--db", db); code != 0 {
			t.Fatalf("import %s: %s", f[0], stderr)
		}
	}
	code, out, stderr := run(t, "clv", "fit", "--calibration-end", "1997-09-30", "--unit", "week", "--format", "json", "--db", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep clv.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Customers != 2357 || rep.Repeaters != 946 {
		t.Errorf("%d customers, %d repeaters; want 2357 and 946", rep.Customers, rep.Repeaters)
	}
	// CONTRACT.md: the parameters grouped as bgnbd and gamma_gamma.
	var contract struct {
		BGNBD      map[string]float64 `json:"bgnbd"`
		GammaGamma map[string]float64 `json:"gamma_gamma"`
	}
	if err := json.Unmarshal([]byte(out), &contract); err != nil {
		t.Fatal(err)
	}
	if math.Abs(contract.BGNBD["r"]-0.2425945) > 1e-3 || math.Abs(contract.BGNBD["log_likelihood"]+9582.429) > 0.05 ||
		math.Abs(contract.GammaGamma["p"]-6.25) > 0.01 || contract.GammaGamma["gamma"] == 0 {
		t.Errorf("contract groups %+v", contract)
	}
	// The Gamma-Gamma values are published to 2 decimals: half a unit of
	// the last one more.
	for _, p := range []struct {
		name           string
		got, want, abs float64
	}{{"r", rep.R, 0.2425945, 0}, {"alpha", rep.Alpha, 4.4136019, 0}, {"a", rep.A, 0.7929199, 0}, {"b", rep.B, 2.4258881, 0},
		{"log_likelihood", rep.LogLikelihood, -9582.429, 0}, {"p", rep.P, 6.25, 0.005}, {"q", rep.Q, 3.74, 0.005}, {"gamma", rep.Gamma, 15.44, 0.005}} {
		if math.Abs(p.got-p.want) > 0.001*math.Abs(p.want)+p.abs {
			t.Errorf("%s = %v, want %v", p.name, p.got, p.want)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

package clv

import (
	"bufio"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// cdnowDir finds shared/datasets/cdnow in the working directory or one of its
// parents (it lives beside the checkout, not in it).
func cdnowDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "datasets", "cdnow")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("shared/datasets/cdnow not found in any parent directory")
		}
		dir = parent
	}
}

func readCSV(t testing.TB, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(cdnowDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return recs[1:]
}

func num(t testing.TB, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// cdnowSummary reads Hardie's published RFM summary (weeks, 2 decimals);
// withZbar reads the variant with the mean repeat value.
func cdnowSummary(t testing.TB, withZbar bool) []Customer {
	name := "cdnow_customers_summary.csv"
	if withZbar {
		name = "cdnow_customers_summary_with_transactions.csv"
	}
	var cs []Customer
	for _, r := range readCSV(t, name) {
		c := Customer{ID: r[0], X: int(num(t, r[1])), Tx: num(t, r[2]), T: num(t, r[3])}
		if withZbar {
			c.Zbar = num(t, r[4])
		}
		cs = append(cs, c)
	}
	return cs
}

// cdnowDay is the day number of a YYYYMMDD date.
func cdnowDay(t testing.TB, s string) int64 {
	d, err := time.Parse("20060102", strings.TrimSpace(s))
	if err != nil {
		t.Fatal(err)
	}
	return store.Day(d.Unix())
}

// samplePurchases reads CDNOW_sample.txt (sample id, date, dollars).
func samplePurchases(t testing.TB) []Purchase {
	f, err := os.Open(filepath.Join(cdnowDir(t), "CDNOW_sample.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ps []Purchase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 5 {
			continue
		}
		id, _ := strconv.Atoi(fs[1])
		ps = append(ps, Purchase{Customer: strconv.Itoa(id), Day: cdnowDay(t, fs[2]), Value: num(t, fs[4])})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ps
}

// elogPurchases reads BTYD's cdnowElog.csv (masterid,sampleid,date,cds,sales).
func elogPurchases(t testing.TB) []Purchase {
	var ps []Purchase
	for _, r := range readCSV(t, "cdnowElog_BTYD.csv") {
		ps = append(ps, Purchase{Customer: r[1], Day: cdnowDay(t, r[2]), Value: num(t, r[4])})
	}
	return ps
}

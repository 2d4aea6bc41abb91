// Command gensubs writes a synthetic subscription history for the metrics
// benchmark: `go run ./bench/gensubs ACCOUNTS PERIODS_PER_ACCOUNT MONTHS`
// prints accounts.csv to the file named by -accounts and the subscription
// periods to standard output. Every account has the given number of periods
// over MONTHS months ending 2025-12: price changes, a second product, churn
// and reactivation; with -currencies a tenth of them are billed in EUR or JPY.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

func main() {
	accountsFile := flag.String("accounts", "", "also write the accounts CSV to this file")
	mixed := flag.Bool("currencies", false, "bill a tenth of the accounts in EUR or JPY (their exchange rates must then be set)")
	flag.Parse()
	if flag.NArg() != 3 {
		fmt.Fprintln(os.Stderr, "usage: gensubs [-accounts FILE] ACCOUNTS PERIODS_PER_ACCOUNT MONTHS")
		os.Exit(2)
	}
	var n [3]int
	for i := range n {
		v, err := strconv.Atoi(flag.Arg(i))
		if err != nil || v < 1 {
			fmt.Fprintf(os.Stderr, "gensubs: argument %d: %q is not a positive number\n", i+1, flag.Arg(i))
			os.Exit(2)
		}
		n[i] = v
	}
	accounts, perAccount, months := n[0], n[1], n[2]
	if *accountsFile != "" {
		f, err := os.Create(*accountsFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gensubs:", err)
			os.Exit(1)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		fmt.Fprintln(w, "account_id,name,owner_email")
		for i := range accounts {
			fmt.Fprintf(w, "acc-%06d,Account %d,csm%d@example.com\n", i, i, i%20)
		}
		if err := w.Flush(); err != nil || f.Close() != nil {
			fmt.Fprintln(os.Stderr, "gensubs: write accounts:", err)
			os.Exit(1)
		}
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	writePeriods(w, accounts, perAccount, months, *mixed)
}

// writePeriods writes perAccount periods for each account, starting within
// the first two thirds of the window and following each other with
// occasional gaps (churn, then reactivation on a new subscription).
func writePeriods(w *bufio.Writer, accounts, perAccount, months int, mixed bool) {
	r := rand.New(rand.NewPCG(7, 11))
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first := end.AddDate(0, -months, 0)
	span := int(end.Sub(first).Hours() / 24)
	plans := []string{"starter", "growth", "business", "enterprise"}
	day := func(d int) string { return first.AddDate(0, 0, d).Format(time.DateOnly) }
	w.WriteString("subscription_id,account_id,start_date,end_date,mrr,currency,plan,product\n")
	for a := range accounts {
		cur, scale := "USD", 1
		kind := 0
		if mixed {
			kind = a % 20
		}
		switch kind {
		case 3:
			cur = "EUR"
		case 7:
			cur, scale = "JPY", 150
		}
		d := r.IntN(span * 2 / 3)
		sub, mrr := 0, 20+r.IntN(980)
		for p := range perAccount {
			product := "core"
			if p == perAccount-1 && r.IntN(3) == 0 {
				// An add-on beside the core subscription: cross-sell.
				fmt.Fprintf(w, "acc-%06d-addon,acc-%06d,%s,,%d,%s,addon,addon\n", a, a, day(min(d, span-1)), 15*scale, cur)
				break
			}
			length := 20 + r.IntN(max(1, span/perAccount))
			stop := ""
			if d+length < span || r.IntN(4) == 0 {
				stop = day(d + length)
			}
			fmt.Fprintf(w, "acc-%06d-%d,acc-%06d,%s,%s,%d,%s,%s,%s\n", a, sub, a, day(d), stop, mrr*scale, cur, plans[r.IntN(len(plans))], product)
			if stop == "" {
				break
			}
			d += length
			mrr = max(10, mrr+r.IntN(200)-90)
			if r.IntN(6) == 0 {
				// A gap: churn, then a new subscription later.
				d += 30 + r.IntN(120)
				sub++
			}
			if d >= span {
				break
			}
		}
	}
}

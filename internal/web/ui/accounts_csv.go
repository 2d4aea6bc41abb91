package ui

import (
	"encoding/csv"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/money"
)

// csvHeader are the export's columns: field names, not translated, so a
// spreadsheet or a script reads the same columns in either language.
var csvHeader = []string{"account_id", "name", "owner_email", "plan", "mrr", "arr", "currency", "touch_tier",
	"health_score", "health_band", "churn_risk", "stage", "stage_entered_at", "renewal_date", "segments"}

// csv streams every account of the list's current view (its filters and
// order, all pages) as CSV.
func (a *accountsArea) csv(w http.ResponseWriter, rq *Request) error {
	f, _, err := parseListFilter(rq)
	if err != nil {
		return err
	}
	ix, err := a.index(rq.Context())
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="accounts-`+time.Now().UTC().Format("2006-01-02")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	if rq.Loc.Lang() == "ja" {
		// Excel in Japanese reads a CSV file without a byte order mark as
		// Shift_JIS; the BOM makes it read UTF-8.
		if _, err := w.Write([]byte("\ufeff")); err != nil {
			return nil
		}
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return nil // the client went away; nothing to show it
	}
	num := func(v float64, ok bool) string {
		if !ok {
			return ""
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	var werr error
	ix.scan(f, func(_ int, r *listRow) bool {
		rec := []string{r.ID, r.Name, r.Owner, r.Plan, num(roundMinor(r.MRR, ix.currency), true), num(roundMinor(r.ARR, ix.currency), true),
			ix.currency, r.Tier, num(r.Score, r.Scored), r.Band, num(r.Churn, r.HasChurn), r.Stage, "", "", strings.Join(r.Segments, " ")}
		if r.Stage != "" {
			rec[12] = r.StageSince.Format(time.RFC3339)
		}
		if r.Renewal != nil {
			rec[13] = r.Renewal.Format(time.DateOnly)
		}
		werr = cw.Write(rec)
		return werr == nil
	})
	cw.Flush()
	return nil
}

// roundMinor rounds an amount in major units to its currency's minor unit
// (whole yen, cents): all the precision an export should carry.
func roundMinor(v float64, currency string) float64 {
	exp, err := money.Exponent(currency)
	if err != nil {
		exp = 2
	}
	p := math.Pow10(exp)
	return math.Round(v*p) / p
}

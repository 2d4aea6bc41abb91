package ui

import (
	"net/http"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/successplan"
)

type handoffsData struct {
	Accounts            []successplan.MissingHandoff
	Missing, Incomplete int
	Currency            string
}

// handoffsPage serves GET /handoffs: the paying accounts with no sales→CS
// handoff record or an incomplete one, largest MRR first.
func (u *UI) handoffsPage(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	list, err := successplan.MissingHandoffs(ctx, u.db, time.Now(), true)
	if err != nil {
		return err
	}
	cur, err := billing.ReportingCurrency(ctx, u.db)
	if err != nil {
		return err
	}
	d := handoffsData{Accounts: list, Currency: cur}
	for _, m := range list {
		if m.HasHandoff {
			d.Incomplete++
		} else {
			d.Missing++
		}
	}
	return u.render(w, rq, http.StatusOK, "handoffs", rq.Loc.T("Handoffs"), d)
}

package ui

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/chart"
	"github.com/kizuna-cs/kizuna/internal/survey"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// responseRow is one answer on a survey's page.
type responseRow struct {
	survey.Response
	AccountName string
}

// surveyView is what a survey's page shows.
type surveyView struct {
	Row          surveyRow
	Results      survey.Results
	Definition   string
	Distribution chart.Chart
	ByMonth      *chart.Chart
	Months       []monthRow
	Responses    []responseRow
	Next         string // the next page's ?after=, empty on the last page
	// Next is what the next send would do (a dry run), for an active survey.
	NextSend *survey.SendResult
	CanEdit  bool
}

// monthRow is the score of one month, in words.
type monthRow struct {
	Month     string
	Responses int
	Score     string
}

// scoreDefinition says how the kind's score is made, with this survey's
// counts.
func scoreDefinition(l *Locale, r survey.Results) string {
	switch r.Kind {
	case "nps":
		return l.T("NPS = 100 × (promoters − detractors) ÷ responses: %d promoters (9–10), %d passives (7–8), %d detractors (0–6) of %d.",
			r.Promoters, r.Passives, r.Detractors, r.Responses)
	case "csat":
		return l.T("CSAT = the share of answers that are 4 or 5: %d of %d.", r.Satisfied, r.Responses)
	}
	return l.T("CES = the mean of the answers from 1 to 7, over %d answers.", r.Responses)
}

func (u *UI) surveyPage(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	s, err := u.loadSurvey(rq)
	if err != nil {
		return err
	}
	segs, _, err := u.segmentNames(rq)
	if err != nil {
		return err
	}
	row, err := u.surveyRowOf(rq, s, segs)
	if err != nil {
		return err
	}
	res, err := survey.Compute(ctx, u.db, s)
	if err != nil {
		return err
	}
	v := &surveyView{Row: row, Results: res, Definition: scoreDefinition(rq.Loc, res),
		CanEdit: user.AtLeast(rq.User.Role, user.RoleManager)}
	labels := make([]string, len(res.Distribution))
	values := make([]float64, len(res.Distribution))
	for i, n := range res.Distribution {
		labels[i], values[i] = strconv.Itoa(res.Low+i), float64(n)
	}
	count := func(x float64) string { return rq.Loc.Num(x, 0) }
	v.Distribution = chart.Bars(rq.Loc.T("Responses by score"), labels, []chart.Series{{Name: rq.Loc.T("Responses"), Values: values}}, count)
	if len(res.Months) > 0 {
		labels, values = labels[:0:0], values[:0:0]
		for _, m := range res.Months {
			labels, values = append(labels, rq.Loc.Month(m.Month)), append(values, m.Score)
			sc := m.Score
			v.Months = append(v.Months, monthRow{Month: rq.Loc.Month(m.Month), Responses: m.Responses, Score: scoreText(rq.Loc, s.Kind, &sc)})
		}
		format := func(x float64) string { return scoreText(rq.Loc, s.Kind, &x) }
		c := chart.Bars(rq.Loc.T("Score by month of answer"), labels, []chart.Series{{Name: rq.Loc.T("Score"), Values: values}}, format)
		v.ByMonth = &c
	}
	f := survey.ResponseFilter{Survey: s.ID, Desc: true, Limit: pageSize + 1}
	if c, ok := parseCursor(rq.URL.Query()); ok {
		f.AfterKey, f.AfterID = c.At, c.ID
	}
	list, err := survey.SearchResponses(ctx, u.db, f)
	if err != nil {
		return err
	}
	if len(list) > pageSize {
		list = list[:pageSize]
		last := list[pageSize-1]
		v.Next = cursor{last.AnsweredAt.Unix(), last.ID}.String()
	}
	ids := make([]string, len(list))
	for i, r := range list {
		ids[i] = r.AccountID
	}
	names, err := account.Names(ctx, u.db, ids)
	if err != nil {
		return err
	}
	for _, r := range list {
		v.Responses = append(v.Responses, responseRow{Response: r, AccountName: names[r.AccountID]})
	}
	if s.Status == survey.StatusActive {
		// A dry run needs an address for the links it renders; which one
		// does not change the counts.
		next, err := survey.Send(ctx, u.db, s.ID, survey.SendOptions{BaseURL: publicBase(rq), DryRun: true}, time.Now())
		var ie *survey.InvalidError
		switch {
		case err == nil:
			v.NextSend = &next
		case !errors.As(err, &ie): // a bad address leaves the preview out; the send page says why
			return err
		}
	}
	return u.render(w, rq, http.StatusOK, "survey", s.Name, v)
}

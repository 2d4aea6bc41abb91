package ui

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/money"
	"github.com/kizuna-cs/kizuna/internal/prospect"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// prospectRow is one prospect of the triage queue with its forms.
type prospectRow struct {
	prospect.Prospect
	// CriteriaText is the criteria as the form edits them: one a line,
	// "title | rule" for one tracked from data.
	CriteriaText string
	Errors       fieldErrors
	Open         bool // a form of it was refused: shown open
	// DaysLeft is TrialDaysLeft when HasDaysLeft (templates' int would
	// print the pointer).
	DaysLeft    int
	HasDaysLeft bool
}

type prospectsData struct {
	Rows       []prospectRow
	Rates      []prospect.ClassConversion
	Class      string
	Classes    []string
	CanAct     bool
	CanConvert bool
	Problem    string // why the page is shown again (422)
}

// prospectsPage serves GET /prospects (?class= filters the queue).
func (u *UI) prospectsPage(w http.ResponseWriter, rq *Request) error {
	d, err := u.prospectsData(rq, "", nil)
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "prospects", rq.Loc.T("Prospects"), d)
}

// prospectsData reads the queue; refused, when not nil, replaces the row
// of the prospect id whose form was refused.
func (u *UI) prospectsData(rq *Request, id string, refused *prospectRow) (*prospectsData, error) {
	ctx := rq.Context()
	now := time.Now()
	class := rq.URL.Query().Get("class")
	switch class {
	case prospect.Decided, prospect.Undecided, prospect.Browsing:
	default:
		class = ""
	}
	list, err := prospect.Queue(ctx, u.db, now, class)
	if err != nil {
		return nil, err
	}
	rates, err := prospect.Rates(ctx, u.db, now)
	if err != nil {
		return nil, err
	}
	d := &prospectsData{Rates: rates, Class: class, Classes: []string{prospect.Undecided, prospect.Decided, prospect.Browsing},
		CanAct: user.AtLeast(rq.User.Role, user.RoleCSM), CanConvert: user.AtLeast(rq.User.Role, user.RoleManager)}
	for _, p := range list {
		row := prospectRow{Prospect: p, CriteriaText: criteriaText(p.Criteria)}
		if refused != nil && p.AccountID == id {
			row.Errors, row.Open = refused.Errors, true
			if refused.CriteriaText != "" {
				row.CriteriaText = refused.CriteriaText
			}
		}
		if p.TrialDaysLeft != nil {
			row.DaysLeft, row.HasDaysLeft = *p.TrialDaysLeft, true
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

func criteriaText(cs []prospect.TrialCriterionView) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.Title)
		if c.Rule != "" {
			b.WriteString(" | " + c.Rule)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// parseCriteria reads the criteria textarea; met are the titles of the
// criteria marked met by hand.
func parseCriteria(text string, met []string) []prospect.TrialCriterion {
	done := checked(met)
	out := []prospect.TrialCriterion{}
	for _, line := range strings.Split(text, "\n") {
		title, rl, _ := strings.Cut(line, "|")
		title, rl = strings.TrimSpace(title), strings.TrimSpace(rl)
		if title == "" && rl == "" {
			continue
		}
		out = append(out, prospect.TrialCriterion{Title: title, Rule: rl, Met: rl == "" && done[title]})
	}
	return out
}

// prospectSave serves POST /prospects/{id}: part=class sets the class by
// hand (with a reason; seed goes back to the seeded class), part=details
// records the barriers, the desired outcome and the trial criteria.
func (u *UI) prospectSave(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	id := rq.PathValue("id")
	var ch prospect.Change
	row := &prospectRow{Errors: fieldErrors{}, Open: true}
	switch rq.PostFormValue("part") {
	case "class":
		c := rq.PostFormValue("class")
		if c == "seed" {
			c = ""
		}
		ch.Class, ch.Reason = &c, strings.TrimSpace(rq.PostFormValue("reason"))
	case "details":
		barriers, outcome := rq.PostFormValue("barriers"), rq.PostFormValue("desired_outcome")
		crit := parseCriteria(rq.PostFormValue("criteria"), rq.PostForm["met"])
		ch.Barriers, ch.DesiredOutcome, ch.Criteria = &barriers, &outcome, &crit
		row.CriteriaText = rq.PostFormValue("criteria")
	default:
		return Errorf(http.StatusBadRequest, rq.Loc.T("Unknown form."))
	}
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		before, after, err := prospect.Update(ctx, tx, id, ch, rq.User.Email, time.Now())
		if err != nil {
			return err
		}
		var prev any
		action := audit.ActionCreate
		if before != nil {
			prev, action = *before, audit.ActionUpdate
		}
		return audit.Record(ctx, tx, actor(rq), action, "prospect", id, prev, after)
	})
	if err != nil {
		if gone := prospectGone(rq, err); gone != nil {
			return gone
		}
		if !u.prospectRefused(rq, err, row) {
			return err
		}
		return u.prospectsRefused(w, rq, id, row, func(r *prospectRow) {
			if ch.Barriers != nil {
				r.Barriers, r.DesiredOutcome = *ch.Barriers, *ch.DesiredOutcome
			}
		})
	}
	redirectTo(w, rq, "/prospects", "#detail-"+id, rq.Loc.T("Prospect saved."))
	return nil
}

// prospectsRefused shows the queue again (422) with the refused form of
// prospect id open beside its messages; fill puts back what was sent.
func (u *UI) prospectsRefused(w http.ResponseWriter, rq *Request, id string, row *prospectRow, fill func(*prospectRow)) error {
	d, err := u.prospectsData(rq, id, row)
	if err != nil {
		return err
	}
	for i := range d.Rows {
		if d.Rows[i].AccountID == id {
			fill(&d.Rows[i])
		}
	}
	d.Problem = rq.Loc.T("Not saved: see the messages in the form below.")
	return u.render(w, rq, http.StatusUnprocessableEntity, "prospects", rq.Loc.T("Prospects"), d)
}

// prospectRefused puts the reason of a refused prospect change beside its
// field and reports whether err was such a refusal; 404 and 409 become
// their error pages.
func (u *UI) prospectRefused(rq *Request, err error, row *prospectRow) bool {
	var (
		ve *prospect.ValidationError
		re *prospect.RuleError
	)
	switch {
	case errors.As(err, &re):
		msg, _ := ruleText(rq.Loc, re.Err)
		row.Errors["criteria"] = criterionLabel(rq.Loc, re.Field) + msg
	case errors.As(err, &ve):
		name, msg := ve.Field, rq.Loc.Reason(ve.Format, ve.Args, ve.Message)
		if strings.HasPrefix(name, "trial_criteria") {
			row.Errors["criteria"] = criterionLabel(rq.Loc, name) + msg
		} else {
			row.Errors[name] = msg
		}
	default:
		return false
	}
	return true
}

// criterionLabel names the line of trial_criteria[i]… in the textarea.
func criterionLabel(loc *Locale, field string) string {
	var i int
	if _, err := fmt.Sscanf(field, "trial_criteria[%d]", &i); err != nil {
		return ""
	}
	return loc.T("Criterion %d: ", i+1)
}

// prospectConvert serves POST /prospects/{id}/convert: the purchase, as
// POST /api/v1/prospects/{id}/convert records it.
func (u *UI) prospectConvert(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	id := rq.PathValue("id")
	row := &prospectRow{Errors: fieldErrors{}, Open: true}
	conv := prospect.Conversion{Plan: strings.TrimSpace(rq.PostFormValue("plan"))}
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		conv.Currency = strings.ToUpper(strings.TrimSpace(rq.PostFormValue("currency")))
		if conv.Currency == "" {
			cur, err := billing.ReportingCurrency(ctx, tx)
			if err != nil {
				return err
			}
			conv.Currency = cur
		}
		if _, err := money.Currency(conv.Currency); err != nil {
			row.Errors["currency"] = rq.Loc.T("Unknown currency %s.", conv.Currency)
		} else if minor, err := money.ParseMinor(strings.TrimSpace(rq.PostFormValue("mrr")), conv.Currency); err != nil || minor <= 0 {
			row.Errors["mrr"] = rq.Loc.T("Enter the MRR, an amount above 0 in %s.", conv.Currency)
		} else {
			conv.MRRMinor = minor
		}
		if t := formDate(rq, row.Errors, "start_date", "start_date"); t != nil {
			conv.Start = *t
		}
		if len(row.Errors) > 0 {
			return errRefused
		}
		_, err := prospect.Convert(ctx, tx, id, conv, actor(rq), rq.User.Email, time.Now())
		return err
	})
	switch {
	case err == nil:
		redirect(w, rq.Request, "/accounts/"+id+"/plan", rq.Loc.T("Converted: the account is a customer now."))
		return nil
	case prospectGone(rq, err) != nil:
		return prospectGone(rq, err)
	case errors.Is(err, errRefused) || u.prospectRefused(rq, err, row):
		return u.prospectsRefused(w, rq, id, row, func(*prospectRow) {})
	}
	return err
}

// errRefused rolls back a transaction whose form was refused; the reasons
// are in the form's errors.
var errRefused = errors.New("form refused")

// prospectGone is the error page of a change to a prospect that does not
// exist (404) or whose trial is closed (409); nil for any other error.
func prospectGone(rq *Request, err error) error {
	switch {
	case errors.Is(err, prospect.ErrNotFound):
		return notFound(rq)
	case errors.Is(err, prospect.ErrClosed):
		return Errorf(http.StatusConflict, rq.Loc.T("This trial is closed already."))
	}
	return nil
}

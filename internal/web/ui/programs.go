package ui

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/program"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// registerPrograms registers the programs pages.
func (u *UI) registerPrograms() {
	u.mux.Handle("GET /programs", u.page(user.RoleViewer, u.programsPage))
	u.mux.Handle("GET /programs/{id}", u.page(user.RoleViewer, u.programPage))
	u.mux.Handle("GET /programs/new", u.page(user.RoleManager, u.programNew))
	u.mux.Handle("POST /programs", u.action(user.RoleManager, u.programCreate))
	u.mux.Handle("GET /programs/{id}/edit", u.page(user.RoleManager, u.programEdit))
	u.mux.Handle("POST /programs/{id}", u.action(user.RoleManager, u.programUpdate))
	u.mux.Handle("POST /programs/{id}/delete", u.action(user.RoleManager, u.programDelete))
	// Adding participants is a CSM's work, as in the API.
	u.mux.Handle("POST /programs/{id}/participants", u.action(user.RoleCSM, u.addProgramParticipants))
	u.mux.Handle("POST /programs/{id}/participants/import", u.action(user.RoleCSM, u.importProgramParticipants))
	u.mux.Handle("POST /programs/{id}/participants/playbook", u.action(user.RoleCSM, u.playbookProgramParticipants))
}

// programRow is one program in the list.
type programRow struct {
	program.Program
	Action string // translated
}

// correlationRow is one feature of the correlation view, in words.
type correlationRow struct {
	program.FeatureCorrelation
	Verdict string
}

func (u *UI) programsPage(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	list, err := program.List(ctx, u.db)
	if err != nil {
		return err
	}
	rows := make([]programRow, len(list))
	for i, p := range list {
		rows[i] = programRow{Program: p, Action: actionLabel(rq.Loc, p.Action)}
	}
	view, err := program.Correlations(ctx, u.db, time.Now())
	if err != nil {
		return err
	}
	corr := make([]correlationRow, len(view.Features))
	for i, f := range view.Features {
		label := rq.Loc.T("%s adopters' churn within %d days", f.Feature, program.ChurnWindowDays)
		corr[i] = correlationRow{FeatureCorrelation: f, Verdict: verdictText(rq.Loc, f.Verdict, label)}
	}
	return u.render(w, rq, http.StatusOK, "programs", rq.Loc.T("Programs"), struct {
		Programs     []programRow
		View         program.CorrelationView
		Correlations []correlationRow
		CanEdit      bool
	}{rows, view, corr, user.AtLeast(rq.User.Role, user.RoleManager)})
}

// measureRow is one outcome measure's result, in words.
type measureRow struct {
	program.OutcomeResult
	Label, Verdict, Method string
}

// programData is what the program page shows.
type programData struct {
	Results  program.ProgramResults
	Action   string
	Measures []measureRow
	Sources  map[string]int
	CanAdd   bool
	CanEdit  bool
	Accounts string // the add form's value, kept when it fails
	// The message of a refused add, beside the form it came from: accounts
	// (typed ids), file (the CSV upload) or playbook.
	Errors fieldErrors
}

func (u *UI) programData(rq *Request, id string) (*programData, error) {
	ctx := rq.Context()
	res, err := program.Compute(ctx, u.db, id, time.Now())
	if errors.Is(err, program.ErrNotFound) {
		return nil, Errorf(http.StatusNotFound, rq.Loc.T("There is no program %s.", id))
	}
	if err != nil {
		return nil, err
	}
	parts, err := program.Participants(ctx, u.db, id)
	if err != nil {
		return nil, err
	}
	d := &programData{Results: res, Action: actionLabel(rq.Loc, res.Program.Action), Sources: map[string]int{},
		CanAdd: user.AtLeast(rq.User.Role, user.RoleCSM), CanEdit: user.AtLeast(rq.User.Role, user.RoleManager), Errors: fieldErrors{}}
	for _, p := range parts {
		d.Sources[p.Source]++
	}
	for _, m := range res.Measures {
		label := measureLabel(rq.Loc, m.Measure)
		method := rq.Loc.T("Difference-in-differences of means, analytic standard error")
		switch m.Method {
		case program.MethodRiskDiff:
			method = rq.Loc.T("Risk difference, Newcombe interval")
		case program.MethodDiDShares:
			method = rq.Loc.T("Difference-in-differences of shares (equal pre-period), Newcombe interval")
		}
		d.Measures = append(d.Measures, measureRow{OutcomeResult: m, Label: label, Verdict: verdictText(rq.Loc, m.Verdict, label), Method: method})
	}
	return d, nil
}

func (u *UI) programPage(w http.ResponseWriter, rq *Request) error {
	d, err := u.programData(rq, rq.PathValue("id"))
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "programs_detail", d.Results.Program.Name, d)
}

// addProgramParticipants adds the accounts typed in the form (separated
// by commas, spaces or lines), all or nothing.
func (u *UI) addProgramParticipants(w http.ResponseWriter, rq *Request) error {
	raw := rq.FormValue("accounts")
	var list []program.Participant
	for _, a := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		list = append(list, program.Participant{AccountID: a, Source: program.SourceHand})
	}
	if len(list) == 0 {
		return u.refuseParticipants(w, rq, "accounts", raw, rq.Loc.T("Enter at least one account id."))
	}
	return u.addParticipants(w, rq, "accounts", raw, func(*sql.Tx, program.Program) ([]program.Participant, error) { return list, nil })
}

// importProgramParticipants adds the accounts of an uploaded CSV file
// (account_id[,joined_date][,source]), all or nothing; a refused file's
// problem reads as the command line prints it.
func (u *UI) importProgramParticipants(w http.ResponseWriter, rq *Request) error {
	file, header, err := rq.FormFile("file")
	if err != nil {
		return u.refuseParticipants(w, rq, "file", "", rq.Loc.T("Choose a CSV file to import."))
	}
	defer file.Close()
	list, err := program.ParseCSV(file)
	var ve *program.ValidationError
	if errors.As(err, &ve) {
		return u.refuseParticipants(w, rq, "file", "", header.Filename+": "+ve.Error())
	}
	if err != nil {
		return err
	}
	return u.addParticipants(w, rq, "file", "", func(*sql.Tx, program.Program) ([]program.Participant, error) { return list, nil })
}

// playbookProgramParticipants adds the accounts the program's playbook
// acted on in the post-period.
func (u *UI) playbookProgramParticipants(w http.ResponseWriter, rq *Request) error {
	return u.addParticipants(w, rq, "playbook", "", func(tx *sql.Tx, prog program.Program) ([]program.Participant, error) {
		return program.FromPlaybook(rq.Context(), tx, prog)
	})
}

// addParticipants adds the participants list gives, in one transaction
// with one audit entry, and goes back to the program's page; a refusal is
// shown beside the form named field, with raw (what was typed) kept.
func (u *UI) addParticipants(w http.ResponseWriter, rq *Request, field, raw string,
	list func(*sql.Tx, program.Program) ([]program.Participant, error)) error {
	ctx, id := rq.Context(), rq.PathValue("id")
	var added int
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := program.Get(ctx, tx, id)
		if err != nil {
			return err
		}
		ps, err := list(tx, before)
		if err != nil {
			return err
		}
		if added, err = program.AddParticipants(ctx, tx, id, ps, rq.User.Email, time.Now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionUpdate, "program", id,
			map[string]int{"participants": before.Participants}, map[string]int{"participants": before.Participants + added, "added": added})
	})
	var ve *program.ValidationError
	switch {
	case errors.Is(err, program.ErrNotFound):
		return Errorf(http.StatusNotFound, rq.Loc.T("There is no program %s.", id))
	case errors.As(err, &ve):
		if _, bad, ok := strings.Cut(ve.Message, "no account "); ok && field == "accounts" {
			return u.refuseParticipants(w, rq, field, raw, rq.Loc.T("There is no account %s: nothing was added.", bad))
		}
		// With the field: participants[3].source names the row.
		return u.refuseParticipants(w, rq, field, raw, ve.Field+": "+rq.Loc.Reason(ve.Format, ve.Args, ve.Message))
	case err != nil:
		return err
	}
	redirect(w, rq.Request, "/programs/"+id, rq.Loc.T("%d participants added.", added))
	return nil
}

// refuseParticipants shows the program's page again (422) with msg beside
// the add form named field.
func (u *UI) refuseParticipants(w http.ResponseWriter, rq *Request, field, raw, msg string) error {
	d, err := u.programData(rq, rq.PathValue("id"))
	if err != nil {
		return err
	}
	d.Accounts = raw
	d.Errors.add(field, msg)
	return u.render(w, rq, http.StatusUnprocessableEntity, "programs_detail", d.Results.Program.Name, d)
}

func actionLabel(l *Locale, action string) string {
	switch action {
	case program.ActionSeminar:
		return l.T("seminar")
	case program.ActionVideo:
		return l.T("video")
	case program.ActionEmail:
		return l.T("email")
	case program.ActionCall:
		return l.T("call")
	case program.ActionPlaybook:
		return l.T("playbook")
	}
	return l.T("other")
}

// measureLabel names a measure as program.OutcomeMeasure.Label does, translated.
func measureLabel(l *Locale, m program.OutcomeMeasure) string {
	switch m.Kind {
	case program.MeasureAdoption:
		return l.T("%s adoption", m.Feature)
	case program.MeasureEvents:
		return l.T("%s events per account per 30 days", m.Feature)
	case program.MeasureHealth:
		return l.T("health score")
	case program.MeasureChurn:
		return l.T("churn within %d days", m.Days)
	}
	return l.T("expansion")
}

// verdictText words a verdict in the user's language from its format and
// arguments, with label (already translated) for the measure. In English
// it is the verdict's own text.
func verdictText(l *Locale, v program.ProgramVerdict, label string) string {
	str := func(i int) string {
		if i < len(v.Args) {
			return fmt.Sprint(v.Args[i])
		}
		return ""
	}
	num := func(i int) any {
		if i < len(v.Args) {
			return v.Args[i]
		}
		return 0
	}
	// The effect carries its unit: "+17 points" are percentage points.
	effect := str(1)
	if n, ok := strings.CutSuffix(effect, " points"); ok {
		effect = l.T("%s points", n)
	}
	switch v.Format {
	case program.FormatEffect:
		return l.T("%s %s, 95%% CI %s to %s", label, effect, str(2), str(3))
	case program.FormatNoEffect:
		return l.T("no measurable effect yet on %s (%s, 95%% CI %s to %s)", label, effect, str(2), str(3))
	case program.FormatInsufficient:
		return l.T("not enough accounts to measure %s (participants %d, control %d; at least %d each)", label, num(1), num(2), num(3))
	case program.FormatPending:
		return l.T("too early to measure %s: its window ends on %s", label, str(1))
	case program.FormatNoChange:
		return l.T("no measurable effect yet on %s: no account's value changed", label)
	}
	return v.Text
}
